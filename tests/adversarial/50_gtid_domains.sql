-- configs: row mixed statement
-- GTIDs chosen by the session: gtid_domain_id switched between transactions, gtid_seq_no set
-- explicitly (forward gaps, and a number below one the domain already used, which a
-- non-strict server logs as it comes and the native replica applies as it comes), gtid
-- server_id switched too. Transactions of several domains interleave.
CREATE DATABASE adv;
CREATE TABLE adv.t (id INT PRIMARY KEY, v INT, d INT);
CREATE TABLE adv.m (id INT PRIMARY KEY, v INT) ENGINE=MyISAM;
INSERT INTO adv.t VALUES (1, 1, 0);
SET SESSION gtid_domain_id = 5;
SET SESSION gtid_seq_no = 1000;
INSERT INTO adv.t VALUES (2, 2, 5);
INSERT INTO adv.t VALUES (3, 3, 5);
SET SESSION gtid_domain_id = 6;
SET SESSION gtid_seq_no = 7;
BEGIN; INSERT INTO adv.t VALUES (4, 4, 6); UPDATE adv.t SET v = 40 WHERE id = 1; COMMIT;
SET SESSION gtid_domain_id = 5;
SET SESSION gtid_seq_no = 500;
INSERT INTO adv.t VALUES (5, 5, 5);
UPDATE adv.t SET v = v + 1 WHERE d = 5;
SET SESSION gtid_domain_id = 0;
SET SESSION gtid_seq_no = 1;
INSERT INTO adv.t VALUES (6, 6, 0);
INSERT INTO adv.m VALUES (1, 1);
SET SESSION server_id = 77;
SET SESSION gtid_domain_id = 6;
INSERT INTO adv.t VALUES (7, 7, 6);
ALTER TABLE adv.t ADD COLUMN e INT DEFAULT 3;
SET SESSION gtid_seq_no = 2;
UPDATE adv.t SET e = id WHERE id > 3;
SET SESSION server_id = 1;
SET SESSION gtid_domain_id = 0;
UPDATE adv.m SET v = 2;
DELETE FROM adv.t WHERE id = 2;
