//! TLS verification against a real MariaDB server with a private CA made by this test (issue 15
//! item 2): `verify_ca` and `verify_identity` trust only the configured `ca`, `verify_identity`
//! also checks the host name, `required` encrypts without authenticating, and every connection
//! builder parapply has (source stream, target workers, heartbeat writer, failover probe) follows
//! the same rules because they all come from `parapply::net`.
//!
//! One server; its certificate is swapped between cases by rewriting the files it was started
//! with and `FLUSH SSL` (MariaDB reloads them from the same paths).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Sandbox;
use mysql_async::prelude::Queryable;
use mysql_async::Opts;
use parapply::config::{Endpoint, TlsConfig, TlsMode};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A self-signed CA `name`.pem / `name`.key.
fn make_ca(dir: &Path, name: &str) {
    let subj = format!("/CN=parapply test {name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", &subj,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", &format!("{name}.key"), "-out", &format!("{name}.pem"),
        ],
    );
}

/// A server certificate `name`.pem / `name`.key for `san`, signed by CA `ca`.
fn make_cert(dir: &Path, name: &str, ca: &str, san: &str) {
    openssl(dir, &["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=parapply test server", "-keyout", &format!("{name}.key"), "-out", &format!("{name}.csr")]);
    let ext = format!("{name}.ext");
    std::fs::write(dir.join(&ext), format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")).unwrap();
    openssl(
        dir,
        &[
            "x509", "-req", "-in", &format!("{name}.csr"), "-CA", &format!("{ca}.pem"), "-CAkey", &format!("{ca}.key"), "-CAcreateserial",
            "-days", "2", "-extfile", &ext, "-out", &format!("{name}.pem"),
        ],
    );
}

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let dir = dir.to_path_buf();
        make_ca(&dir, "ca");
        make_ca(&dir, "other_ca");
        make_cert(&dir, "good", "ca", "IP:127.0.0.1,DNS:localhost");
        make_cert(&dir, "foreign", "other_ca", "IP:127.0.0.1,DNS:localhost");
        make_cert(&dir, "wrong_host", "ca", "DNS:db.invalid.example");
        // What the server serves: copies, so a case can swap them.
        std::fs::copy(dir.join("good.pem"), dir.join("server.pem")).unwrap();
        std::fs::copy(dir.join("good.key"), dir.join("server.key")).unwrap();
        Pki { dir }
    }
    fn ca(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.pem"))
    }
    fn server_args(&self) -> String {
        let dir = &self.dir;
        format!("--ssl-ca={} --ssl-cert={} --ssl-key={}", dir.join("ca.pem").display(), dir.join("server.pem").display(), dir.join("server.key").display())
    }
    /// Serve certificate `name` from now on.
    fn serve(&self, sb: &Sandbox, name: &str) {
        std::fs::copy(self.dir.join(format!("{name}.pem")), self.dir.join("server.pem")).unwrap();
        std::fs::copy(self.dir.join(format!("{name}.key")), self.dir.join("server.key")).unwrap();
        sb.sql("C", "FLUSH SSL");
    }
}

fn endpoint(sb: &Sandbox, mode: TlsMode, ca: Option<PathBuf>) -> Endpoint {
    Endpoint { port: sb.port("C"), user: "root".into(), tls: TlsConfig { mode, ca }, ..Endpoint::default() }
}

/// The options of every kind of connection parapply opens.
fn builders(ep: &Endpoint) -> Vec<(&'static str, Opts)> {
    vec![
        ("source stream", parapply::source::stream::connection_opts(ep).into()),
        ("target worker", parapply::apply::worker::target_opts(ep)),
        ("heartbeat writer", parapply::heartbeat::opts_for(ep).into()),
        ("shared", parapply::net::opts(ep).into()),
    ]
}

