-- configs: statement
-- CREATE TABLE ... IGNORE SELECT and ... REPLACE SELECT over rows whose keys collide, logged
-- as statements that the target runs again. Not under ROW/MIXED: there MariaDB 10.11 logs every
-- selected row, the ignored duplicates too, as one Write_rows event, and its own replica stops
-- on it (Could not execute Write_rows_v1 event on table adv.c; Duplicate entry '0', 1062), as
-- parapply does.
CREATE DATABASE adv;
CREATE TABLE adv.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT, s VARCHAR(20));
INSERT INTO adv.t (v, s) SELECT seq * 3 % 11, CONCAT('s', seq) FROM adv.seq_1_to_30;
CREATE TABLE adv.c (id INT PRIMARY KEY, v INT) IGNORE SELECT id % 7 AS id, v FROM adv.t ORDER BY adv.t.id;
CREATE TABLE adv.r (id INT PRIMARY KEY, v INT) REPLACE SELECT id % 5 AS id, v FROM adv.t ORDER BY adv.t.id;
CREATE TABLE adv.u (v INT PRIMARY KEY, s VARCHAR(20)) IGNORE SELECT v, s FROM adv.t ORDER BY adv.t.id DESC;
INSERT IGNORE INTO adv.u SELECT v + 5, s FROM adv.t ORDER BY adv.t.id;
REPLACE INTO adv.r SELECT id % 9, -v FROM adv.t ORDER BY adv.t.id;
