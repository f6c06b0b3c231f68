charset utf8mb4
CREATE DATABASE adv DEFAULT CHARSET utf8mb4;
charset sjis
CREATE TABLE adv.sj (id INT PRIMARY KEY, s VARCHAR(20) CHARACTER SET sjis COMMENT 'É\ï\î\', d VARCHAR(10) CHARACTER SET sjis DEFAULT 'ï\') COMMENT 'É\';
INSERT INTO adv.sj (id, s) VALUES (1, 'É\ï\î\ó\'), (2, '\\'), (3, 'a\'b');
UPDATE adv.sj SET s = CONCAT(s, 'è\') WHERE id = 1;
charset gbk
CREATE TABLE adv.gb (id INT PRIMARY KEY, s VARCHAR(20) CHARACTER SET gbk) COMMENT '÷–Œƒ±Ì';
INSERT INTO adv.gb VALUES (1, '÷–Œƒ'), (2, 'Å\'), (3, 'ñà');
charset big5
CREATE TABLE adv.b5 (id INT PRIMARY KEY, s VARCHAR(20) CHARACTER SET big5 DEFAULT '•\') COMMENT '≥\•\ª\';
INSERT INTO adv.b5 (id, s) VALUES (1, '≥\•\ª\'), (2, '\\');
INSERT INTO adv.b5 (id) VALUES (3);
charset latin1
CREATE TABLE adv.l1 (id INT PRIMARY KEY, `colÈ` VARCHAR(10) CHARACTER SET latin1 DEFAULT 'dÈf', e ENUM('x', 'È') CHARACTER SET latin1) COMMENT 'cafÈ' -- trailing comment
;
INSERT INTO adv.l1 (id, e) VALUES (1, 'x');
INSERT INTO adv.l1 VALUES (2, 'crËme', 'È') /* block comment */;
charset utf8mb4
CREATE TABLE adv.`√ºn√Ø` (`–∫–ª—é—á` INT PRIMARY KEY, `ÂÄ§` VARCHAR(10) CHARACTER SET ucs2, `√ü‚Üí` VARCHAR(10) CHARACTER SET utf16le, u32 VARCHAR(5) CHARACTER SET utf32);
INSERT INTO adv.`√ºn√Ø` VALUES (1, 'ƒÖƒçƒô', 'üòÄx', 'ùÑû'), (2, '', NULL, 'a');
UPDATE adv.`√ºn√Ø` SET `ÂÄ§` = '≈æ' WHERE `–∫–ª—é—á` = 1;
CREATE TABLE adv.cp (id INT PRIMARY KEY, a VARCHAR(10) CHARACTER SET cp1250, b VARCHAR(10) CHARACTER SET koi8r, c VARCHAR(10) CHARACTER SET ujis, d VARCHAR(10) CHARACTER SET eucjpms, e VARCHAR(10) CHARACTER SET cp932, f VARCHAR(10) CHARACTER SET tis620, g VARCHAR(10) CHARACTER SET greek, h VARCHAR(10) CHARACTER SET hebrew, i VARCHAR(10) CHARACTER SET armscii8, j VARCHAR(10) CHARACTER SET geostd8);
INSERT INTO adv.cp VALUES (1, '≈Å√≥d≈∫', '–ü—Ä–∏–≤–µ—Ç', '„ÇΩ', 'Ë°®', 'ËÉΩ', '‡∏†‡∏≤‡∏©‡∏≤', 'Œ±Œ≤Œ≥', '◊©◊ú◊ï◊ù', '’Ä’°’µ', '·É•·Éê·É†');
UPDATE adv.cp SET a = '≈∫d≈∫b≈Ço' WHERE id = 1;
CREATE TABLE adv.cs_pk (k VARCHAR(10) CHARACTER SET sjis COLLATE sjis_bin PRIMARY KEY, v INT);
INSERT INTO adv.cs_pk VALUES (_sjis X'835C', 1), (_sjis X'955C', 2);
UPDATE adv.cs_pk SET v = 3 WHERE k = _sjis X'835C';
DELETE FROM adv.cs_pk WHERE k = _sjis X'955C';
CREATE TABLE adv.`sel``ect` (`from` INT PRIMARY KEY, `where` VARCHAR(5), `a b` INT, `"q"` INT, `'s'` INT);
INSERT INTO adv.`sel``ect` VALUES (1, 'w', 2, 3, 4);
UPDATE adv.`sel``ect` SET `where` = 'x', `"q"` = 5 WHERE `from` = 1;
ALTER TABLE adv.`sel``ect` ADD COLUMN `new``col` INT DEFAULT 7 COMMENT '√ßa';
INSERT INTO adv.`sel``ect` (`from`) VALUES (2);
