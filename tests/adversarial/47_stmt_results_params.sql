-- configs: statement mixed row
-- Statement events that answer with rows, and stored-program values as the source logs them:
-- under STATEMENT a SELECT (or DO) of a function that writes is logged as that SELECT, and
-- INSERT/REPLACE/DELETE ... RETURNING are logged with their RETURNING clause: on the target
-- they answer with a result set. Procedure parameters and local variables reach the log as
-- NAME_CONST('x', <literal>) with their charset introducer and collation (latin1, utf8mb4,
-- binary, DECIMAL, DATETIME(6), NULL, a value with quotes and a backslash).
CREATE DATABASE adv DEFAULT CHARSET utf8mb4;
SET NAMES utf8mb4;
CREATE TABLE adv.t (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(40) CHARACTER SET latin1, u VARCHAR(40), b VARBINARY(10), d DECIMAL(12,4), dt DATETIME(6));
CREATE TABLE adv.audit (n INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40));
DELIMITER //
CREATE FUNCTION adv.bump(x INT) RETURNS INT DETERMINISTIC MODIFIES SQL DATA
BEGIN
  INSERT INTO adv.audit (what) VALUES (CONCAT('bump ', x));
  RETURN x + 1;
END//
CREATE PROCEDURE adv.ins(IN ps VARCHAR(40) CHARACTER SET latin1, IN pu VARCHAR(40), IN pb VARBINARY(10), IN pd DECIMAL(12,4), IN pdt DATETIME(6))
BEGIN
  DECLARE local_s VARCHAR(40) CHARACTER SET latin1 DEFAULT CONCAT(ps, '+');
  INSERT INTO adv.t (s, u, b, d, dt) VALUES (ps, pu, pb, pd, pdt);
  INSERT INTO adv.t (s, u) VALUES (local_s, CONCAT(pu, '+'));
  UPDATE adv.t SET d = d + pd WHERE s = ps;
END//
DELIMITER ;
SELECT adv.bump(1);
SELECT adv.bump(2), adv.bump(3);
DO adv.bump(4);
CALL adv.ins('café', 'žluťoučký 😀', X'00FF5C27', -12.3456, '2020-02-29 23:59:59.999999');
CALL adv.ins('it''s a \\ test', NULL, NULL, NULL, NULL);
CALL adv.ins(NULL, '', '', 0, '0000-00-00 00:00:00');
INSERT INTO adv.t (s, u) VALUES ('ret1', 'r'), ('ret2', 'r') RETURNING id, s;
REPLACE INTO adv.t (id, s) VALUES (1, 'replaced') RETURNING id;
DELETE FROM adv.t WHERE s = 'ret1' RETURNING id, u;
INSERT INTO adv.audit (what) SELECT s FROM adv.t WHERE id < 3 ORDER BY id RETURNING n;
UPDATE adv.t SET u = 'last' WHERE id = 2;
