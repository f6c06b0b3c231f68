//! Rule 2 with FK actions: the child rows a parent change cascades to (ON DELETE CASCADE, SET
//! NULL, ON UPDATE CASCADE, multi-level, self-referencing) are not in the binlog, the target's
//! own FK actions reproduce them. A later transaction that reuses a cascaded-away child's
//! primary key, or touches a child by its new FK value, must not run ahead of the cascade (in
//! parallel, or reordered inside a coalesced commit group).
//!
//! Each round of the workload deletes a parent after three updates of it (so that, coalesced,
//! its delete sits three levels deep) and then re-inserts the child and grandchild primary keys
//! the cascade freed, under another parent (so nothing of the parent's keys names them). Run
//! ahead of the delete, the re-insert hits a duplicate key; run after the delete but before its
//! cascade... there is no such moment: the cascade is part of the delete.
mod apply_support;
mod common;

use apply_support::*;

const ROUNDS: usize = 40;

fn workload(sb: &common::Sandbox) -> usize {
    let mut sql = String::from(
        "CREATE DATABASE cas;
         CREATE TABLE cas.p (id INT PRIMARY KEY, name VARCHAR(20)) ENGINE=InnoDB;
         CREATE TABLE cas.c (id INT PRIMARY KEY, p_id INT NOT NULL, note VARCHAR(20),
           CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES cas.p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
         CREATE TABLE cas.g (id INT PRIMARY KEY, c_id INT NOT NULL, note VARCHAR(20),
           CONSTRAINT g_c FOREIGN KEY (c_id) REFERENCES cas.c (id) ON DELETE CASCADE) ENGINE=InnoDB;
         CREATE TABLE cas.n (id INT PRIMARY KEY, p_id INT NULL, note VARCHAR(20), UNIQUE KEY p_uk (p_id),
           CONSTRAINT n_p FOREIGN KEY (p_id) REFERENCES cas.p (id) ON DELETE SET NULL ON UPDATE CASCADE) ENGINE=InnoDB;
         CREATE TABLE cas.tree (id INT PRIMARY KEY, parent_id INT NULL, label VARCHAR(20),
           CONSTRAINT tree_up FOREIGN KEY (parent_id) REFERENCES cas.tree (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;",
    );
    let ddl = 6;
    // Setup: per round a parent i with child 1000+i, grandchild 5000+i, a SET NULL row i, a
    // spare parent 500+i, a parent 700+i whose key is renumbered later, and a small tree.
    for i in 1..=ROUNDS {
        sql.push_str(&format!(
            "INSERT INTO cas.p VALUES ({i}, 'p{i}'), ({s}, 'spare{i}'), ({r}, 'renum{i}');
             INSERT INTO cas.c VALUES ({c}, {i}, 'first'), ({rc}, {r}, 'renum');
             INSERT INTO cas.g VALUES ({g}, {c}, 'first');
             INSERT INTO cas.n VALUES ({i}, {i}, 'first');
             INSERT INTO cas.tree VALUES ({t}, NULL, 'root'), ({t1}, {t}, 'kid'), ({t2}, {t1}, 'grandkid');",
            s = 500 + i,
            r = 700 + i,
            c = 1000 + i,
            rc = 3000 + i,
            g = 5000 + i,
            t = 10 * i,
            t1 = 10 * i + 1,
            t2 = 10 * i + 2,
        ));
    }
    let setup = 5 * ROUNDS; // one autocommit transaction per INSERT statement
    for i in 1..=ROUNDS {
        sql.push_str(&format!(
            // Three updates put the delete deep in a coalesced group.
            "UPDATE cas.p SET name = 'a{i}' WHERE id = {i};
             UPDATE cas.p SET name = 'b{i}' WHERE id = {i};
             UPDATE cas.p SET name = 'c{i}' WHERE id = {i};
             DELETE FROM cas.p WHERE id = {i};
             INSERT INTO cas.c VALUES ({c}, {s}, 'reused');
             INSERT INTO cas.g VALUES ({g}, {c}, 'reused');
             UPDATE cas.n SET note = 'orphaned' WHERE id = {i};
             UPDATE cas.p SET id = {nr} WHERE id = {r};
             UPDATE cas.c SET note = 'followed' WHERE p_id = {nr};
             DELETE FROM cas.tree WHERE id = {t};
             INSERT INTO cas.tree VALUES ({t1}, NULL, 'new root'), ({t2}, {t1}, 'new kid');",
            s = 500 + i,
            r = 700 + i,
            nr = 90_000 + i,
            c = 1000 + i,
            g = 5000 + i,
            t = 10 * i,
            t1 = 10 * i + 1,
            t2 = 10 * i + 2,
        ));
    }
    sb.sql("A", &sql);
    ddl + setup + 11 * ROUNDS
}

const TABLES: [&str; 5] = ["cas.p", "cas.c", "cas.g", "cas.n", "cas.tree"];

#[test]
fn cascades_are_never_overtaken() {
    let sb = common::Sandbox::start(&["A", "C"], "");
    let total = workload(&sb) as u64;
    // The source did cascade: every first child is gone or moved, every SET NULL row orphaned.
    assert_eq!(sb.sql("A", "SELECT COUNT(*), SUM(note = 'reused') FROM cas.c WHERE id BETWEEN 1001 AND 1999"), format!("{ROUNDS}\t{ROUNDS}"));
    assert_eq!(sb.sql("A", "SELECT COUNT(*) FROM cas.n WHERE p_id IS NULL AND note = 'orphaned'"), ROUNDS.to_string());
    assert_eq!(sb.sql("A", "SELECT COUNT(*) FROM cas.c WHERE note = 'followed' AND p_id > 90000"), ROUNDS.to_string());
    assert_eq!(sb.sql("A", "SELECT COUNT(*), SUM(parent_id IS NULL) FROM cas.tree"), format!("{}\t{ROUNDS}", 2 * ROUNDS));
    let files = sb.binlog_files("A");
    let source = checksums(&sb, "A", &TABLES);
    for args in [
        vec!["--mode", "writeset", "--workers", "8"],
        vec!["--mode", "writeset", "--workers", "8", "--commit-group", "16"],
        vec!["--mode", "writeset", "--workers", "8", "--no-preserve-commit-order"],
    ] {
        reset_target(&sb, &["cas"]);
        let summary = replay_ok(&sb, &files, &args);
        assert_eq!(u(&summary, "txns_applied"), total, "{args:?}: {summary}");
        let barriers = |name: &str| -> u64 {
            summary["scheduler"]["barriers"].as_array().unwrap().iter().filter(|b| b[0] == name).map(|b| b[1].as_u64().unwrap()).sum()
        };
        // Every cascading delete (of a parent and of a tree root) and nothing else; the
        // renumbering of a parent key cascades one level and stays keyed.
        assert_eq!(barriers("fk_cascade"), 2 * ROUNDS as u64, "{args:?}: {summary}");
        assert_eq!(barriers("unknown_schema"), 0, "{args:?}: {summary}");
        assert_eq!(checksums(&sb, "C", &TABLES), source, "{args:?}");
    }
}
