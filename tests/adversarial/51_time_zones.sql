-- configs: row mixed statement
-- Session time zones (offsets: the sandbox loads no named zones) switched mid-stream, with
-- TIMESTAMP columns that take DEFAULT / ON UPDATE CURRENT_TIMESTAMP, explicit TIMESTAMP
-- literals read in the session's zone, FROM_UNIXTIME / UNIX_TIMESTAMP / CONVERT_TZ, NOW() into
-- DATETIME, and a pinned @@timestamp with fractions.
CREATE DATABASE adv;
SET SESSION timestamp = 1700000000.123456;
SET SESSION time_zone = '+05:30';
CREATE TABLE adv.t (id INT PRIMARY KEY, v INT, c TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), u TIMESTAMP NULL DEFAULT NULL ON UPDATE CURRENT_TIMESTAMP, e TIMESTAMP(3) NULL, dt DATETIME(6), n BIGINT);
INSERT INTO adv.t (id, v, e, dt, n) VALUES (1, 1, '2024-03-31 02:30:00.5', NOW(6), UNIX_TIMESTAMP('2024-01-01 00:00:00'));
SET SESSION time_zone = '-08:00';
SET SESSION timestamp = 1700003600.5;
INSERT INTO adv.t (id, v, e, dt, n) VALUES (2, 2, '1970-01-01 00:00:01', FROM_UNIXTIME(1), UNIX_TIMESTAMP());
UPDATE adv.t SET v = v + 10 WHERE id = 1;
SET SESSION time_zone = '+00:00';
SET SESSION timestamp = 1700007200;
INSERT INTO adv.t (id, v, e, dt, n) VALUES (3, 3, '2038-01-19 03:14:07.999', CONVERT_TZ('2024-06-01 12:00:00', '+00:00', '+09:00'), UNIX_TIMESTAMP(CURRENT_TIMESTAMP));
UPDATE adv.t SET v = v + 1;
SET SESSION time_zone = '+13:00';
SET SESSION timestamp = 1700010800.000001;
UPDATE adv.t SET e = '2000-01-01 00:00:00' WHERE id = 2;
INSERT INTO adv.t (id, v, c, dt) VALUES (4, 4, '1999-12-31 23:59:59.999999', NOW(6)) ON DUPLICATE KEY UPDATE v = 0;
UPDATE adv.t SET dt = '2001-01-01' WHERE id = 4;
SET SESSION time_zone = SYSTEM;
SET SESSION timestamp = DEFAULT;
SET SESSION timestamp = 1800000000;
INSERT INTO adv.t (id, v, e) VALUES (5, 5, FROM_UNIXTIME(1800000000.25));
