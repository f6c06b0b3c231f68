-- configs: row mixed
-- Rows near the servers' default 16 MiB max_allowed_packet: one 12 MiB LONGBLOB row, updated
-- in full image (its UPDATE row event holds 24 MiB, more than the target's packet limit as
-- hex SQL or as a BINLOG statement), a 12 MiB LONGTEXT beside it, a statement whose rows
-- together exceed the limit, then deleted. The native replica reads events up to
-- slave_max_allowed_packet (1 GiB) and applies them. parapply sends row values as SQL text
-- (or BINLOG statements), which cannot exceed the target's max_allowed_packet: under ROW it
-- stops at the first such row event with an error naming the GTID and table and the setting to
-- raise. (Under MIXED the statements are logged, small, and replay.)
-- expect-refused(row): does not fit the target's max_allowed_packet (16777216 bytes
CREATE DATABASE adv;
CREATE TABLE adv.b (id INT PRIMARY KEY, b LONGBLOB, t LONGTEXT CHARACTER SET utf8mb4, n INT);
INSERT INTO adv.b VALUES (1, REPEAT(X'A5', 12582912), NULL, 1);
UPDATE adv.b SET n = 2 WHERE id = 1;
UPDATE adv.b SET t = REPEAT('é', 6291456) WHERE id = 1;
INSERT INTO adv.b VALUES (2, REPEAT(X'00', 5000000), REPEAT('x', 5000000), 2), (3, REPEAT(X'01', 5000000), NULL, 3), (4, REPEAT(X'02', 5000000), NULL, 4);
UPDATE adv.b SET n = n + 10;
DELETE FROM adv.b WHERE id IN (1, 3);
CREATE TABLE adv.nk (b LONGBLOB, n INT);
INSERT INTO adv.nk VALUES (REPEAT(X'5C', 9000000), 1), (REPEAT(X'27', 9000000), 2);
UPDATE adv.nk SET n = n + 1 WHERE n = 1;
DELETE FROM adv.nk WHERE n = 2;
