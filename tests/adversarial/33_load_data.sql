-- configs: row mixed statement
-- LOAD DATA [LOCAL] INFILE: statement-based it is logged as BEGIN_LOAD_QUERY + APPEND_BLOCKs
-- (the 150 KB file takes several) + EXECUTE_LOAD_QUERY, which the replica runs against its own
-- copy of the file. Escapes, \N, IGNORE n LINES, a SET clause with user variables and
-- functions, REPLACE/IGNORE on duplicates, a non-utf8 CHARACTER SET clause with ENCLOSED BY and
-- CRLF, a trigger on the loaded table, a MyISAM target, and a LOAD inside a transaction.
-- Paths are relative to the crate root (the test's working directory).
CREATE DATABASE adv DEFAULT CHARSET utf8mb4;
SET NAMES utf8mb4;
CREATE TABLE adv.t (id INT PRIMARY KEY, s VARCHAR(40), n INT NULL, d DATE, x DECIMAL(6,2), loaded_at DATETIME(6), tag VARCHAR(20));
CREATE TABLE adv.cnt (k INT PRIMARY KEY, c INT);
INSERT INTO adv.cnt VALUES (1, 0);
CREATE TRIGGER adv.t_ai AFTER INSERT ON adv.t FOR EACH ROW UPDATE adv.cnt SET c = c + 1 WHERE k = 1;
SET sql_mode = 'NO_ENGINE_SUBSTITUTION';
SET @tag = 'batch-1';
SET timestamp = 1700000000.25;
LOAD DATA LOCAL INFILE 'tests/adversarial/33_load_data.tsv' INTO TABLE adv.t CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n' IGNORE 2 LINES (id, s, @n, d, x) SET n = NULLIF(@n, '') * 2, loaded_at = NOW(6), tag = @tag;
SET timestamp = DEFAULT;
SET sql_mode = DEFAULT;
CREATE TABLE adv.l1 (id INT PRIMARY KEY, a VARCHAR(20) CHARACTER SET latin1, b TEXT CHARACTER SET latin1) DEFAULT CHARSET latin1;
LOAD DATA LOCAL INFILE 'tests/adversarial/33_load_data_latin1.csv' REPLACE INTO TABLE adv.l1 CHARACTER SET latin1 FIELDS TERMINATED BY ';' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\r\n';
CREATE TABLE adv.l2 LIKE adv.l1;
LOAD DATA LOCAL INFILE 'tests/adversarial/33_load_data_latin1.csv' IGNORE INTO TABLE adv.l2 CHARACTER SET latin1 FIELDS TERMINATED BY ';' OPTIONALLY ENCLOSED BY '"' LINES TERMINATED BY '\r\n' (id, @a, b) SET a = UPPER(@a);
CREATE TABLE adv.m (id INT PRIMARY KEY, s VARCHAR(40)) ENGINE=MyISAM;
LOAD DATA LOCAL INFILE 'tests/adversarial/33_load_data.tsv' INTO TABLE adv.m IGNORE 2 LINES (id, s) ;
BEGIN;
DELETE FROM adv.t WHERE id > 3000;
LOAD DATA LOCAL INFILE 'tests/adversarial/33_load_data.tsv' IGNORE INTO TABLE adv.t IGNORE 2 LINES (id, s, n, d, x) SET tag = 'in txn';
UPDATE adv.t SET tag = 'after' WHERE id = 3500;
COMMIT;
USE adv;
LOAD DATA LOCAL INFILE 'tests/adversarial/33_load_data_latin1.csv' REPLACE INTO TABLE l2 CHARACTER SET latin1 FIELDS TERMINATED BY ';' ENCLOSED BY '"' LINES TERMINATED BY '\r\n' (@id, a, b) SET id = @id + 10;
