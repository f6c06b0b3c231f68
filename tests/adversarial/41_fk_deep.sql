-- configs: row mixed statement minimal
-- Foreign-key chains five levels deep mixing ON UPDATE CASCADE, ON DELETE SET NULL and
-- ON DELETE CASCADE (the cascaded rows are not in the binlog: the target's InnoDB must redo
-- them, so parent and child changes must reach it in source order), a composite-key chain, a
-- self-referencing table (ON DELETE SET NULL through itself), two children of one parent, and the
-- same writes with foreign_key_checks=0 (no cascade at all) in between, in one transaction too.
CREATE DATABASE adv;
CREATE TABLE adv.l1 (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL UNIQUE);
CREATE TABLE adv.l2 (id INT PRIMARY KEY, l1code VARCHAR(10), code VARCHAR(10) UNIQUE, FOREIGN KEY (l1code) REFERENCES adv.l1 (code) ON UPDATE CASCADE ON DELETE CASCADE);
CREATE TABLE adv.l3 (id INT PRIMARY KEY, l2code VARCHAR(10), code VARCHAR(10) UNIQUE, FOREIGN KEY (l2code) REFERENCES adv.l2 (code) ON UPDATE CASCADE ON DELETE SET NULL);
CREATE TABLE adv.l4 (id INT PRIMARY KEY, l3code VARCHAR(10), code VARCHAR(10) UNIQUE, FOREIGN KEY (l3code) REFERENCES adv.l3 (code) ON UPDATE CASCADE ON DELETE CASCADE);
CREATE TABLE adv.l5 (id INT PRIMARY KEY, l4code VARCHAR(10), v INT, FOREIGN KEY (l4code) REFERENCES adv.l4 (code) ON UPDATE SET NULL ON DELETE CASCADE);
CREATE TABLE adv.side (id INT PRIMARY KEY, l1code VARCHAR(10), FOREIGN KEY (l1code) REFERENCES adv.l1 (code) ON UPDATE CASCADE ON DELETE SET NULL);
INSERT INTO adv.l1 VALUES (1, 'a'), (2, 'b');
INSERT INTO adv.l2 VALUES (1, 'a', 'a2'), (2, 'b', 'b2'), (3, 'a', 'a2x');
INSERT INTO adv.l3 VALUES (1, 'a2', 'a3'), (2, 'b2', 'b3'), (3, 'a2x', 'a3x');
INSERT INTO adv.l4 VALUES (1, 'a3', 'a4'), (2, 'b3', 'b4'), (3, 'a3x', 'a4x');
INSERT INTO adv.l5 VALUES (1, 'a4', 1), (2, 'b4', 2), (3, 'a4x', 3), (4, 'a4', 4);
INSERT INTO adv.side VALUES (1, 'a'), (2, 'b');
UPDATE adv.l1 SET code = 'A' WHERE id = 1;
UPDATE adv.l2 SET code = 'A2' WHERE id = 1;
UPDATE adv.l4 SET code = 'A4' WHERE id = 1;
INSERT INTO adv.l5 VALUES (5, 'A4', 5);
UPDATE adv.l3 SET code = 'B3' WHERE id = 2;
DELETE FROM adv.l2 WHERE id = 2;
INSERT INTO adv.l4 VALUES (4, NULL, 'n4');
UPDATE adv.l5 SET l4code = 'n4' WHERE id = 2;
DELETE FROM adv.l1 WHERE id = 1;
INSERT INTO adv.l1 VALUES (1, 'A');
INSERT INTO adv.l2 VALUES (1, 'A', 'A2');
SET foreign_key_checks = 0;
UPDATE adv.l1 SET code = 'B' WHERE id = 2;
DELETE FROM adv.l1 WHERE id = 1;
INSERT INTO adv.l3 VALUES (9, 'ghost', 'g3');
SET foreign_key_checks = 1;
BEGIN;
INSERT INTO adv.l1 VALUES (3, 'c');
INSERT INTO adv.l2 VALUES (4, 'c', 'c2');
SET foreign_key_checks = 0;
UPDATE adv.l1 SET code = 'C' WHERE id = 3;
SET foreign_key_checks = 1;
UPDATE adv.l2 SET code = 'C2' WHERE id = 4;
INSERT INTO adv.l3 VALUES (4, 'C2', 'c3');
COMMIT;
UPDATE adv.l2 SET code = 'cc2' WHERE id = 4;
CREATE TABLE adv.cp (a INT, b INT, v INT, PRIMARY KEY (a, b));
CREATE TABLE adv.cc (id INT PRIMARY KEY, a INT, b INT, UNIQUE (a, b), FOREIGN KEY (a, b) REFERENCES adv.cp (a, b) ON UPDATE CASCADE ON DELETE CASCADE);
CREATE TABLE adv.ccc (id INT PRIMARY KEY, a INT, b INT, FOREIGN KEY (a, b) REFERENCES adv.cc (a, b) ON UPDATE CASCADE ON DELETE SET NULL);
INSERT INTO adv.cp VALUES (1, 1, 1), (1, 2, 2), (2, 1, 3);
INSERT INTO adv.cc VALUES (1, 1, 1), (2, 1, 2), (3, 2, 1);
INSERT INTO adv.ccc VALUES (1, 1, 1), (2, 1, 2), (3, 2, 1), (4, NULL, 1);
UPDATE adv.cp SET b = b + 10 WHERE a = 1;
UPDATE adv.cp SET a = 5 WHERE a = 2;
DELETE FROM adv.cp WHERE a = 1 AND b = 11;
INSERT INTO adv.cp VALUES (1, 20, 9);
UPDATE adv.cc SET b = 20 WHERE id = 2;
CREATE TABLE adv.emp (id INT PRIMARY KEY, boss INT, name VARCHAR(10), FOREIGN KEY (boss) REFERENCES adv.emp (id) ON UPDATE CASCADE ON DELETE SET NULL);
INSERT INTO adv.emp VALUES (1, NULL, 'ceo'), (2, 1, 'vp'), (3, 2, 'mgr'), (4, 2, 'eng');
DELETE FROM adv.emp WHERE id = 1;
UPDATE adv.emp SET boss = 3 WHERE id = 4;
DELETE FROM adv.emp WHERE id = 2;
