-- configs: row mixed minimal
-- A table of 1000 columns (the column count and bitmaps past one length byte in the table map
-- and ROWS events, a 125-byte null bitmap), most NULL, mixed types, built by prepared DDL.
CREATE DATABASE adv;
SET SESSION group_concat_max_len = 1000000;
SELECT CONCAT('CREATE TABLE adv.w (id INT PRIMARY KEY, ', GROUP_CONCAT(CONCAT('c', seq, ' ', ELT(seq % 5 + 1, 'INT', 'VARCHAR(3)', 'TINYINT', 'DOUBLE', 'BIT(3)'), ' NULL') ORDER BY seq SEPARATOR ', '), ') ROW_FORMAT=DYNAMIC') INTO @ddl FROM adv.seq_1_to_998;
PREPARE s FROM @ddl; EXECUTE s; DEALLOCATE PREPARE s;
INSERT INTO adv.w (id) VALUES (1), (2), (3);
UPDATE adv.w SET c1 = 1, c998 = 2, c500 = 3.5, c997 = b'101', c996 = 'abc' WHERE id = 2;
UPDATE adv.w SET c255 = 255, c256 = 'x', c257 = 7, c258 = -0.5, c259 = 1 WHERE id >= 2;
DELETE FROM adv.w WHERE id = 1;
SELECT CONCAT('UPDATE adv.w SET ', GROUP_CONCAT(CONCAT('c', seq, ' = ', ELT(seq % 5 + 1, seq, QUOTE(seq % 1000), seq % 100, seq / 7, seq % 8)) ORDER BY seq SEPARATOR ', '), ' WHERE id = 3') INTO @upd FROM adv.seq_1_to_998;
PREPARE s FROM @upd; EXECUTE s; DEALLOCATE PREPARE s;
INSERT INTO adv.w (id, c10, c990) SELECT id + 10, c10, c990 FROM adv.w;
UPDATE adv.w SET c600 = NULL WHERE id = 3;
