-- configs: row mixed statement
-- Transactions that end in ROLLBACK (whole, to a savepoint, XA ROLLBACK) after writing
-- non-transactional tables: under STATEMENT the source logs them, ROLLBACK included, and the
-- replica must keep what they did to MyISAM / non-transactional Aria / MEMORY while undoing
-- the InnoDB part. Also a trigger on an InnoDB table that writes a MyISAM log, temporary
-- tables created and filled inside a rolled-back transaction and read afterwards, and a
-- transaction whose only non-transactional write comes first (logged on its own).
CREATE DATABASE adv;
CREATE TABLE adv.i (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE adv.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM;
CREATE TABLE adv.a (id INT PRIMARY KEY, v INT) ENGINE=Aria TRANSACTIONAL=0;
CREATE TABLE adv.mem (id INT PRIMARY KEY, v INT) ENGINE=MEMORY;
CREATE TABLE adv.mlog (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20), id INT) ENGINE=MyISAM;
CREATE TABLE adv.it (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TRIGGER adv.it_ai AFTER INSERT ON adv.it FOR EACH ROW INSERT INTO adv.mlog (what, id) VALUES ('it insert', NEW.id);
INSERT INTO adv.m VALUES (1, 1), (2, 2);
INSERT INTO adv.a VALUES (1, 1);
INSERT INTO adv.mem VALUES (1, 1);
BEGIN; INSERT INTO adv.i VALUES (1, 1); UPDATE adv.m SET v = 10 WHERE id = 1; INSERT INTO adv.a VALUES (2, 2); DELETE FROM adv.mem WHERE id = 1; INSERT INTO adv.i VALUES (2, 2); ROLLBACK;
BEGIN; UPDATE adv.m SET v = 20 WHERE id = 2; INSERT INTO adv.i VALUES (3, 3); INSERT INTO adv.m VALUES (3, 3); ROLLBACK;
BEGIN; INSERT INTO adv.i VALUES (4, 4); SAVEPOINT s; UPDATE adv.m SET v = v + 100; INSERT INTO adv.i VALUES (5, 5); ROLLBACK TO SAVEPOINT s; INSERT INTO adv.i VALUES (6, 6); COMMIT;
BEGIN; INSERT INTO adv.i VALUES (7, 7); INSERT INTO adv.it VALUES (1, 1); INSERT INTO adv.it VALUES (2, 2); ROLLBACK;
INSERT INTO adv.it VALUES (3, 3);
BEGIN; INSERT INTO adv.i VALUES (8, 8); CREATE TEMPORARY TABLE adv.tmp (id INT, v INT) ENGINE=MyISAM; INSERT INTO adv.tmp VALUES (50, 50), (51, 51); ROLLBACK;
INSERT INTO adv.i SELECT id, v FROM adv.tmp;
BEGIN; INSERT INTO adv.i VALUES (9, 9); INSERT INTO adv.tmp SELECT id + 10, v FROM adv.m; ROLLBACK;
INSERT INTO adv.m SELECT id + 100, v FROM adv.tmp;
DROP TEMPORARY TABLE adv.tmp;
XA START 'r1'; INSERT INTO adv.i VALUES (10, 10); UPDATE adv.a SET v = 99 WHERE id = 1; XA END 'r1'; XA PREPARE 'r1'; XA ROLLBACK 'r1';
XA START 'r2'; INSERT INTO adv.i VALUES (11, 11); UPDATE adv.m SET v = -1 WHERE id = 1; XA END 'r2'; XA ROLLBACK 'r2';
SET autocommit = 0;
INSERT INTO adv.i VALUES (12, 12);
UPDATE adv.mem SET v = 7;
ROLLBACK;
SET autocommit = 1;
INSERT INTO adv.i VALUES (13, 13);
