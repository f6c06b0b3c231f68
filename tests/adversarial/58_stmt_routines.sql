-- configs: mixed statement
-- Statement-based writes that expand on the replica: a stored procedure looping over many
-- inserts and updates (logged as its individual statements, with NAME_CONST for its
-- variables), a trigger inserting into an AUTO_INCREMENT table of another name,
-- INSERT ... SELECT with ORDER BY and
-- LIMIT (MIXED turns it into rows when unordered), a stored function called in a WHERE. The
-- DOUBLE parameter gets whole values only: the statement logs it as NAME_CONST(.., 1.5), a
-- DECIMAL, and the native replica rounds i * f differently from the source (28 vs 29).
CREATE DATABASE adv;
CREATE TABLE adv.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT, s VARCHAR(20));
CREATE TABLE adv.aud (n INT AUTO_INCREMENT PRIMARY KEY, id INT, what CHAR(3));
DELIMITER //
CREATE TRIGGER adv.ti AFTER INSERT ON adv.t FOR EACH ROW INSERT INTO adv.aud (id, what) VALUES (NEW.id, 'ins')//
CREATE TRIGGER adv.tu AFTER UPDATE ON adv.t FOR EACH ROW INSERT INTO adv.aud (id, what) VALUES (NEW.id, 'upd')//
CREATE PROCEDURE adv.fill(IN n INT, IN tag VARCHAR(10), IN f DOUBLE)
BEGIN
  DECLARE i INT DEFAULT 0;
  DECLARE d DECIMAL(10,3) DEFAULT 0.5;
  WHILE i < n DO
    INSERT INTO adv.t (v, s) VALUES (i * f, CONCAT(tag, '''', i, '\\'));
    IF i % 3 = 0 THEN UPDATE adv.t SET v = v + d WHERE id = LAST_INSERT_ID(); END IF;
    SET i = i + 1, d = d + 0.125;
  END WHILE;
END//
CREATE FUNCTION adv.sq(x INT) RETURNS INT DETERMINISTIC RETURN x * x//
DELIMITER ;
CALL adv.fill(40, 'a''b', 2);
CALL adv.fill(5, NULL, -3);
UPDATE adv.t SET s = 'sq' WHERE v = adv.sq(3) OR id = adv.sq(4);
CREATE TABLE adv.top (id INT PRIMARY KEY, v INT);
INSERT INTO adv.top SELECT id, v FROM adv.t ORDER BY v DESC, id LIMIT 5;
INSERT INTO adv.top SELECT id + 1000, v FROM adv.t WHERE id > 30 LIMIT 3;
DELETE FROM adv.t ORDER BY id DESC LIMIT 4;
UPDATE adv.t SET v = -v ORDER BY id LIMIT 3;
