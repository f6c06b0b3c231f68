//! Lag clocks: heartbeat lag, event lag and backlog, and the pipeline state.
//!
//! Owns the shared progress snapshot every stage reports into and monitors read from.
