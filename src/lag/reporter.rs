//! Progress reporter: an indicatif bar (backlog, rate, ETA) on a terminal, plain periodic
//! `tracing` info lines otherwise. Reads [`crate::lag::Progress::snapshot`] only.
