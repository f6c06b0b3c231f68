//! [`InfoSchemaCatalog`]: table key layouts loaded from a live server's information_schema.
//!
//! Owns the queries and their cache. It must not decide dependencies or hash values.

/// Key layouts from a live server (filled in below).
pub struct InfoSchemaCatalog;
