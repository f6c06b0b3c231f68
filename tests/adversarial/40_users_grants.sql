-- configs: row mixed statement
-- Account statements are logged as statements in every format and MariaDB's replica runs them:
-- CREATE USER / ROLE, GRANT (table, column and routine level, WITH GRANT OPTION), SET DEFAULT
-- ROLE, ALTER USER, RENAME USER, REVOKE, SET PASSWORD FOR, DROP USER / ROLE; objects whose
-- DEFINER is such an account (a view, a procedure with SQL SECURITY DEFINER, a trigger, an
-- event), including a definer that no longer exists. Names carry quotes and a space.
CREATE DATABASE adv;
CREATE TABLE adv.t (id INT PRIMARY KEY, v INT, secret INT);
INSERT INTO adv.t VALUES (1, 1, 1);
CREATE OR REPLACE USER 'adv_app'@'localhost' IDENTIFIED BY 'pw1', 'adv o''q"'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('x');
CREATE OR REPLACE ROLE adv_role;
GRANT SELECT, INSERT ON adv.* TO adv_role;
GRANT UPDATE (v) ON adv.t TO 'adv o''q"'@'%' WITH GRANT OPTION;
GRANT adv_role TO 'adv_app'@'localhost';
SET DEFAULT ROLE adv_role FOR 'adv_app'@'localhost';
ALTER USER 'adv_app'@'localhost' WITH MAX_QUERIES_PER_HOUR 100;
SET PASSWORD FOR 'adv_app'@'localhost' = PASSWORD('pw2');
CREATE DEFINER = 'adv_app'@'localhost' SQL SECURITY DEFINER VIEW adv.v AS SELECT id, v FROM adv.t;
CREATE DEFINER = 'adv o''q"'@'%' PROCEDURE adv.p() SQL SECURITY DEFINER INSERT INTO adv.t VALUES (2, 2, 2);
CREATE DEFINER = 'adv_app'@'localhost' TRIGGER adv.tr BEFORE INSERT ON adv.t FOR EACH ROW SET NEW.secret = 0;
CREATE DEFINER = 'nobody_here'@'%' VIEW adv.orphan AS SELECT 1 AS one;
CREATE DEFINER = 'adv_app'@'localhost' EVENT adv.ev ON SCHEDULE EVERY 1 YEAR STARTS '2037-01-01 00:00:00' DO UPDATE adv.t SET v = 0;
GRANT ALL ON adv.* TO 'adv o''q"'@'%', 'adv_app'@'localhost';
CALL adv.p();
INSERT INTO adv.t VALUES (3, 3, 3);
GRANT EXECUTE ON PROCEDURE adv.p TO 'adv_app'@'localhost';
RENAME USER 'adv o''q"'@'%' TO 'adv renamed'@'%';
REVOKE INSERT ON adv.* FROM adv_role;
REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'adv renamed'@'%';
CREATE USER IF NOT EXISTS 'adv_app'@'localhost';
DROP USER IF EXISTS 'adv_nothere'@'%';
DROP USER 'adv renamed'@'%';
DROP ROLE adv_role;
UPDATE adv.t SET v = 9 WHERE id = 1;
DROP USER 'adv_app'@'localhost';
