//! Offline what-if for `parapply analyze`: per mode, the dependency graph's critical path, the
//! ideal and simulated speedups, barriers and hottest keys, computed with the same rules and
//! [`super::SchedulerCore`] the dispatcher uses.
//!
//! Owns the simulation and the report types. It must not read files or print (that is
//! `crate::commands::analyze`).
