//! Synthetic binlog generator: writes valid MySQL 8.0 binlog files from a parametrised workload.
//!
//! Owns the binlog *encoder* used by tests, benches and `parapply gen`. It must not depend on the
//! decoder (so that decoding its output is an independent check).
