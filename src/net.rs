//! One place for how parapply reaches a server and how it quotes what it sends.
//!
//! Owns the mysql_async connection options built from a config [`Endpoint`] (address,
//! credentials, TLS, keepalive), the connect call that enforces the TLS modes, and the SQL
//! quoting helpers ([`quote_ident`], [`quote_str`], [`push_hex`]). Every connection parapply
//! opens — source stream, target workers and admin, heartbeat writer, failover probes and
//! promotion, witness, reconcile, lag probe — goes through [`opts`] and [`connect`], so the
//! TLS rules are the same everywhere. Callers add only what is theirs (for example
//! CLIENT_FOUND_ROWS and the session setup of the apply workers). It must not run queries or
//! know about replication.
//!
//! # TLS modes
//! - `disabled`: plain TCP.
//! - `required`: encryption **without authentication**: any certificate is accepted, so a
//!   machine in the middle can read and change the traffic. Protects only against passive
//!   eavesdropping.
//! - `verify_ca`: the certificate chain must lead to the configured `ca` and to nothing else
//!   (the driver's built-in public web roots are switched off, so a publicly issued
//!   certificate does not pass); the host name is not checked.
//! - `verify_identity`: as `verify_ca`, and the certificate must name the host connected to.
//!
//! mysql_async 0.37.1 with rustls never honours its own "skip domain validation" flag: it looks
//! for the text `NotValidForName` in rustls's error, which rustls 0.23 no longer prints
//! (mysql_async issue #404, fixed upstream after 0.37.1). `verify_ca` is therefore implemented
//! here: when the handshake fails only because the certificate does not name the host — rustls
//! reports that after the chain verified against the `ca` — [`connect`] connects again with a
//! name the certificate does carry as the name to verify, so the second handshake checks the
//! full chain against the same `ca`. The name learned is remembered per server address.

use std::collections::HashMap;
use std::time::Duration;

use mysql_async::{Conn, Opts, OptsBuilder, SslOpts};
use parking_lot::Mutex;

use crate::config::{Endpoint, TlsConfig, TlsMode};

/// TCP keepalive on every connection: a server that vanished without a FIN (host crash,
/// network partition) is noticed by the kernel instead of a read waiting forever.
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(30);

/// Connection options for `ep`: address, user and password, TLS per `ep.tls`, keepalive,
/// no Nagle delay. Socket preference is off: the driver would otherwise switch a 127.0.0.1
/// connection to a unix socket it finds, silently bypassing TLS and the configured address.
pub fn opts(ep: &Endpoint) -> OptsBuilder {
    OptsBuilder::default()
        .ip_or_hostname(ep.host.clone())
        .tcp_port(ep.port)
        .user(Some(ep.user.clone()))
        .pass(if ep.password.is_empty() { None } else { Some(ep.password.expose().to_string()) })
        .prefer_socket(false)
        .tcp_keepalive(Some(TCP_KEEPALIVE))
        .tcp_nodelay(true)
        .ssl_opts(ssl_opts(&ep.tls))
}

/// The driver's TLS options for one TLS mode (see the module doc).
pub fn ssl_opts(tls: &TlsConfig) -> Option<SslOpts> {
    // Only the configured CA is trusted: without this the driver adds the public web roots.
    let ca_only = || {
        SslOpts::default().with_disable_built_in_roots(true).with_root_certs(tls.ca.iter().map(|p| p.clone().into()).collect())
    };
    match tls.mode {
        TlsMode::Disabled => None,
        TlsMode::Required => Some(SslOpts::default().with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true)),
        TlsMode::VerifyCa => Some(ca_only().with_danger_skip_domain_validation(true)),
        TlsMode::VerifyIdentity => Some(ca_only()),
    }
}

/// Names learned for `verify_ca` servers whose certificate does not name the address
/// connected to, by `host:port`. A short sync lock: held only to read or insert one entry.
static VERIFY_NAMES: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

/// Connect with `opts` (built by [`opts`], plus the caller's own settings). Enforces
/// `verify_ca` as the module doc describes; every other mode is the driver's handshake.
pub async fn connect(opts: impl Into<Opts>) -> Result<Conn, mysql_async::Error> {
    let opts: Opts = opts.into();
    let Some(ssl) = verify_ca_only(&opts) else {
        return Conn::new(opts).await;
    };
    let key = address_key(&opts);
    let known = VERIFY_NAMES.lock().as_ref().and_then(|m| m.get(&key).cloned());
    let first = match &known {
        Some(name) => with_verify_name(&opts, ssl, name),
        None => opts.clone(),
    };
    match Conn::new(first).await {
        Ok(c) => Ok(c),
        Err(e) => {
            let Some(name) = presented_name(&e) else { return Err(e) };
            if known.as_deref() == Some(name.as_str()) {
                return Err(e);
            }
            let conn = Conn::new(with_verify_name(&opts, ssl, &name)).await?;
            VERIFY_NAMES.lock().get_or_insert_with(HashMap::new).insert(key, name);
            Ok(conn)
        }
    }
}

/// `opts` with the name [`connect`] learned for this `verify_ca` server, for a connection pool
/// (which connects by itself, without [`connect`]): make one connection with [`connect`]
/// first. Unchanged for every other mode or an address not seen yet.
pub fn pool_opts(opts: impl Into<Opts>) -> Opts {
    let opts: Opts = opts.into();
    let Some(ssl) = verify_ca_only(&opts) else { return opts };
    match VERIFY_NAMES.lock().as_ref().and_then(|m| m.get(&address_key(&opts)).cloned()) {
        Some(name) => with_verify_name(&opts, ssl, &name),
        None => opts,
    }
}

