-- configs: row full minimal mixed
-- Columns the table hides or derives: user INVISIBLE columns (left out of SELECT * and of
-- INSERT without a column list, still in every row image), a column made INVISIBLE and visible
-- again mid-stream, and application-time periods (PERIOD FOR p with a WITHOUT OVERLAPS key),
-- whose UPDATE / DELETE ... FOR PORTION OF split rows into inserted remainders.
CREATE DATABASE adv;
CREATE TABLE adv.i (id INT PRIMARY KEY, a INT, h INT INVISIBLE DEFAULT 7, s VARCHAR(10) INVISIBLE);
INSERT INTO adv.i VALUES (1, 1), (2, 2);
INSERT INTO adv.i (id, a, h, s) VALUES (3, 3, 30, 'x');
UPDATE adv.i SET h = h + 1, s = 'y' WHERE id <= 2;
ALTER TABLE adv.i MODIFY a INT INVISIBLE;
INSERT INTO adv.i VALUES (4);
UPDATE adv.i SET a = 40 WHERE id = 4;
ALTER TABLE adv.i MODIFY h INT DEFAULT 7 FIRST;
INSERT INTO adv.i VALUES (8, 5);
DELETE FROM adv.i WHERE id = 1;
CREATE TABLE adv.nk (a INT, h INT INVISIBLE);
INSERT INTO adv.nk (a, h) VALUES (1, 1), (1, 2), (1, 2);
DELETE FROM adv.nk WHERE h = 2 LIMIT 1;
UPDATE adv.nk SET a = 5 WHERE h = 1;
CREATE TABLE adv.p (id INT, s DATE, e DATE, v INT, PERIOD FOR p (s, e), PRIMARY KEY (id, p WITHOUT OVERLAPS));
INSERT INTO adv.p VALUES (1, '2020-01-01', '2021-01-01', 1), (1, '2021-01-01', '2022-01-01', 2), (2, '2020-01-01', '2030-01-01', 3);
UPDATE adv.p FOR PORTION OF p FROM '2020-06-01' TO '2020-07-01' SET v = 10 WHERE id = 1;
DELETE FROM adv.p FOR PORTION OF p FROM '2025-01-01' TO '2026-01-01' WHERE id = 2;
UPDATE adv.p SET v = v + 100 WHERE id = 2;
CREATE TABLE adv.pn (s DATETIME(6), e DATETIME(6), v INT, PERIOD FOR q (s, e));
INSERT INTO adv.pn VALUES ('2020-01-01', '2020-12-31 23:59:59.999999', 1), ('2020-01-01', '2020-12-31 23:59:59.999999', 1);
DELETE FROM adv.pn FOR PORTION OF q FROM '2020-03-01' TO '2020-04-01';
UPDATE adv.pn FOR PORTION OF q FROM '2020-05-01' TO '2020-05-02' SET v = 2;
