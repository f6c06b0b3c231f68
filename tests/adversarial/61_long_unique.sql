-- configs: row full minimal mixed
-- MariaDB's long UNIQUE keys (a UNIQUE over a BLOB/TEXT, over a VARCHAR too long for the
-- engine, or declared USING HASH): each adds a fully invisible BIGINT DB_ROW_HASH_n that
-- information_schema does not list but every row image carries, last. On a plain table, a
-- keyless one, a system-versioned one (after its hidden period columns), one with a trigger,
-- through ALTERs that add columns and keys, and on MEMORY, whose HASH key adds no column.
CREATE DATABASE adv DEFAULT CHARSET utf8mb4;
CREATE TABLE adv.b (id INT PRIMARY KEY, b BLOB, c VARCHAR(2000), t TEXT, UNIQUE KEY (b), UNIQUE KEY (c) USING HASH, UNIQUE KEY (t(10), id) USING HASH);
CREATE TABLE adv.nk (b TEXT, v INT, UNIQUE KEY (b));
CREATE TABLE adv.v (id INT PRIMARY KEY, b BLOB, UNIQUE KEY (b)) WITH SYSTEM VERSIONING;
CREATE TABLE adv.m (id INT PRIMARY KEY, a INT, UNIQUE KEY (a) USING HASH) ENGINE=MEMORY;
CREATE TABLE adv.log (n INT AUTO_INCREMENT PRIMARY KEY, b BLOB, UNIQUE KEY (b));
CREATE TRIGGER adv.ai AFTER INSERT ON adv.b FOR EACH ROW INSERT INTO adv.log (b) VALUES (CONCAT('ins-', NEW.id));
INSERT INTO adv.b VALUES (1, 'blob-A', 'x', 't1'), (2, 'blob-B', NULL, NULL), (3, NULL, REPEAT('c', 1500), 't1');
INSERT INTO adv.nk VALUES ('a', 1), ('b', 2), (NULL, 3), (NULL, 4);
INSERT INTO adv.v VALUES (1, 'v1'), (2, NULL);
INSERT INTO adv.m VALUES (1, 1), (2, 2);
UPDATE adv.b SET b = 'free' WHERE id = 1;
UPDATE adv.b SET b = 'blob-A', c = 'y' WHERE id = 2;
UPDATE adv.nk SET v = 10 WHERE b = 'a';
UPDATE adv.nk SET b = 'c' WHERE v = 3;
DELETE FROM adv.nk WHERE v = 4;
UPDATE adv.v SET b = 'v2' WHERE id = 1;
UPDATE adv.m SET a = 3 WHERE id = 2;
ALTER TABLE adv.b ADD COLUMN z INT DEFAULT 5;
INSERT INTO adv.b (id, b, z) VALUES (4, 'blob-D', 6);
ALTER TABLE adv.b ADD COLUMN w MEDIUMTEXT, ADD UNIQUE KEY (w);
INSERT INTO adv.b (id, w) VALUES (5, 'ww');
UPDATE adv.b SET w = CONCAT('w', id) WHERE id < 4;
ALTER TABLE adv.b DROP KEY b;
UPDATE adv.b SET b = 'blob-A' WHERE id = 4;
DELETE FROM adv.b WHERE id = 3;
DELETE FROM adv.v WHERE id = 2;
