-- configs: row minimal
-- Transactions that collide only through what an index compares, not through the bytes the
-- row events carry: a prefix UNIQUE key (s(3)), a long UNIQUE over a BLOB (MariaDB's hidden
-- hash), a DOUBLE unique key holding -0 and 0, a PAD SPACE VARCHAR unique ('a' = 'a  '), a
-- unique key through a virtual column. Each loop step is its own transaction: one moves a key
-- away, the next takes it, so replaying them in parallel or out of order hits a duplicate.
CREATE DATABASE adv DEFAULT CHARSET utf8mb4;
CREATE TABLE adv.p (id INT PRIMARY KEY, s VARCHAR(20), UNIQUE KEY (s(3)));
CREATE TABLE adv.b (id INT PRIMARY KEY, b BLOB, UNIQUE KEY (b));
CREATE TABLE adv.d (id INT PRIMARY KEY, f DOUBLE, UNIQUE KEY (f));
CREATE TABLE adv.s (id INT PRIMARY KEY, v VARCHAR(10) COLLATE utf8mb4_bin, UNIQUE KEY (v));
CREATE TABLE adv.g (id INT PRIMARY KEY, a INT, va INT AS (a DIV 10) VIRTUAL, UNIQUE KEY (va));
INSERT INTO adv.p VALUES (1, 'abc-1'), (2, 'xyz-2');
INSERT INTO adv.b VALUES (1, 'blob-A'), (2, 'blob-B');
INSERT INTO adv.d VALUES (1, -0.0), (2, 1);
INSERT INTO adv.s VALUES (1, 'a'), (2, 'b');
INSERT INTO adv.g (id, a) VALUES (1, 11), (2, 25);
DELIMITER //
CREATE PROCEDURE adv.churn(IN n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  WHILE i < n DO
    IF i % 2 = 0 THEN
      UPDATE adv.p SET s = CONCAT(LPAD(i, 3, '0'), 'zz') WHERE id = 1;
      UPDATE adv.p SET s = CONCAT('abc+', i) WHERE id = 2;
      UPDATE adv.b SET b = CONCAT('free', i) WHERE id = 1;
      UPDATE adv.b SET b = 'blob-A' WHERE id = 2;
      UPDATE adv.d SET f = 5 + i WHERE id = 1;
      UPDATE adv.d SET f = 0.0 WHERE id = 2;
      UPDATE adv.s SET v = CONCAT('x', i) WHERE id = 1;
      UPDATE adv.s SET v = 'a  ' WHERE id = 2;
      UPDATE adv.g SET a = 100 + i * 10 WHERE id = 1;
      UPDATE adv.g SET a = 19 WHERE id = 2;
    ELSE
      UPDATE adv.p SET s = CONCAT(LPAD(i, 3, '0'), 'zz') WHERE id = 2;
      UPDATE adv.p SET s = CONCAT('abc=', i) WHERE id = 1;
      UPDATE adv.b SET b = CONCAT('free', i) WHERE id = 2;
      UPDATE adv.b SET b = 'blob-A' WHERE id = 1;
      UPDATE adv.d SET f = 5 + i WHERE id = 2;
      UPDATE adv.d SET f = -0.0 WHERE id = 1;
      UPDATE adv.s SET v = CONCAT('x', i) WHERE id = 2;
      UPDATE adv.s SET v = 'a' WHERE id = 1;
      UPDATE adv.g SET a = 100 + i * 10 WHERE id = 2;
      UPDATE adv.g SET a = 12 WHERE id = 1;
    END IF;
    SET i = i + 1;
  END WHILE;
END//
DELIMITER ;
CALL adv.churn(60);
DELETE FROM adv.p WHERE id = 1;
INSERT INTO adv.p VALUES (3, 'abc');
DELETE FROM adv.d WHERE f = 0;
INSERT INTO adv.d VALUES (3, 0);
DELETE FROM adv.s WHERE v = 'a';
INSERT INTO adv.s VALUES (3, 'a ');
