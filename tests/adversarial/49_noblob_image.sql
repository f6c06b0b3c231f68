-- configs: row full
-- binlog_row_image=NOBLOB set per session (the configuration's global stays FULL): the before
-- image of a table with a primary key leaves out its blobs, the after image leaves out every
-- blob the statement did not change; a keyless table logs all its columns before, and its
-- after image still leaves out the unchanged blobs. Switched back to FULL mid-stream.
CREATE DATABASE adv DEFAULT CHARSET utf8mb4;
CREATE TABLE adv.pk (id INT PRIMARY KEY, a INT, b BLOB, t TEXT, j JSON, v VARCHAR(10));
CREATE TABLE adv.nk (a INT, b MEDIUMBLOB, t MEDIUMTEXT, v VARCHAR(10));
CREATE TABLE adv.uk (u INT NOT NULL, b LONGBLOB, v INT, UNIQUE KEY (u));
SET SESSION binlog_row_image = 'NOBLOB';
INSERT INTO adv.pk VALUES (1, 1, X'0001', 'one', '{"k": 1}', 'x'), (2, 2, NULL, 'two', NULL, 'y'), (3, 3, REPEAT('b', 5000), REPEAT('t', 3000), '[1,2]', NULL);
INSERT INTO adv.nk VALUES (1, X'FF', 'a', 'p'), (1, X'FF', 'a', 'p'), (2, NULL, NULL, NULL), (3, REPEAT('z', 70000), 'c', 'q');
INSERT INTO adv.uk VALUES (1, X'00', 1), (2, X'01', 2), (3, NULL, 3);
UPDATE adv.pk SET a = a + 10 WHERE id <= 2;
UPDATE adv.pk SET b = X'BEEF', v = 'z' WHERE id = 2;
UPDATE adv.pk SET t = CONCAT(t, '!'), j = JSON_SET(IFNULL(j, '{}'), '$.n', id) WHERE id IN (1, 3);
UPDATE adv.pk SET id = id + 100 WHERE id = 3;
UPDATE adv.nk SET v = 'r' WHERE a = 1 LIMIT 1;
UPDATE adv.nk SET b = X'0102' WHERE a = 2;
UPDATE adv.nk SET a = 30 WHERE a = 3;
DELETE FROM adv.nk WHERE a = 1 AND v = 'p';
UPDATE adv.uk SET v = v * 10;
UPDATE adv.uk SET b = REPEAT('u', 300) WHERE u = 3;
DELETE FROM adv.uk WHERE u = 1;
DELETE FROM adv.pk WHERE id = 1;
SET SESSION binlog_row_image = 'FULL';
UPDATE adv.pk SET a = 0 WHERE id = 2;
SET SESSION binlog_row_image = 'NOBLOB';
BEGIN;
UPDATE adv.pk SET v = 'w';
UPDATE adv.nk SET t = 'tt' WHERE a = 30;
INSERT INTO adv.nk (a) VALUES (99);
COMMIT;
