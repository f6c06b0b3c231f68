-- configs: compressed
-- MariaDB's compressed binlog (log_bin_compress=ON, min length 10: nearly every QUERY and
-- ROWS event compressed), on the tables whose rows parapply replays as BINLOG statements
-- (triggers on the target, system-versioned tables) and on plain ones: the target refuses a
-- compressed ROWS event inside BINLOG (ERROR 1730), its replica applies them.
-- The trigger and system-versioned workloads run compressed as cases 12 and 13 (their
-- `compressed` configuration); this case adds a triggered blob table.
CREATE DATABASE adv;
CREATE TABLE adv.keyless_log (msg VARCHAR(50), id INT);
CREATE TABLE adv.blob_t (id INT PRIMARY KEY, b LONGBLOB, t TEXT);
CREATE TRIGGER adv.blob_ai AFTER INSERT ON adv.blob_t FOR EACH ROW INSERT INTO adv.keyless_log VALUES ('blob', NEW.id);
INSERT INTO adv.blob_t VALUES (1, REPEAT(X'00', 300000), REPEAT('x', 1000)), (2, NULL, '');
UPDATE adv.blob_t SET b = CONCAT(b, X'01'), t = 'y' WHERE id = 1;
DELETE FROM adv.blob_t WHERE id = 2;
