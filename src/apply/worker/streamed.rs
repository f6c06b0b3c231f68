//! The worker's streamed path: a transaction too large to hold whole (see
//! [`crate::txn::TransactionReader::stream_large`]) applied chunk by chunk as the reader
//! delivers it, in one target transaction, then its checkpoint and COMMIT in its turn.
//!
//! Owns that loop, mapping each chunk's rows onto the target's tables as they arrive, and what
//! a failure becomes (the chunks are gone, so nothing is retried: roll back and stop). It must
//! not read the source (the reader fills the [`ChangeStream`]) nor build row SQL.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::{Failure, Turn, Worker};
use crate::apply::checkpoint::StreamPos;
use crate::apply::ApplyError;
use crate::txn::{ChangeStream, StreamEnd, StreamPiece, Transaction, TxnEnd};

impl Worker {
    /// A streamed large transaction (see [`crate::txn::TransactionReader::stream_large`]): BEGIN,
    /// then each chunk of row changes as it arrives (one round trip per chunk, every
    /// UPDATE/DELETE checked to have found its row), then the checkpoint row and COMMIT in its
    /// turn. Memory stays at one chunk. It cannot be retried (the chunks are gone), so any
    /// failure rolls back and stops the pipeline; a rerun streams it again from the source and
    /// nothing was committed twice or lost.
    pub(super) async fn apply_streamed(&mut self, seq: u64, head: &Transaction, stream: &ChangeStream) -> Result<(), ApplyError> {
        let pos = StreamPos::of(head).map_err(ApplyError::Checkpoint)?;
        let gtid = pos.gtid.clone();
        let mut turn = self.turn(seq);
        let mut rows = 0u64;
        let outcome = self.run_streamed(&pos, head, stream, &mut turn, &mut rows).await;
        let end = match outcome {
            Ok(end) => end,
            Err(failure) => {
                stream.abandon();
                self.rollback().await;
                return Err(match failure {
                    Failure::Cancelled => ApplyError::Cancelled,
                    Failure::Diverged { what, .. } => ApplyError::Conflict { gtid, table: "-".into(), what: format!("{what} (in a streamed large transaction: on_conflict skip/overwrite do not apply to it)") },
                    Failure::Transient(source) | Failure::Connection(source) | Failure::Fatal { error: source, .. } => {
                        ApplyError::Sql { gtid, table: "-".into(), sql: "(streamed large transaction; rolled back, a rerun applies it again)".into(), cause: source }
                    }
                    Failure::Stopped(what) => ApplyError::Unsupported { gtid, what },
                    Failure::Interrupted(why) => ApplyError::Interrupted { gtid, why },
                    Failure::TooLarge { table, bytes } => self.too_large(gtid, table, bytes),
                    // A streamed transaction is a barrier: every earlier one has committed.
                    Failure::YieldTurn => ApplyError::Unsupported { gtid, what: "streamed transaction yielded its commit turn".into() },
                });
            }
        };
        self.shared.stats.target_commits.fetch_add(1, Relaxed);
        self.committed_counts(seq, &pos, rows, end.size, end.commit_time_us, &BTreeMap::new());
        Ok(())
    }

    async fn run_streamed(
        &mut self,
        pos: &StreamPos,
        head: &Transaction,
        stream: &ChangeStream,
        turn: &mut Turn,
        rows: &mut u64,
    ) -> Result<StreamEnd, Failure> {
        let mut begin = self.gtid_prefix(pos).map(|p| p + ";").unwrap_or_default();
        begin.push_str("BEGIN");
        self.exec(&begin, None, &[]).await?;
        loop {
            let piece = loop {
                if *self.shared.cancel.borrow() {
                    return Err(Failure::Cancelled);
                }
                let s = stream.clone();
                let got = tokio::task::spawn_blocking(move || s.next_piece(Duration::from_millis(100)))
                    .await
                    .map_err(|e| Failure::Stopped(format!("waiting for the next chunk: {e}")))?;
                if let Some(p) = got {
                    break p;
                }
            };
            match piece {
                StreamPiece::Changes(mut changes) => {
                    self.onto_target(&mut changes).await?;
                    let chunk = Transaction { gtid: head.gtid.clone(), server_id: head.server_id, thread_id: head.thread_id, changes, ..Transaction::default() };
                    let (i, u, d) = chunk.row_counts();
                    *rows += (i + u + d) as u64;
                    let plan = if self.shared.row_path.binlog_for(&chunk.changes) {
                        let mut plan = Vec::new();
                        self.binlog_plan(&[&chunk], &mut plan).map_err(Failure::Stopped)?;
                        plan
                    } else {
                        // A chunk is a prefix of one target transaction: its changes may be
                        // coalesced among themselves as a commit group's are.
                        self.sql_plan(&[&chunk]).map_err(|e| Failure::Stopped(format!("cannot build SQL: {e}")))?
                    };
                    self.run_checked(&plan).await?;
                }
                StreamPiece::Failed(why) => return Err(Failure::Stopped(format!("the source failed inside the transaction: {why}"))),
                StreamPiece::Interrupted(why) => return Err(Failure::Interrupted(format!("the source broke off inside the transaction: {why}"))),
                StreamPiece::End(end) => {
                    match end.end {
                        // Its rows went into a plain transaction: an XA branch starts with XA
                        // START, and that the transaction prepares shows only here.
                        TxnEnd::XaPrepare => {
                            return Err(Failure::Stopped(
                                "XA PREPARE of a transaction too large to hold whole is not applied (it was streamed); raise the reader's large-transaction limits".into(),
                            ))
                        }
                        // Rolled back on the source: nothing of it may stay; only its record.
                        TxnEnd::Rollback => {
                            self.exec("ROLLBACK", None, &[]).await?;
                            self.exec(&begin, None, &[]).await?;
                            *rows = 0;
                        }
                        TxnEnd::Xid | TxnEnd::Commit => {}
                    }
                    self.exec(&self.shared.store.record_sql(pos), None, &[]).await?;
                    turn.take().await?;
                    self.exec("COMMIT", None, &[]).await?;
                    return Ok(end);
                }
            }
        }
    }

    /// A streamed chunk's row changes mapped onto the target's tables, as the dispatcher maps
    /// whole transactions (see [`crate::schedule::target`]).
    pub(super) async fn onto_target(&self, changes: &mut [crate::txn::Change]) -> Result<(), Failure> {
        let Some(tables) = &self.shared.tables else { return Ok(()) };
        for change in changes {
            let crate::txn::Change::Rows(rc) = change else { continue };
            let target = match tables.target_table_async(&rc.table).await {
                Ok(t) => t,
                // Named columns and no such table yet: as logged (see `schedule::onto_target`).
                Err(crate::schedule::TargetError::Map(crate::schedule::MapError::NoTable { .. })) if rc.table.columns.iter().all(|c| c.name.is_some()) => continue,
                Err(e) => return Err(Failure::Stopped(e.to_string())),
            };
            rc.table = target.map.clone();
            target.fix_rows(&mut rc.rows);
        }
        Ok(())
    }
}
