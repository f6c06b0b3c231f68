-- configs: row mixed statement
-- DDL text the applier must not misread: leading comments, executable comments
-- (`/*!50100 ... */`, `/*M!100300 ... */`, `/*!99999 ... */` that the server skips), comments
-- inside column lists, `#` and `-- ` line comments, IF [NOT] EXISTS on tables, columns,
-- indexes and partitions (so the statement may change nothing), CREATE INDEX / DROP INDEX,
-- ALTER ONLINE, and ALTER IGNORE adding a UNIQUE key over duplicates (rows removed by the DDL
-- itself).
CREATE DATABASE adv;
/* leading */ CREATE TABLE adv.t (id INT PRIMARY KEY, /* inline */ a INT /*!50100 DEFAULT 5 */, b VARCHAR(10) /*M!100300 DEFAULT 'm' */, c INT /*!99999 NOT NULL */) /*!50100 ENGINE=InnoDB */;
INSERT INTO adv.t (id) VALUES (1);
INSERT INTO adv.t (id, c) VALUES (2, NULL);
/*!40101 ALTER TABLE adv.t ADD COLUMN d INT DEFAULT 1 */;
ALTER TABLE adv.t ADD COLUMN IF NOT EXISTS d INT DEFAULT 99, ADD COLUMN IF NOT EXISTS e INT DEFAULT 2 AFTER id;
INSERT INTO adv.t (id) VALUES (3);
ALTER TABLE adv.t DROP COLUMN IF EXISTS nothere, DROP COLUMN IF EXISTS c;
UPDATE adv.t SET a = 7 WHERE id = 1;
ALTER TABLE adv.t ADD INDEX IF NOT EXISTS ia (a), ADD INDEX IF NOT EXISTS ia (a);
CREATE UNIQUE INDEX ub ON adv.t (b, id);
CREATE INDEX IF NOT EXISTS ub ON adv.t (b);
DROP INDEX IF EXISTS nothere ON adv.t;
DROP INDEX ub ON adv.t;
ALTER ONLINE TABLE adv.t ADD COLUMN f INT NULL;
UPDATE adv.t SET f = id WHERE id > 1;
CREATE TABLE IF NOT EXISTS adv.t (nope INT);
CREATE TABLE adv.dup (id INT PRIMARY KEY, k INT, v INT);
INSERT INTO adv.dup VALUES (1, 1, 1), (2, 1, 2), (3, 2, 3), (4, 2, 4), (5, 3, 5);
ALTER IGNORE TABLE adv.dup ADD UNIQUE KEY (k);
INSERT INTO adv.dup VALUES (6, 4, 6);
UPDATE adv.dup SET v = 10 WHERE k = 2;
ALTER TABLE adv.dup RENAME COLUMN v TO `v # not a comment`, RENAME INDEX k TO `k -- nor this`;
INSERT INTO adv.dup VALUES (7, 5, 7);
CREATE TABLE adv.p (id INT PRIMARY KEY, v INT) PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN (20));
ALTER TABLE adv.p ADD PARTITION IF NOT EXISTS (PARTITION p1 VALUES LESS THAN (20));
ALTER TABLE adv.p ADD PARTITION IF NOT EXISTS (PARTITION p2 VALUES LESS THAN (30));
INSERT INTO adv.p VALUES (1, 1), (15, 15), (25, 25);
ALTER TABLE adv.p DROP PARTITION IF EXISTS p9, p0;
UPDATE adv.p SET v = 0;
DROP TABLE IF EXISTS adv.nothere;
DROP VIEW IF EXISTS adv.nothere;
CREATE OR REPLACE TABLE adv.t2 (id INT PRIMARY KEY) COMMENT 'x /* y */ -- z';
INSERT INTO adv.t2 VALUES (1);
ALTER TABLE adv.t2 COMMENT = 'changed', ADD COLUMN g INT AS (id * 2) VIRTUAL COMMENT '*/';
INSERT INTO adv.t2 (id) VALUES (2);
