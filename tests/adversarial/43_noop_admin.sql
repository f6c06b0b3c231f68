-- configs: row mixed statement minimal
-- Transactions and statements that change nothing or only administer: empty BEGIN/COMMIT,
-- UPDATE/DELETE matching no row or setting a column to its own value, INSERT IGNORE of only
-- duplicates, a ROLLBACK after non-transactional (MyISAM) writes (logged with their own
-- ROLLBACK), XA with no writes, and statements logged by every format that touch no rows:
-- ANALYZE/OPTIMIZE/REPAIR TABLE, FLUSH TABLES, FLUSH PRIVILEGES, DO, a SELECT, and a
-- statement with a session-only SET STATEMENT prefix.
CREATE DATABASE adv;
CREATE TABLE adv.t (id INT PRIMARY KEY, v INT);
CREATE TABLE adv.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM;
INSERT INTO adv.t VALUES (1, 1), (2, 2);
BEGIN; COMMIT;
BEGIN; SELECT * FROM adv.t; COMMIT;
UPDATE adv.t SET v = 9 WHERE id = 99;
UPDATE adv.t SET v = v WHERE id = 1;
DELETE FROM adv.t WHERE id > 100;
INSERT IGNORE INTO adv.t VALUES (1, 5), (2, 6);
BEGIN; INSERT INTO adv.m VALUES (1, 1); INSERT INTO adv.t VALUES (3, 3); ROLLBACK;
BEGIN; INSERT INTO adv.t VALUES (4, 4); UPDATE adv.m SET v = 10 WHERE id = 1; ROLLBACK;
XA START 'empty'; XA END 'empty'; XA PREPARE 'empty'; XA COMMIT 'empty';
ANALYZE TABLE adv.t;
OPTIMIZE TABLE adv.t, adv.m;
REPAIR TABLE adv.m;
CHECK TABLE adv.t;
FLUSH TABLES adv.t;
FLUSH PRIVILEGES;
FLUSH TABLES;
DO 1 + 1;
SET STATEMENT sql_mode = '', max_statement_time = 100 FOR INSERT INTO adv.t VALUES (5, '12abc');
SET STATEMENT foreign_key_checks = 0 FOR UPDATE adv.t SET v = v + 1 WHERE id = 5;
INSERT INTO adv.t VALUES (6, 6);
ALTER TABLE adv.t FORCE;
INSERT INTO adv.t VALUES (7, 7);
