//! The worker's careful path: a transaction that diverged from the target re-run statement
//! by statement, each divergence handled per `on_conflict` (`skip`: leave the row, `overwrite`:
//! make the target hold the source's after image) and counted per table.
//!
//! Owns that statement-by-statement run and its conflict counts. It must not decide that a
//! transaction runs carefully (the caller does, after [`Failure::Diverged`] and only for
//! `skip`/`overwrite`) nor build the row-by-row plan (the builder does).

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;

use super::send::Piece;
use super::{Failure, Turn, Worker};
use crate::apply::checkpoint::StreamPos;
use crate::apply::retry::{classify_code, ErrorClass};
use crate::apply::sql::{Stmt, StmtKind};
use crate::config::OnConflict;

impl Worker {
    /// Row by row, handling each divergence per `on_conflict`. Returns conflicts per table.
    pub(super) async fn run_careful(&mut self, pos: &StreamPos, plan: &[Stmt], turn: &mut Turn) -> Result<BTreeMap<String, u64>, Failure> {
        let mut conflicts: BTreeMap<String, u64> = BTreeMap::new();
        // Each statement is its own round trip here: refuse one that can never be sent.
        if let Some(s) = plan.iter().find(|s| s.len().max(s.overwrite_sql.as_ref().map_or(0, String::len)) > self.budget) {
            return Err(Failure::TooLarge { table: s.table_name(), bytes: s.len().max(s.overwrite_sql.as_ref().map_or(0, String::len)) });
        }
        let mut begin = String::new();
        if let Some(p) = self.gtid_prefix(pos) {
            begin.push_str(&p);
            begin.push(';');
        }
        begin.push_str("BEGIN");
        self.exec(&begin, None, plan).await?;
        let overwrite = self.shared.on_conflict == OnConflict::Overwrite;
        for (i, s) in plan.iter().enumerate() {
            if s.goes_alone() {
                self.run_alone(i, plan).await?;
                continue;
            }
            let diverged = match self.conn.query_iter(s.sql.as_str()).await {
                Ok(r) => {
                    let n = r.affected_rows();
                    r.drop_result().await.map_err(|e| self.interpret_error(Some(Piece::Stmt(i)), e, plan))?;
                    matches!(s.kind, StmtKind::Update | StmtKind::Delete) && n != 1
                }
                Err(mysql_async::Error::Server(e)) if s.kind == StmtKind::Insert && classify_code(e.code) == ErrorClass::Duplicate => true,
                Err(e) => return Err(self.interpret_error(Some(Piece::Stmt(i)), e, plan)),
            };
            if !diverged {
                continue;
            }
            *conflicts.entry(s.table_name()).or_default() += 1;
            if overwrite {
                if let Some(alt) = &s.overwrite_sql {
                    self.exec(alt, Some(i), plan).await?;
                }
            }
        }
        self.exec(&self.shared.store.record_sql(pos), None, plan).await?;
        turn.take().await?;
        self.exec("COMMIT", None, plan).await?;
        Ok(conflicts)
    }
}
