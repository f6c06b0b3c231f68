-- configs: row mixed minimal full
-- DEFAULT expressions (DEFAULT (expr) over other columns, NOW(6), UUID(), RAND-free math) and
-- CHECK constraints (column and table level) on inserts that leave the defaulted columns out,
-- UPDATE ... SET col = DEFAULT, and ALTER ... ADD COLUMN with a DEFAULT expression over
-- existing rows. UUID() makes the MIXED statement unsafe, so it goes as rows.
CREATE DATABASE adv DEFAULT CHARSET utf8mb4;
SET SESSION timestamp = 1700000000.654321;
CREATE TABLE adv.d (id INT AUTO_INCREMENT PRIMARY KEY, a INT NOT NULL DEFAULT 3 CHECK (a >= 0), b INT DEFAULT (a * 2 + 1), s VARCHAR(40) DEFAULT (CONCAT('s-', a)), t DATETIME(6) DEFAULT NOW(6), u CHAR(36) DEFAULT (UUID()), j JSON DEFAULT (JSON_OBJECT('a', a)), bl BLOB DEFAULT (REPEAT('b', 3)), CONSTRAINT ab CHECK (b IS NULL OR b > a));
INSERT INTO adv.d (a) VALUES (1), (2);
INSERT INTO adv.d () VALUES ();
INSERT INTO adv.d (a, b) VALUES (4, 100);
INSERT INTO adv.d SET a = 5, s = DEFAULT;
UPDATE adv.d SET s = DEFAULT, b = DEFAULT WHERE id = 4;
UPDATE adv.d SET a = 0 WHERE id = 1;
ALTER TABLE adv.d ADD COLUMN e INT DEFAULT (a * 100);
ALTER TABLE adv.d ADD COLUMN f VARCHAR(10) NOT NULL DEFAULT (LPAD(a, 4, '0')) AFTER a;
INSERT INTO adv.d (a) VALUES (6);
REPLACE INTO adv.d (id, a) VALUES (2, 7);
INSERT INTO adv.d (id, a) VALUES (3, 8) ON DUPLICATE KEY UPDATE s = DEFAULT(s), e = DEFAULT;
DELETE FROM adv.d WHERE id = 5;
