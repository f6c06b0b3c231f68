-- configs: row mixed statement
-- sql_mode switched mid-stream, where the mode changes what a statement or a DDL means:
-- ANSI_QUOTES and ORACLE (VARCHAR2, NUMBER, || and its own parser) in DDL, REAL_AS_FLOAT,
-- NO_BACKSLASH_ESCAPES in a DEFAULT and in data, PAD_CHAR_TO_FULL_LENGTH read by INSERT ...
-- SELECT, the 64-bit modes (EMPTY_STRING_IS_NULL, SIMULTANEOUS_ASSIGNMENT,
-- TIME_ROUND_FRACTIONAL are above bit 31), HIGH_NOT_PRECEDENCE, IGNORE_SPACE.
-- Not here: a generated column whose expression depends on the mode (`a - b` of unsigned
-- columns under NO_UNSIGNED_SUBTRACTION). MariaDB 10.11 fixes the expression under the mode of
-- the session that first opens the table, so even the source reads other values after a
-- restart; parapply's SQL path stops there with ERROR 1690 on the INSERT (GTID and table named).
CREATE DATABASE adv DEFAULT CHARSET utf8mb4;
SET sql_mode = 'ANSI_QUOTES';
CREATE TABLE "adv"."q t" ("id" INT PRIMARY KEY, "a""b" VARCHAR(10) DEFAULT 'x', "c" INT);
INSERT INTO "adv"."q t" ("id", "c") VALUES (1, 1);
ALTER TABLE "adv"."q t" ADD COLUMN "d""" INT DEFAULT 4 AFTER "id";
INSERT INTO "adv"."q t" VALUES (2, 5, 'y', 2);
SET sql_mode = 'ORACLE';
CREATE TABLE adv.ora (id NUMBER(10) PRIMARY KEY, s VARCHAR2(20), r RAW(4), d DATE, n NUMBER);
INSERT INTO adv.ora VALUES (1, 'a' || 'b', X'00ff', '2020-01-02 03:04:05', 1.5);
INSERT INTO adv.ora VALUES (2, '' || NULL, NULL, NULL, NULL);
UPDATE adv.ora SET s = s || '!' WHERE id = 1;
SET sql_mode = 'REAL_AS_FLOAT';
CREATE TABLE adv.rf (id INT PRIMARY KEY, r REAL, d DOUBLE);
INSERT INTO adv.rf VALUES (1, 0.1, 0.1);
SET sql_mode = 'NO_BACKSLASH_ESCAPES';
CREATE TABLE adv.nb (id INT PRIMARY KEY, s VARCHAR(20) DEFAULT 'a\b', t VARCHAR(20));
INSERT INTO adv.nb (id, t) VALUES (1, 'c:\dir\'), (2, '\n\0');
SET sql_mode = DEFAULT;
INSERT INTO adv.nb (id, t) VALUES (3, 'real\nnewline');
CREATE TABLE adv.ch (id INT PRIMARY KEY, c CHAR(8), b BINARY(4));
INSERT INTO adv.ch VALUES (1, 'ab', 'x'), (2, '', '');
CREATE TABLE adv.chout (id INT PRIMARY KEY, s VARCHAR(20), l INT);
SET sql_mode = 'PAD_CHAR_TO_FULL_LENGTH';
INSERT INTO adv.chout SELECT id, CONCAT(c, '|'), LENGTH(c) FROM adv.ch;
SET sql_mode = DEFAULT;
INSERT INTO adv.chout SELECT id + 10, CONCAT(c, '|'), LENGTH(c) FROM adv.ch;
CREATE TABLE adv.e (id INT PRIMARY KEY, s VARCHAR(10) NULL, t TIME(0), a INT, b INT);
SET sql_mode = 'EMPTY_STRING_IS_NULL,TIME_ROUND_FRACTIONAL,SIMULTANEOUS_ASSIGNMENT';
INSERT INTO adv.e VALUES (1, '', '10:00:00.7', 1, 2), (2, 'x', '23:59:59.5', 3, 4);
UPDATE adv.e SET a = b, b = a;
CREATE TABLE adv.e2 (id INT PRIMARY KEY, s VARCHAR(10) NOT NULL DEFAULT 'd');
SET sql_mode = DEFAULT;
INSERT INTO adv.e VALUES (3, '', '10:00:00.7', 5, 6);
UPDATE adv.e SET a = b, b = a WHERE id = 3;
INSERT INTO adv.e2 (id) VALUES (1);
SET sql_mode = 'HIGH_NOT_PRECEDENCE,IGNORE_SPACE';
CREATE TABLE adv.hn (id INT PRIMARY KEY, v INT);
INSERT INTO adv.hn SELECT 1, NOT 1 BETWEEN -5 AND 5;
INSERT INTO adv.hn SELECT 2, COUNT (*) FROM adv.e;
SET sql_mode = DEFAULT;
