//! Which target errors are worth retrying, and how long to wait between attempts.
//!
//! Owns the classification of target server errors (transient lock conflicts vs. divergence vs.
//! definite failures) and the bounded exponential backoff. It must not run SQL or decide what a
//! divergence means for the data (that is `on_conflict`, applied by the worker).

use std::time::Duration;

/// ER_LOCK_DEADLOCK: InnoDB rolled the whole transaction back.
pub const ER_LOCK_DEADLOCK: u16 = 1213;
/// ER_LOCK_WAIT_TIMEOUT: the statement (not necessarily the transaction) was rolled back.
pub const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
/// ER_DUP_ENTRY and ER_DUP_ENTRY_WITH_KEY_NAME: an INSERT found the row already there.
pub const ER_DUP_ENTRY: u16 = 1062;
pub const ER_DUP_ENTRY_WITH_KEY_NAME: u16 = 1586;

/// What kind of failure a target error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Lock conflict on the target: roll back and run the transaction again.
    Transient,
    /// The target's rows differ from the source's (duplicate key on INSERT).
    Duplicate,
    /// The connection broke: the transaction's fate is unknown until the checkpoint is read.
    Connection,
    /// Anything else: stop.
    Fatal,
}

/// Classify a `mysql_async` error.
pub fn classify(e: &mysql_async::Error) -> ErrorClass {
    match e {
        mysql_async::Error::Server(s) => classify_code(s.code),
        mysql_async::Error::Io(_) => ErrorClass::Connection,
        mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed) => ErrorClass::Connection,
        _ => ErrorClass::Fatal,
    }
}

/// Classify a server error code.
pub fn classify_code(code: u16) -> ErrorClass {
    match code {
        ER_LOCK_DEADLOCK | ER_LOCK_WAIT_TIMEOUT => ErrorClass::Transient,
        ER_DUP_ENTRY | ER_DUP_ENTRY_WITH_KEY_NAME => ErrorClass::Duplicate,
        // 2006 server gone away / 2013 lost connection (client-side codes some paths surface),
        // 1927 connection killed, 1053 server shutdown in progress.
        2006 | 2013 | 1927 | 1053 => ErrorClass::Connection,
        _ => ErrorClass::Fatal,
    }
}

/// Bounded exponential backoff: `base * 2^attempt`, capped, for at most `max_retries` retries.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub max_retries: u32,
}

impl Backoff {
    pub fn new(max_retries: u32) -> Self {
        Backoff { base: Duration::from_millis(5), cap: Duration::from_secs(2), max_retries }
    }

    /// Delay before retry number `attempt` (1-based), or `None` when retries are exhausted.
    pub fn delay(&self, attempt: u32) -> Option<Duration> {
        if attempt == 0 || attempt > self.max_retries {
            return None;
        }
        let factor = 1u32.checked_shl(attempt - 1).unwrap_or(u32::MAX);
        Some(self.base.saturating_mul(factor).min(self.cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_errors_are_transient_duplicates_are_divergence_others_fatal() {
        assert_eq!(classify_code(1213), ErrorClass::Transient);
        assert_eq!(classify_code(1205), ErrorClass::Transient);
        assert_eq!(classify_code(1062), ErrorClass::Duplicate);
        assert_eq!(classify_code(1146), ErrorClass::Fatal);
        assert_eq!(classify_code(2013), ErrorClass::Connection);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops_after_max_retries() {
        let b = Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(50), max_retries: 4 };
        let delays: Vec<Option<Duration>> = (0..=5).map(|a| b.delay(a)).collect();
        assert_eq!(
            delays,
            vec![
                None,
                Some(Duration::from_millis(10)),
                Some(Duration::from_millis(20)),
                Some(Duration::from_millis(40)),
                Some(Duration::from_millis(50)),
                None
            ]
        );
    }
}
