-- configs: compressed
-- MariaDB's compressed binlog (log_bin_compress=ON, min length 10: nearly every QUERY and
-- ROWS event compressed), on the tables whose rows parapply replays as BINLOG statements
-- (triggers on the target, system-versioned tables) and on plain ones: the target refuses a
-- compressed ROWS event inside BINLOG (ERROR 1730), its replica applies them.
CREATE DATABASE adv;
CREATE TABLE adv.t (id INT PRIMARY KEY, v INT);
CREATE TABLE adv.log (n INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(50), at_id INT);
CREATE TABLE adv.keyless_log (msg VARCHAR(50), id INT);
CREATE TABLE adv.cnt (k INT PRIMARY KEY, c INT);
INSERT INTO adv.cnt VALUES (1, 0);
DELIMITER //
CREATE TRIGGER adv.bi BEFORE INSERT ON adv.t FOR EACH ROW BEGIN SET NEW.v = IFNULL(NEW.v, 0) * 10; END//
CREATE TRIGGER adv.ai AFTER INSERT ON adv.t FOR EACH ROW BEGIN INSERT INTO adv.log (msg, at_id) VALUES ('ins', NEW.id); INSERT INTO adv.keyless_log VALUES ('ins', NEW.id); UPDATE adv.cnt SET c = c + 1 WHERE k = 1; END//
CREATE TRIGGER adv.bu BEFORE UPDATE ON adv.t FOR EACH ROW SET NEW.v = NEW.v + 1//
CREATE TRIGGER adv.ad AFTER DELETE ON adv.t FOR EACH ROW BEGIN INSERT INTO adv.keyless_log VALUES ('del', OLD.id); DELETE FROM adv.log WHERE at_id = OLD.id; END//
DELIMITER ;
INSERT INTO adv.t VALUES (1, 1), (2, 2), (3, NULL);
UPDATE adv.t SET v = 100 WHERE id = 2;
DELETE FROM adv.t WHERE id = 1;
INSERT INTO adv.t VALUES (1, 5);
BEGIN; INSERT INTO adv.t VALUES (10, 1); UPDATE adv.t SET v = v + 1 WHERE id = 10; DELETE FROM adv.t WHERE id = 10; COMMIT;
CREATE TABLE adv.k2 (a INT, b INT);
CREATE TRIGGER adv.k2t AFTER INSERT ON adv.k2 FOR EACH ROW INSERT INTO adv.keyless_log VALUES ('k2', NEW.a);
INSERT INTO adv.k2 VALUES (1, 1), (1, 1), (2, NULL);
DELETE FROM adv.k2 WHERE a = 1 LIMIT 1;
UPDATE adv.k2 SET b = 7 WHERE a = 2;
DROP TRIGGER adv.bu;
UPDATE adv.t SET v = 0 WHERE id = 2;
CREATE TABLE adv.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM;
CREATE TRIGGER adv.mt AFTER INSERT ON adv.m FOR EACH ROW INSERT INTO adv.log (msg, at_id) VALUES ('myisam', NEW.id);
INSERT INTO adv.m VALUES (1, 1), (2, 2);
CREATE TABLE adv.p (id INT PRIMARY KEY);
CREATE TABLE adv.c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES adv.p (id) ON DELETE CASCADE);
CREATE TRIGGER adv.pd BEFORE DELETE ON adv.p FOR EACH ROW INSERT INTO adv.keyless_log VALUES ('pdel', OLD.id);
INSERT INTO adv.p VALUES (1), (2);
INSERT INTO adv.c VALUES (1, 1), (2, 1), (3, 2);
DELETE FROM adv.p WHERE id = 1;
CREATE TABLE adv.v (id INT PRIMARY KEY, a INT, s VARCHAR(10)) WITH SYSTEM VERSIONING;
INSERT INTO adv.v VALUES (1, 1, 'a'), (2, 2, 'b');
UPDATE adv.v SET a = 10 WHERE id = 1;
DELETE FROM adv.v WHERE id = 2;
CREATE TABLE adv.vp (id INT PRIMARY KEY, a INT) WITH SYSTEM VERSIONING PARTITION BY SYSTEM_TIME LIMIT 2 (PARTITION p0 HISTORY, PARTITION p1 HISTORY, PARTITION pn CURRENT);
INSERT INTO adv.vp VALUES (1, 1), (2, 2);
UPDATE adv.vp SET a = a + 1;
UPDATE adv.vp SET a = a + 1 WHERE id = 1;
CREATE TABLE adv.plain (id INT PRIMARY KEY, a INT);
INSERT INTO adv.plain VALUES (1, 1), (2, 2);
ALTER TABLE adv.plain ADD SYSTEM VERSIONING;
UPDATE adv.plain SET a = 3 WHERE id = 1;
SET @@system_versioning_alter_history = KEEP;
ALTER TABLE adv.v ADD COLUMN c INT DEFAULT 4;
SET @@system_versioning_alter_history = ERROR;
UPDATE adv.v SET c = 5 WHERE id = 1;
CREATE TABLE adv.nokey (a INT, b VARCHAR(5)) WITH SYSTEM VERSIONING;
INSERT INTO adv.nokey VALUES (1, 'x'), (1, 'x');
DELETE FROM adv.nokey LIMIT 1;
CREATE TABLE adv.gen (id INT PRIMARY KEY, a INT, g INT AS (a * 2) VIRTUAL, h INT AS (a + 1) STORED) WITH SYSTEM VERSIONING;
INSERT INTO adv.gen (id, a) VALUES (1, 1);
UPDATE adv.gen SET a = 2;
CREATE TABLE adv.wv (id INT PRIMARY KEY, a INT WITHOUT SYSTEM VERSIONING, b INT) WITH SYSTEM VERSIONING;
INSERT INTO adv.wv VALUES (1, 1, 1);
UPDATE adv.wv SET a = 2;
UPDATE adv.wv SET b = 2;
DELETE HISTORY FROM adv.plain;
ALTER TABLE adv.nokey DROP SYSTEM VERSIONING;
INSERT INTO adv.nokey VALUES (2, 'y');
CREATE TABLE adv.ctas_v WITH SYSTEM VERSIONING SELECT id, a FROM adv.plain;
UPDATE adv.ctas_v SET a = 9;
CREATE TABLE adv.blob_t (id INT PRIMARY KEY, b LONGBLOB, t TEXT);
CREATE TRIGGER adv.blob_ai AFTER INSERT ON adv.blob_t FOR EACH ROW INSERT INTO adv.keyless_log VALUES ('blob', NEW.id);
INSERT INTO adv.blob_t VALUES (1, REPEAT(X'00', 300000), REPEAT('x', 1000)), (2, NULL, '');
UPDATE adv.blob_t SET b = CONCAT(b, X'01'), t = 'y' WHERE id = 1;
DELETE FROM adv.blob_t WHERE id = 2;
