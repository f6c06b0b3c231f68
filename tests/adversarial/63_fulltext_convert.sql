-- configs: row full mixed
-- FULLTEXT indexes (InnoDB's FTS_DOC_ID, implicit and declared), then CONVERT TO CHARACTER SET
-- and a column charset change with rows before and after, in a table whose only unique key is
-- a long UNIQUE over the converted text.
CREATE DATABASE adv DEFAULT CHARSET latin1;
SET NAMES utf8mb4;
CREATE TABLE adv.f (id INT PRIMARY KEY, t TEXT, v VARCHAR(50), FULLTEXT KEY (t, v)) DEFAULT CHARSET latin1;
CREATE TABLE adv.d (FTS_DOC_ID BIGINT UNSIGNED AUTO_INCREMENT NOT NULL PRIMARY KEY, t TEXT, FULLTEXT KEY (t));
CREATE TABLE adv.u (t VARCHAR(300) CHARACTER SET latin1, n INT, UNIQUE KEY (t) USING HASH);
INSERT INTO adv.f VALUES (1, 'café crème', 'naïve'), (2, 'plain', NULL);
INSERT INTO adv.d (t) VALUES ('alpha beta'), ('gamma');
INSERT INTO adv.u VALUES ('Ünïcödé', 1), ('abc', 2);
UPDATE adv.f SET t = CONCAT(t, ' ½') WHERE id = 1;
UPDATE adv.d SET t = 'delta' WHERE FTS_DOC_ID = 2;
ALTER TABLE adv.f CONVERT TO CHARACTER SET utf8mb4;
INSERT INTO adv.f VALUES (3, '日本語 テキスト', 'ž');
UPDATE adv.f SET v = CONCAT(IFNULL(v, ''), '→') WHERE id IN (1, 2);
ALTER TABLE adv.u MODIFY t VARCHAR(300) CHARACTER SET utf8mb4;
INSERT INTO adv.u VALUES ('ß→', 3);
UPDATE adv.u SET n = n * 10 WHERE t = 'Ünïcödé';
DELETE FROM adv.u WHERE n = 2;
DELETE FROM adv.d WHERE FTS_DOC_ID = 1;
OPTIMIZE TABLE adv.f;
