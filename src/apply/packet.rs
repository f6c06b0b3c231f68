//! Round trips bounded by the target's `max_allowed_packet`.
//!
//! Owns reading the target's packet limit (once per connection), the usable budget under it,
//! and cutting a list of statements into multi-statement batches that each fit. It must not run
//! the statements, build their SQL or interpret their results (the worker does).
//!
//! The server refuses a COM_QUERY longer than `max_allowed_packet` and drops the connection
//! (ER_NET_PACKET_TOO_LARGE, seen by the client as a lost connection), so a text over the limit
//! must never be sent: it would look like a network failure and be retried forever in vain.

use std::ops::Range;

use mysql_async::prelude::Queryable;

/// `max_allowed_packet` assumed when the server does not say (MariaDB's default).
const DEFAULT_MAX_ALLOWED_PACKET: u64 = 16 << 20;

/// Bytes added between two statements of one multi-statement text (`";\n"`).
pub const SEPARATOR: usize = 2;

/// The session's `max_allowed_packet` on `conn` (what the server enforces for this connection).
pub async fn read_max_allowed_packet(conn: &mut mysql_async::Conn) -> Result<u64, mysql_async::Error> {
    let v: Option<u64> = conn.query_first("SELECT @@max_allowed_packet").await?;
    Ok(v.unwrap_or(DEFAULT_MAX_ALLOWED_PACKET))
}

/// Bytes of SQL text one round trip may carry under `max_allowed_packet`: the limit less 1/32
/// and 1 KiB of headroom (the command byte, and rounding the server applies to its buffers).
pub fn budget(max_allowed_packet: u64) -> usize {
    let m = usize::try_from(max_allowed_packet).unwrap_or(usize::MAX);
    m.saturating_sub(m / 32).saturating_sub(1024).max(1024)
}

/// A statement that cannot be sent at all: alone it is larger than the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Oversized {
    /// Index of the statement in the list given to [`batches`].
    pub index: usize,
    pub bytes: usize,
}

/// Cut statements of `lens` bytes into consecutive batches (index ranges), each of which joined
/// with [`SEPARATOR`]s is at most `budget` bytes. Greedy, in order, no empty batch (none at all
/// for no statements). Fails on the first statement that does not fit even alone.
pub fn batches(lens: impl IntoIterator<Item = usize>, budget: usize) -> Result<Vec<Range<usize>>, Oversized> {
    let mut out = Vec::new();
    let (mut start, mut used, mut n) = (0, 0, 0);
    for (i, len) in lens.into_iter().enumerate() {
        n = i + 1;
        if len > budget {
            return Err(Oversized { index: i, bytes: len });
        }
        if i > start && used + SEPARATOR + len > budget {
            out.push(start..i);
            start = i;
            used = len;
        } else {
            used += if i > start { SEPARATOR + len } else { len };
        }
    }
    if n > start {
        out.push(start..n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_leaves_headroom_under_the_limit() {
        assert_eq!(budget(16 << 20), (16 << 20) - (16 << 20) / 32 - 1024);
        assert_eq!(budget(4 << 20), 4_194_304 - 131_072 - 1024);
        // Absurdly small limits still give a usable (if refused) budget rather than zero.
        assert_eq!(budget(0), 1024);
    }

    #[test]
    fn statements_are_cut_greedily_under_the_budget() {
        // 100-byte budget: 40 + 2 + 40 = 82 fits, a third does not.
        assert_eq!(batches([40, 40, 40, 40, 40], 100).unwrap(), vec![0..2, 2..4, 4..5]);
        // Exactly at the budget fits: 48 + 2 + 50 = 100.
        assert_eq!(batches([48, 50, 1], 100).unwrap(), vec![0..2, 2..3]);
        assert_eq!(batches([100, 1, 99], 100).unwrap(), vec![0..1, 1..2, 2..3]);
        assert_eq!(batches([10, 10], 100).unwrap(), vec![0..2]);
        assert_eq!(batches(Vec::<usize>::new(), 100).unwrap(), Vec::<Range<usize>>::new());
    }

    #[test]
    fn a_statement_larger_than_the_budget_is_named() {
        assert_eq!(batches([10, 101, 10], 100).unwrap_err(), Oversized { index: 1, bytes: 101 });
    }
}
