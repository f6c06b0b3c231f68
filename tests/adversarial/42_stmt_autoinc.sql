-- configs: statement mixed row
-- Auto-increment values a statement-based replica must reproduce: a multi-row INSERT into an
-- AUTO_INCREMENT table whose trigger inserts into a second AUTO_INCREMENT table (INSERT_ID
-- covers only the first table: MariaDB marks such statements unsafe), LAST_INSERT_ID(expr)
-- set by a statement, LAST_INSERT_ID() read inside a trigger and a stored function,
-- INSERT ... SELECT into an AUTO_INCREMENT column with explicit NULL and 0 mixed in,
-- INSERT ... ON DUPLICATE KEY UPDATE consuming values, and a custom increment/offset.
CREATE DATABASE adv;
CREATE TABLE adv.a (id INT AUTO_INCREMENT PRIMARY KEY, v INT);
CREATE TABLE adv.b (id INT AUTO_INCREMENT PRIMARY KEY, aid INT, lid BIGINT);
CREATE TRIGGER adv.a_ai AFTER INSERT ON adv.a FOR EACH ROW INSERT INTO adv.b (aid, lid) VALUES (NEW.id, LAST_INSERT_ID());
INSERT INTO adv.a (v) VALUES (1), (2), (3);
INSERT INTO adv.a (id, v) VALUES (NULL, 4), (100, 5), (NULL, 6), (0, 7);
SELECT LAST_INSERT_ID(500);
INSERT INTO adv.b (aid, lid) VALUES (-1, LAST_INSERT_ID());
INSERT INTO adv.b (aid, lid) VALUES (-2, LAST_INSERT_ID(LAST_INSERT_ID() + 7));
INSERT INTO adv.b (aid, lid) VALUES (-3, LAST_INSERT_ID());
DELIMITER //
CREATE FUNCTION adv.f(x INT) RETURNS INT DETERMINISTIC MODIFIES SQL DATA BEGIN INSERT INTO adv.b (aid, lid) VALUES (x, LAST_INSERT_ID()); RETURN LAST_INSERT_ID(); END//
DELIMITER ;
INSERT INTO adv.a (v) VALUES (adv.f(8)), (adv.f(9));
CREATE TABLE adv.src (v INT);
INSERT INTO adv.src VALUES (10), (11), (12);
INSERT INTO adv.a (v) SELECT v FROM adv.src ORDER BY v;
CREATE TABLE adv.u (id INT AUTO_INCREMENT PRIMARY KEY, k INT UNIQUE, n INT DEFAULT 0);
INSERT INTO adv.u (k) VALUES (1), (2);
INSERT INTO adv.u (k) VALUES (2), (3), (1) ON DUPLICATE KEY UPDATE n = n + 1;
INSERT INTO adv.u (k) VALUES (4);
INSERT IGNORE INTO adv.u (k) VALUES (4), (5);
REPLACE INTO adv.u (k, n) VALUES (1, 50), (6, 60);
SET SESSION auto_increment_increment = 7, auto_increment_offset = 5;
INSERT INTO adv.a (v) VALUES (20), (21);
INSERT INTO adv.u (k) VALUES (7), (8) ON DUPLICATE KEY UPDATE n = 1;
SET SESSION auto_increment_increment = 1, auto_increment_offset = 1;
CREATE TABLE adv.m (id INT AUTO_INCREMENT, g INT, PRIMARY KEY (g, id)) ENGINE=MyISAM;
INSERT INTO adv.m (g) VALUES (1), (1), (2), (1), (2);
INSERT INTO adv.a (v) VALUES (LAST_INSERT_ID());
