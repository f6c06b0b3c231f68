-- configs: statement mixed row
-- Statements the source logs together with the error they ended in: a statement that changed
-- a non-transactional table before failing is logged with its error code (STATEMENT, and
-- MIXED for these safe statements), and MariaDB's replica runs it and goes on when the same
-- error comes back. Here: multi-row INSERT, INSERT ... SELECT and UPDATE into MyISAM / Aria
-- hitting a duplicate part way (inside and outside a transaction with InnoDB writes). And a
-- DROP TABLE of an existing and a missing table: the source drops the one, fails with 1051
-- and logs the DROP of both without an error code; MariaDB's replica runs it as DROP TABLE IF
-- EXISTS (slave_ddl_exec_mode=IDEMPOTENT, its default). The errors are caught by CONTINUE
-- handlers so that the source session goes on. (Checked against a real MariaDB 10.11 replica.)
CREATE DATABASE adv;
CREATE TABLE adv.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM;
CREATE TABLE adv.a (id INT PRIMARY KEY, v INT) ENGINE=Aria TRANSACTIONAL=0;
CREATE TABLE adv.i (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
CREATE TABLE adv.gone (id INT);
INSERT INTO adv.m VALUES (1, 1), (3, 3);
INSERT INTO adv.a VALUES (1, 1);
DELIMITER //
CREATE PROCEDURE adv.p() BEGIN
  DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END;
  INSERT INTO adv.m VALUES (5, 5), (1, 1), (6, 6);
  INSERT INTO adv.a SELECT id, v FROM adv.m ORDER BY id DESC;
  INSERT INTO adv.m VALUES (105, 0);
  UPDATE adv.m SET id = id + 100 ORDER BY id;
  INSERT INTO adv.i VALUES (1, 1);
END//
CREATE PROCEDURE adv.q() BEGIN
  DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END;
  START TRANSACTION;
  INSERT INTO adv.i VALUES (2, 2);
  INSERT INTO adv.m VALUES (20, 20), (5, 5);
  INSERT INTO adv.i VALUES (3, 3);
  COMMIT;
  DROP TABLE adv.gone, adv.never_was;
END//
DELIMITER ;
CALL adv.p();
CALL adv.q();
INSERT INTO adv.m VALUES (100, 100);
INSERT INTO adv.i VALUES (100, 100);