/// The TLS options when they ask for `verify_ca` (chain checked, name not).
fn verify_ca_only(opts: &Opts) -> Option<&SslOpts> {
    opts.ssl_opts().filter(|s| s.skip_domain_validation() && !s.accept_invalid_certs() && s.tls_hostname_override().is_none())
}

fn address_key(opts: &Opts) -> String {
    format!("{}:{}", opts.ip_or_hostname(), opts.tcp_port())
}

fn with_verify_name(opts: &Opts, ssl: &SslOpts, name: &str) -> Opts {
    OptsBuilder::from_opts(opts.clone()).ssl_opts(Some(ssl.clone().with_danger_tls_hostname_override(Some(name.to_string())))).into()
}

/// The first name a certificate carries, when `e` is a handshake refused only because the
/// certificate does not name the host (rustls checks the name after the chain verified).
fn presented_name(e: &mysql_async::Error) -> Option<String> {
    let mysql_async::Error::Io(mysql_async::IoError::Io(io)) = e else { return None };
    let tls = io.get_ref()?.downcast_ref::<rustls::Error>()?;
    let rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { presented, .. }) = tls else { return None };
    presented.iter().find_map(|p| parse_presented(p))
}

/// rustls-webpki renders the certificate's names as `DnsName("db.example")` and
/// `IpAddress(10.0.0.1)`; a wildcard DNS name cannot be connected by name, so it is skipped.
fn parse_presented(p: &str) -> Option<String> {
    if let Some(dns) = p.strip_prefix("DnsName(\"").and_then(|s| s.strip_suffix("\")")) {
        return (!dns.contains('*') && !dns.is_empty()).then(|| dns.to_string());
    }
    let ip = p.strip_prefix("IpAddress(")?.strip_suffix(')')?;
    ip.parse::<std::net::IpAddr>().ok().map(|a| a.to_string())
}

/// `name` as a backtick-quoted identifier, embedded backticks doubled.
pub fn quote_ident(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('`');
    for ch in name.chars() {
        if ch == '`' {
            s.push('`');
        }
        s.push(ch);
    }
    s.push('`');
    s
}

/// A single-quoted string literal safe under any sql_mode and any connection charset: plain
/// ASCII words stay readable, anything else (quotes, backslashes, multibyte text) becomes a
/// `_utf8mb4 X'..'` hex literal, so NO_BACKSLASH_ESCAPES or a charset with 0x5C trail bytes
/// cannot change where it ends.
pub fn quote_str(s: &str) -> String {
    if s.bytes().all(|b| b.is_ascii_alphanumeric() || b" +-:_./$[]".contains(&b)) {
        format!("'{s}'")
    } else {
        let mut out = String::from("_utf8mb4 ");
        push_hex(&mut out, s.as_bytes());
        out
    }
}

/// `X'..'` hex literal (empty bytes become `X''`, a valid empty binary string).
pub fn push_hex(out: &mut String, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(b.len() * 2 + 3);
    out.push_str("X'");
    for &byte in b {
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 15) as usize] as char);
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn tls(mode: TlsMode, ca: Option<&str>) -> TlsConfig {
        TlsConfig { mode, ca: ca.map(PathBuf::from) }
    }

    #[test]
    fn tls_modes_map_to_driver_options() {
        assert!(ssl_opts(&tls(TlsMode::Disabled, None)).is_none());
        let r = ssl_opts(&tls(TlsMode::Required, None)).unwrap();
        assert!(r.accept_invalid_certs() && r.skip_domain_validation());
        let c = ssl_opts(&tls(TlsMode::VerifyCa, Some("/ca.pem"))).unwrap();
        assert!(!c.accept_invalid_certs() && c.skip_domain_validation() && c.disable_built_in_roots());
        assert_eq!(c.root_certs().len(), 1);
        let i = ssl_opts(&tls(TlsMode::VerifyIdentity, Some("/ca.pem"))).unwrap();
        assert!(!i.accept_invalid_certs() && !i.skip_domain_validation() && i.disable_built_in_roots());
        assert_eq!(i.root_certs().len(), 1);
    }

    #[test]
    fn every_endpoint_gets_keepalive_and_tcp() {
        let ep = Endpoint { tls: tls(TlsMode::VerifyIdentity, Some("/ca.pem")), ..Endpoint::default() };
        let o: Opts = opts(&ep).into();
        assert_eq!(o.tcp_keepalive(), Some(TCP_KEEPALIVE));
        assert!(!o.prefer_socket());
        assert!(o.tcp_nodelay());
        assert!(o.ssl_opts().unwrap().disable_built_in_roots());
        assert_eq!(o.pass(), None);
    }

    #[test]
    fn presented_names_parse_as_rustls_webpki_renders_them() {
        assert_eq!(parse_presented("DnsName(\"db1.example\")").as_deref(), Some("db1.example"));
        assert_eq!(parse_presented("IpAddress(10.0.0.7)").as_deref(), Some("10.0.0.7"));
        assert_eq!(parse_presented("DnsName(\"*.example\")"), None);
        assert_eq!(parse_presented("UniformResourceIdentifier(\"x\")"), None);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("a`b"), "`a``b`");
        assert_eq!(quote_ident("plain"), "`plain`");
        assert_eq!(quote_str("1-2-3"), "'1-2-3'");
        assert_eq!(quote_str("a'b\\"), "_utf8mb4 X'6127625C'");
        assert_eq!(quote_str(""), "''");
    }
}
