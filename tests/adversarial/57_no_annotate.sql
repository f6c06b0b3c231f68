-- configs: row full minimal compressed
-- binlog_annotate_row_events=OFF for the session: no ANNOTATE_ROWS event before any row
-- event, on triggers, multi-table statements, keyless tables, a multi-statement transaction,
-- versioned and sequence tables, and DDL in between.
CREATE DATABASE adv;
SET SESSION binlog_annotate_row_events = OFF;
CREATE TABLE adv.t (id INT PRIMARY KEY, v INT);
CREATE TABLE adv.log (n INT AUTO_INCREMENT PRIMARY KEY, at_id INT);
CREATE TABLE adv.nk (a INT, b VARCHAR(5));
CREATE TABLE adv.v (id INT PRIMARY KEY, a INT) WITH SYSTEM VERSIONING;
CREATE SEQUENCE adv.s;
CREATE TRIGGER adv.ai AFTER INSERT ON adv.t FOR EACH ROW INSERT INTO adv.log (at_id) VALUES (NEW.id);
INSERT INTO adv.t VALUES (1, 1), (2, 2), (3, 3);
INSERT INTO adv.nk VALUES (1, 'a'), (1, 'a'), (2, NULL);
INSERT INTO adv.v VALUES (1, 1), (2, 2);
UPDATE adv.t, adv.nk SET adv.t.v = adv.t.v + 10, adv.nk.b = 'm' WHERE adv.t.id = adv.nk.a;
BEGIN;
UPDATE adv.v SET a = a + 1;
DELETE FROM adv.nk WHERE a = 1 LIMIT 1;
INSERT INTO adv.t VALUES (4, NEXTVAL(adv.s));
COMMIT;
ALTER TABLE adv.t ADD COLUMN w INT DEFAULT 1;
DELETE adv.t, adv.log FROM adv.t JOIN adv.log ON adv.log.at_id = adv.t.id WHERE adv.t.id = 2;
DELETE FROM adv.v WHERE id = 2;
SET SESSION binlog_annotate_row_events = ON;
UPDATE adv.t SET w = 2;
