-- configs: row mixed statement
-- Identifiers that break SQL when any path forgets to quote them: a database named with a
-- backtick, quotes, a semicolon, comment openers and a backslash, used as the default schema
-- (USE) of statement events; 64-character names; reserved words; names ending in a space-free
-- dot; trigger, view, procedure and sequence names of the same kind; RENAME between them.
-- (A procedure parameter named with a quote is not here: MariaDB 10.11 logs it as
-- NAME_CONST('a'',50), which its own replica cannot parse either.)
SET NAMES utf8mb4;
CREATE DATABASE `adv``x; DROP DATABASE adv --`;
CREATE DATABASE `a'b"c\d /*!e*/ #f`;
CREATE DATABASE `ünï 数据` DEFAULT CHARSET utf8mb4;
CREATE TABLE `adv``x; DROP DATABASE adv --`.`t``1; SELECT 1` (`id``` INT PRIMARY KEY, `'v'` VARCHAR(20), `*/ x /*` INT, `\` INT);
INSERT INTO `adv``x; DROP DATABASE adv --`.`t``1; SELECT 1` VALUES (1, 'a', 1, 1), (2, 'b', 2, 2);
UPDATE `adv``x; DROP DATABASE adv --`.`t``1; SELECT 1` SET `'v'` = 'c', `\` = 5 WHERE `id``` = 2;
DELETE FROM `adv``x; DROP DATABASE adv --`.`t``1; SELECT 1` WHERE `id``` = 1;
USE `adv``x; DROP DATABASE adv --`;
CREATE TABLE `select` (`from` INT PRIMARY KEY, `where` INT, `order` INT, `key` INT UNIQUE);
INSERT INTO `select` VALUES (1, 1, 1, 1), (2, 2, 2, 2);
UPDATE `select` SET `key` = `key` + 10 ORDER BY `from` DESC;
CREATE TEMPORARY TABLE `tmp``x` (a INT);
INSERT INTO `tmp``x` VALUES (7);
INSERT INTO `select` SELECT a, a, a, a FROM `tmp``x`;
DROP TEMPORARY TABLE `tmp``x`;
USE `a'b"c\d /*!e*/ #f`;
CREATE TABLE `x'y` (`id` INT AUTO_INCREMENT PRIMARY KEY, `a"b` TEXT, `c\d` BLOB);
INSERT INTO `x'y` (`a"b`, `c\d`) VALUES ('it''s', X'5C27'), ('"', '\\');
CREATE TRIGGER `tr'g"` BEFORE INSERT ON `x'y` FOR EACH ROW SET NEW.`a"b` = CONCAT(NEW.`a"b`, '!');
INSERT INTO `x'y` (`a"b`) VALUES ('trig');
CREATE VIEW `v'w` AS SELECT `id`, `a"b` AS `al``ias` FROM `x'y`;
CREATE SEQUENCE `s'q`;
CREATE PROCEDURE `p'r`(IN `a` INT) INSERT INTO `x'y` (`id`, `a"b`) VALUES (`a`, 'proc');
CALL `p'r`(50);
USE `ünï 数据`;
CREATE TABLE `abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl` (`ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKL` INT PRIMARY KEY, `ęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęę` VARCHAR(5));
INSERT INTO `abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl` VALUES (1, 'x'), (2, 'y');
UPDATE `abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl` SET `ęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęęę` = 'z' WHERE `ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKL` = 2;
CREATE TABLE `表 with space` (`列 1` INT PRIMARY KEY, `☺` VARCHAR(4));
INSERT INTO `表 with space` VALUES (1, '🙂');
RENAME TABLE `表 with space` TO `adv``x; DROP DATABASE adv --`.`moved 表`, `abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl` TO `a'b"c\d /*!e*/ #f`.`long`;
INSERT INTO `adv``x; DROP DATABASE adv --`.`moved 表` VALUES (2, 'ok');
UPDATE `a'b"c\d /*!e*/ #f`.`long` SET `ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKL` = 3 WHERE `ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKL` = 1;
CREATE TABLE `ünï 数据`.`fk p` (`i d` INT PRIMARY KEY);
CREATE TABLE `ünï 数据`.`fk c` (`i d` INT PRIMARY KEY, `p``id` INT, CONSTRAINT `c'on` FOREIGN KEY (`p``id`) REFERENCES `fk p` (`i d`) ON DELETE CASCADE);
INSERT INTO `fk p` VALUES (1), (2);
INSERT INTO `fk c` VALUES (1, 1), (2, 2);
DELETE FROM `fk p` WHERE `i d` = 1;