/// Connect with every builder (and the failover probe); Ok(cipher) if all connected, Err(the
/// first error) if all were refused. A mix is a failure of the test: the rules must agree.
async fn try_all(ep: &Endpoint) -> Result<String, String> {
    let mut results: Vec<(String, Result<String, String>)> = Vec::new();
    for (what, opts) in builders(ep) {
        let r = match parapply::net::connect(opts).await {
            Ok(mut c) => {
                let cipher: Option<(String, String)> = c.query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'").await.unwrap();
                let _ = c.disconnect().await;
                Ok(cipher.map(|(_, v)| v).unwrap_or_default())
            }
            Err(e) => Err(e.to_string()),
        };
        results.push((what.to_string(), r));
    }
    let probe = match parapply::failover::probe::connect(ep, std::time::Duration::from_secs(10)).await {
        Ok(mut c) => {
            let cipher: Option<(String, String)> = c.query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'").await.unwrap();
            let _ = c.disconnect().await;
            Ok(cipher.map(|(_, v)| v).unwrap_or_default())
        }
        Err(e) => Err(e.to_string()),
    };
    results.push(("failover probe".into(), probe));
    let oks = results.iter().filter(|(_, r)| r.is_ok()).count();
    assert!(oks == 0 || oks == results.len(), "connection builders disagree: {results:?}");
    results.into_iter().next().unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_trust_only_the_configured_ca() {
    // The certificate files must exist before the server starts.
    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new(tmp.path());
    let sb = Sandbox::start(&["C"], &pki.server_args());

    // The right certificate: every verifying mode connects, encrypted.
    for mode in [TlsMode::VerifyCa, TlsMode::VerifyIdentity] {
        let cipher = try_all(&endpoint(&sb, mode, Some(pki.ca("ca")))).await.unwrap_or_else(|e| panic!("{mode:?} with the right certificate: {e}"));
        assert!(!cipher.is_empty(), "{mode:?}: connection not encrypted");
    }
    // The same certificate checked against another CA is refused.
    for mode in [TlsMode::VerifyCa, TlsMode::VerifyIdentity] {
        let e = try_all(&endpoint(&sb, mode, Some(pki.ca("other_ca")))).await.unwrap_err();
        assert!(e.contains("invalid peer certificate: UnknownIssuer"), "{mode:?}: {e}");
    }
    // `required` encrypts whatever the certificate: no authentication.
    assert!(!try_all(&endpoint(&sb, TlsMode::Required, None)).await.unwrap().is_empty());
    // `disabled` is plain TCP.
    assert_eq!(try_all(&endpoint(&sb, TlsMode::Disabled, None)).await.unwrap(), "");

    // A certificate from another CA, naming the right host: refused by both verifying modes.
    pki.serve(&sb, "foreign");
    for mode in [TlsMode::VerifyCa, TlsMode::VerifyIdentity] {
        let e = try_all(&endpoint(&sb, mode, Some(pki.ca("ca")))).await.unwrap_err();
        assert!(e.contains("invalid peer certificate: UnknownIssuer"), "{mode:?}: {e}");
    }
    assert!(!try_all(&endpoint(&sb, TlsMode::Required, None)).await.unwrap().is_empty(), "required accepts any certificate");

    // The right CA, the wrong host name: verify_identity refuses, verify_ca accepts.
    pki.serve(&sb, "wrong_host");
    let e = try_all(&endpoint(&sb, TlsMode::VerifyIdentity, Some(pki.ca("ca")))).await.unwrap_err();
    assert!(e.contains("certificate not valid for name \"127.0.0.1\""), "{e}");
    let cipher = try_all(&endpoint(&sb, TlsMode::VerifyCa, Some(pki.ca("ca")))).await.unwrap_or_else(|e| panic!("verify_ca with a certificate for another host name: {e}"));
    assert!(!cipher.is_empty());
    // ... but not when that certificate comes from another CA.
    let e = try_all(&endpoint(&sb, TlsMode::VerifyCa, Some(pki.ca("other_ca")))).await.unwrap_err();
    assert!(e.contains("invalid peer certificate: UnknownIssuer"), "{e}");
}
