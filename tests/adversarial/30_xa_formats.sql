-- configs: row mixed statement
CREATE DATABASE adv;
CREATE TABLE adv.t (id INT PRIMARY KEY, v INT, s VARCHAR(20));
CREATE TABLE adv.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM;
XA START 'x1'; INSERT INTO adv.t VALUES (1, 1, 'one'); INSERT INTO adv.t VALUES (2, 2, 'two'); XA END 'x1'; XA PREPARE 'x1'; XA COMMIT 'x1';
XA START 'x2'; UPDATE adv.t SET v = v * 10; XA END 'x2'; XA PREPARE 'x2'; XA ROLLBACK 'x2';
XA START X'0102', 'bq', 3; DELETE FROM adv.t WHERE id = 2; INSERT INTO adv.m VALUES (1, 1); XA END X'0102', 'bq', 3; XA PREPARE X'0102', 'bq', 3; XA COMMIT X'0102', 'bq', 3;
XA START 'x3'; INSERT INTO adv.t VALUES (3, 3, 'three'); XA END 'x3'; XA COMMIT 'x3' ONE PHASE;
XA START 'x4'; SET @q = 'var'; INSERT INTO adv.t VALUES (4, 4, @q); XA END 'x4'; XA PREPARE 'x4'; XA COMMIT 'x4';
XA START 'x5'; INSERT INTO adv.t VALUES (5, 5, 'five'); XA END 'x5'; XA PREPARE 'x5';
XA COMMIT 'x5';
INSERT INTO adv.t VALUES (6, 6, 'after');
