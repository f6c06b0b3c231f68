//! Only the watcher's path to A fails (its A address goes through a TCP proxy the test pauses)
//! while B still replicates from A: the second channel vetoes, nothing is promoted, and the
//! decision is logged. When the path comes back the watcher is healthy again.

mod common;
mod failover_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Sandbox;
use failover_support::*;

/// A TCP forwarder; while paused, new connections are accepted and then left unanswered (a
/// black hole), and data on existing ones stops flowing.
struct Proxy {
    port: u16,
    paused: Arc<AtomicBool>,
    _rt: tokio::runtime::Runtime,
}

fn start_proxy(upstream: u16) -> Proxy {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let paused = Arc::new(AtomicBool::new(false));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    let p = paused.clone();
    rt.spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((client, _)) = listener.accept().await else { continue };
            if p.load(Ordering::Relaxed) {
                held.push(client);
                continue;
            }
            let p = p.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await else { return };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let gate = |p: Arc<AtomicBool>| async move {
                    while p.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                let p2 = p.clone();
                let up = async move {
                    let mut buf = vec![0u8; 16384];
                    loop {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let n = match cr.read(&mut buf).await { Ok(0) | Err(_) => break, Ok(n) => n };
                        gate(p.clone()).await;
                        if sw.write_all(&buf[..n]).await.is_err() { break; }
                    }
                };
                let down = async move {
                    let mut buf = vec![0u8; 16384];
                    loop {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let n = match sr.read(&mut buf).await { Ok(0) | Err(_) => break, Ok(n) => n };
                        gate(p2.clone()).await;
                        if cw.write_all(&buf[..n]).await.is_err() { break; }
                    }
                };
                tokio::join!(up, down);
            });
        }
    });
    Proxy { port, paused, _rt: rt }
}

#[test]
fn watcher_path_failure_alone_is_no_failover() {
    let sb = Sandbox::start(&["A", "B"], "");
    setup_app(&sb);
    let proxy = start_proxy(sb.port("A"));
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("switch.jsonl");
    let mut cfg = config(&sb, &log_path);
    cfg.servers[0].endpoint = ep(proxy.port);
    let w = RunningWatcher::start(cfg, None);
    w.wait_state("healthy", 20);
    let load = Load::start(vec![sb.port("A"), sb.port("B")], "1", Duration::from_millis(5));

    proxy.paused.store(true, Ordering::Relaxed);
    w.wait_state("writer_unreachable_from_watcher", 30);
    std::thread::sleep(Duration::from_secs(4));
    let st = w.state.snapshot();
    assert_eq!((st.state.as_str(), st.promotions), ("writer_unreachable_from_watcher", 0));
    assert!(st.misses >= 3, "{st:?}");
    assert_eq!(sb.sql("B", "SELECT @@read_only"), "1");
    assert_eq!(sb.sql("A", "SELECT @@read_only"), "0", "A was not fenced");
    let entries = entries(&log_path);
    assert!(entries.iter().all(|e| e.event != "failover" && e.event != "failover_blocked"), "{entries:#?}");
    let vetoes: Vec<_> = entries.iter().filter(|e| e.event == "no_failover").collect();
    assert_eq!(vetoes.len(), 1, "{entries:#?}");
    assert_eq!(vetoes[0].reasons, vec!["only the watcher's path to A fails: B still replicate(s) from it".to_string()]);
    assert!(vetoes[0].checks.iter().any(|c| c.name == "B.second_channel" && c.result == "fail" && c.detail.starts_with("still replicating")), "{:#?}", vetoes[0].checks);

    proxy.paused.store(false, Ordering::Relaxed);
    w.wait_state("healthy", 20);
    let r = load.stop();
    assert!(r.ok.iter().all(|(_, p, _)| *p == sb.port("A")), "every write went to A");
}
