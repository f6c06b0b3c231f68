-- configs: row mixed full
CREATE DATABASE adv;
CREATE TABLE adv.src (id INT PRIMARY KEY, a INT, s VARCHAR(10));
INSERT INTO adv.src VALUES (1, 10, 'x'), (2, 20, 'y');
CREATE TABLE adv.g (id INT PRIMARY KEY, a INT, v INT AS (a * 2) VIRTUAL, st VARCHAR(20) AS (CONCAT(id, '-', a)) STORED, KEY (v)) SELECT id, a FROM adv.src;
CREATE TABLE adv.g2 (v INT AS (a + 1) STORED, id INT PRIMARY KEY, a INT) SELECT id, a FROM adv.src;
CREATE TABLE adv.g3 (id INT, a INT, v INT AS (a + 1) VIRTUAL) SELECT id, a FROM adv.src;
INSERT INTO adv.g (id, a) VALUES (3, 30);
UPDATE adv.g2 SET a = 7 WHERE id = 1;
DELETE FROM adv.g3 WHERE id = 2;
