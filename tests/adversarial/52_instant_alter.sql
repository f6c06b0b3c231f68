-- configs: row full minimal mixed
-- ALGORITHM=INSTANT column changes with rows before and after each: ADD in the middle (AFTER),
-- ADD FIRST, DROP, reorder (MODIFY ... FIRST / AFTER), which InnoDB keeps as metadata while the
-- old rows stay in their old layout; the binlog's row images follow the new column order.
CREATE DATABASE adv;
CREATE TABLE adv.t (id INT PRIMARY KEY, a INT, b VARCHAR(10), c BIGINT);
INSERT INTO adv.t VALUES (1, 1, 'x', 10), (2, 2, 'y', 20);
ALTER TABLE adv.t ADD COLUMN m INT DEFAULT 5 AFTER a, ALGORITHM=INSTANT;
INSERT INTO adv.t VALUES (3, 3, 33, 'z', 30);
UPDATE adv.t SET m = m + id, b = CONCAT(b, '!') WHERE id <= 2;
ALTER TABLE adv.t ADD COLUMN f VARCHAR(5) DEFAULT 'ff' FIRST, ALGORITHM=INSTANT;
INSERT INTO adv.t VALUES ('g', 4, 4, 44, 'w', 40);
UPDATE adv.t SET a = -a WHERE id IN (1, 4);
ALTER TABLE adv.t DROP COLUMN b, ALGORITHM=INSTANT;
INSERT INTO adv.t VALUES ('h', 5, 5, 55, 50);
DELETE FROM adv.t WHERE id = 2;
ALTER TABLE adv.t MODIFY c BIGINT FIRST, ALGORITHM=INSTANT;
INSERT INTO adv.t VALUES (60, 'i', 6, 6, 66);
UPDATE adv.t SET c = c + 1;
ALTER TABLE adv.t MODIFY f VARCHAR(5) DEFAULT 'ff' AFTER m, ALGORITHM=INSTANT;
UPDATE adv.t SET f = CONCAT(f, id) WHERE id > 3;
ALTER TABLE adv.t ADD COLUMN n INT NOT NULL DEFAULT 9, ADD COLUMN o TEXT, ALGORITHM=INSTANT;
INSERT INTO adv.t (id, c, o) VALUES (7, 70, 'oo');
UPDATE adv.t SET n = n + id WHERE id < 5;
DELETE FROM adv.t WHERE id = 1;
CREATE TABLE adv.nk (a INT, b INT);
INSERT INTO adv.nk VALUES (1, 1), (1, 1), (2, 2);
ALTER TABLE adv.nk ADD COLUMN z INT DEFAULT 0 FIRST, ALGORITHM=INSTANT;
UPDATE adv.nk SET z = 1 WHERE a = 1 LIMIT 1;
ALTER TABLE adv.nk DROP COLUMN b, ALGORITHM=INSTANT;
DELETE FROM adv.nk WHERE a = 1 AND z = 0;
