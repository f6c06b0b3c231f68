//! HTTP endpoints for monitors and load balancers: /lag, /metrics, /health, /status.
//!
//! Owns the axum server; it only reads snapshots from [`crate::lag`] and never blocks the pipeline.
