-- configs: row mixed minimal
CREATE DATABASE adv DEFAULT CHARSET utf8mb4;
CREATE TABLE adv.nk (f FLOAT, d DOUBLE, dec1 DECIMAL(20, 10), t TIME(3), dt DATETIME(6), ts TIMESTAMP(2) NULL, y YEAR, b BIT(5), j JSON, bl MEDIUMBLOB, g POINT, e ENUM('a', 'b'), s SET('x', 'y'), c CHAR(5) COLLATE utf8mb4_general_ci, u UUID, i6 INET6);
INSERT INTO adv.nk VALUES (0.1, 0.1, 1.0000000001, '-00:00:01.5', '2020-01-01 00:00:00.000001', '2020-01-01 00:00:00.01', 2020, b'10101', '{"a": [1, 2]}', X'00FF00', POINT(1, 1), 'a', 'x,y', 'ab ', '123e4567-e89b-12d3-a456-426614174000', '::1');
INSERT INTO adv.nk SELECT * FROM adv.nk;
INSERT INTO adv.nk VALUES (3.4e38, -1e-300, -0.0000000001, '838:59:59', '9999-12-31 23:59:59.999999', NULL, 1901, b'0', '[]', '', POINT(-1.5, 2.25), 'b', '', 'AB', NULL, NULL);
UPDATE adv.nk SET f = 0.2 WHERE d = 0.1 LIMIT 1;
DELETE FROM adv.nk WHERE f = 0.1 LIMIT 1;
UPDATE adv.nk SET c = 'Ab' WHERE c = 'ab';
UPDATE adv.nk SET j = JSON_SET(j, '$.a[0]', 9) WHERE y = 2020;
DELETE FROM adv.nk WHERE y = 1901;
INSERT INTO adv.nk (f, bl) VALUES (1, REPEAT(X'AB', 100000)), (1, REPEAT(X'AB', 100000));
UPDATE adv.nk SET bl = CONCAT(bl, 'x') WHERE f = 1 LIMIT 1;
DELETE FROM adv.nk WHERE f = 1 AND LENGTH(bl) = 100000;
CREATE TABLE adv.nk2 (a VARCHAR(10) COLLATE utf8mb4_general_ci, b VARCHAR(10) COLLATE latin1_swedish_ci) CHARSET latin1;
INSERT INTO adv.nk2 VALUES ('x', 'y'), ('X', 'Y'), ('x ', 'y '), ('X', 'y');
UPDATE adv.nk2 SET a = 'z' WHERE a = BINARY 'X' AND b = BINARY 'Y';
DELETE FROM adv.nk2 WHERE a = BINARY 'x ';
UPDATE adv.nk2 SET b = 'q' WHERE a = BINARY 'X';
