//! Where binlog bytes come from: binlog/relay-log files ([`file`]) or a live dump stream
//! ([`stream`]), plus GTID positions and sets ([`gtid`]).
//!
//! Owns positioning, reconnects and the byte framing into raw events. It hands raw event bytes
//! to [`crate::decode`] and must not interpret row data.

pub mod file;
pub mod gtid;
pub mod stream;

/// Why a transaction source (the input of [`crate::apply::pipeline::run`]) ended with an error.
/// The pipeline stops on any of them; the variant tells the caller whether a new attempt may
/// cure it ([`TxnSourceError::is_transient`]).
#[derive(Debug, thiserror::Error)]
pub enum TxnSourceError {
    /// The live dump stream (transient or definite per [`stream::StreamError::is_transient`]).
    #[error(transparent)]
    Stream(Box<stream::StreamError>),
    /// Binlog or relay-log files: unreadable, corrupt or truncated input, or a start GTID that is
    /// not in them. Definite: reading the same files again fails the same way.
    #[error(transparent)]
    Files(Box<crate::txn::ReadError<file::SourceError>>),
}

// Boxed: a `Result<Transaction, TxnSourceError>` per transaction stays small.
impl From<stream::StreamError> for TxnSourceError {
    fn from(e: stream::StreamError) -> Self {
        TxnSourceError::Stream(Box::new(e))
    }
}

impl From<crate::txn::ReadError<file::SourceError>> for TxnSourceError {
    fn from(e: crate::txn::ReadError<file::SourceError>) -> Self {
        TxnSourceError::Files(Box::new(e))
    }
}

impl TxnSourceError {
    /// True when a new attempt (a reconnect) may cure it.
    pub fn is_transient(&self) -> bool {
        matches!(self, TxnSourceError::Stream(e) if e.is_transient())
    }
}
