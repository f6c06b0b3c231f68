//! `tools/hooks/vip-switch-writer`, the MMM-style `on_promote` hook that moves the writer's
//! virtual IP: its exact commands (`--dry-run`), its refusals of values that would reach a
//! remote shell, and a real move between two hosts. The hosts are Linux network namespaces on
//! one bridge with a client that learns addresses from unsolicited ARP; only the transport is
//! replaced (`VIP_SSH` runs the command in a namespace, as sshd runs it in the remote shell);
//! `ip` and `arping` are the real ones. The namespace test needs root, `ip` (iproute2) and
//! `arping` (iputils-arping; `tools/test` installs it). Needs no database server.

use std::path::PathBuf;
use std::process::{Command, Output};

fn hook_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/hooks/vip-switch-writer")
}

/// Run the hook with only `env` of the variables it reads set (none inherited from this process).
fn hook(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(hook_path());
    c.args(args);
    for k in ["VIP", "VIP_INTERFACE", "OLD_WRITER_HOST", "NEW_WRITER_HOST", "VIP_SSH", "VIP_SUDO", "VIP_ARP_COUNT"] {
        c.env_remove(k);
    }
    c.envs(env.iter().copied());
    c.output().expect("run the hook")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_hook_is_valid_bash_and_explains_itself() {
    let out = Command::new("bash").arg("-n").arg(hook_path()).output().unwrap();
    assert!(out.status.success(), "bash -n: {}", text(&out.stderr));
    let out = hook(&["--help"], &[]);
    let help = text(&out.stdout);
    assert!(out.status.success());
    assert!(help.starts_with("tools/hooks/vip-switch-writer — an `on_promote` hook for parapply's failover watcher: moves\n"), "{help}");
    assert!(help.contains("Usage: vip-switch-writer [--vip ADDR/LEN] [--interface IFACE] [--old-host HOST] [--new-host HOST]\n"), "{help}");
    assert!(help.ends_with("with VIP and VIP_INTERFACE in the watcher's environment (systemd: Environment=).\n"), "{help}");
}

const RELEASE: &str = "if ip -o -4 addr show dev eth0 to 10.0.0.100/32 | grep -q .; then ip addr del 10.0.0.100/24 dev eth0; fi";
const TAKEOVER: &str = "(ip -o -4 addr show dev eth0 to 10.0.0.100/32 | grep -q . || ip addr add 10.0.0.100/24 dev eth0) && arping -q -U -c 3 -I eth0 10.0.0.100";

#[test]
fn dry_run_prints_the_exact_commands() {
    // As parapply runs it: the hosts from the environment it sets, the VIP from the watcher's.
    let env = [("OLD_WRITER_HOST", "10.0.0.1"), ("NEW_WRITER_HOST", "10.0.0.2"), ("VIP", "10.0.0.100/24"), ("VIP_INTERFACE", "eth0")];
    let out = hook(&["--dry-run"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let ssh = "ssh -o BatchMode=yes -o ConnectTimeout=5";
    assert_eq!(text(&out.stdout), format!("{ssh} 10.0.0.1 '{RELEASE}'\n{ssh} 10.0.0.2 '{TAKEOVER}'\n"));
    assert_eq!(text(&out.stderr), "");

    // Flags override the environment; sudo and the ARP count go where they belong; `none` runs
    // the commands here.
    let out = hook(
        &["--dry-run", "--vip", "192.168.7.10/32", "--interface", "bond0.12", "--old-host", "db1.example", "--new-host", "db2.example", "--ssh", "none"],
        &[("VIP", "10.0.0.100/24"), ("VIP_SUDO", "sudo -n"), ("VIP_ARP_COUNT", "5")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "sh -c 'if ip -o -4 addr show dev bond0.12 to 192.168.7.10/32 | grep -q .; then sudo -n ip addr del 192.168.7.10/32 dev bond0.12; fi'\n\
         sh -c '(ip -o -4 addr show dev bond0.12 to 192.168.7.10/32 | grep -q . || sudo -n ip addr add 192.168.7.10/32 dev bond0.12) && sudo -n arping -q -U -c 5 -I bond0.12 192.168.7.10'\n"
    );

    // No old writer (an adopted writer): only the takeover.
    let out = hook(&["--dry-run", "--ssh", "ssh"], &[("NEW_WRITER_HOST", "10.0.0.2"), ("VIP", "10.0.0.100/24"), ("VIP_INTERFACE", "eth0")]);
    assert_eq!(text(&out.stdout), format!("ssh 10.0.0.2 '{TAKEOVER}'\n"));
}

#[test]
fn values_that_would_reach_a_shell_are_refused() {
    let ok = [("NEW_WRITER_HOST", "10.0.0.2"), ("VIP", "10.0.0.100/24"), ("VIP_INTERFACE", "eth0")];
    let cases: [(&[&str], &str); 9] = [
        (&["--vip", "10.0.0.100"], "VIP '10.0.0.100' is not an IPv4 address with a prefix length, e.g. 10.0.0.100/24"),
        (&["--vip", "10.0.0.100/24; reboot"], "VIP '10.0.0.100/24; reboot' is not an IPv4 address with a prefix length, e.g. 10.0.0.100/24"),
        (&["--vip", "10.0.0.256/24"], "VIP '10.0.0.256/24' is not an IPv4 address with a prefix length, e.g. 10.0.0.100/24"),
        (&["--interface", "eth0$(id)"], "interface 'eth0$(id)' is not an interface name"),
        (&["--new-host", "-oProxyCommand=sh"], "host '-oProxyCommand=sh' is not a host name or address"),
        (&["--old-host", "a b"], "host 'a b' is not a host name or address"),
        (&["--new-host", "db'2"], "host 'db'2' is not a host name or address"),
        (&["--bogus"], "unknown argument '--bogus' (try --help)"),
        (&["--ssh", "none", "--interface", "-x"], "interface '-x' is not an interface name"),
    ];
    for (args, why) in cases {
        let mut all = vec!["--dry-run"];
        all.extend_from_slice(args);
        let out = hook(&all, &ok);
        assert_eq!((out.status.code(), text(&out.stdout), text(&out.stderr)), (Some(2), String::new(), format!("vip-switch-writer: {why}\n")), "{args:?}");
    }
    let out = hook(&["--dry-run"], &[("NEW_WRITER_HOST", "b")]);
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(2), "vip-switch-writer: no VIP: set VIP=10.0.0.100/24 or pass --vip (try --help)\n".into()));
    let out = hook(&["--dry-run"], &[("NEW_WRITER_HOST", "b"), ("VIP", "10.0.0.100/24")]);
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(2), "vip-switch-writer: no interface: set VIP_INTERFACE=eth0 or pass --interface (try --help)\n".into()));
    let out = hook(&["--dry-run"], &[("VIP", "10.0.0.100/24"), ("VIP_INTERFACE", "eth0")]);
    assert_eq!((out.status.code(), text(&out.stderr)), (Some(2), "vip-switch-writer: no new writer host: NEW_WRITER_HOST is set by parapply, or pass --new-host\n".into()));
}

/// Run a command, which must succeed; its stdout.
fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().expect("sh");
    assert!(out.status.success(), "`{cmd}`: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Three network namespaces, deleted on drop: hosts `a` and `b` (each with `eth0`) and a
/// client `c` whose bridge joins them and which learns neighbours from unsolicited ARP.
struct Lan {
    prefix: String,
}

impl Lan {
    fn ns(&self, x: &str) -> String {
        format!("{}{x}", self.prefix)
    }
    fn start() -> Lan {
        let lan = Lan { prefix: format!("pavip{}", std::process::id()) };
        let (a, b, c) = (lan.ns("a"), lan.ns("b"), lan.ns("c"));
        for n in [&a, &b, &c] {
            sh(&format!("ip netns add {n}"));
        }
        sh(&format!(
            "ip -n {c} link add br0 type bridge && ip -n {c} link add ca type veth peer name eth0 netns {a} && \
             ip -n {c} link add cb type veth peer name eth0 netns {b} && ip -n {c} link set ca master br0 && ip -n {c} link set cb master br0 && \
             for l in lo br0 ca cb; do ip -n {c} link set $l up; done && ip -n {c} addr add 10.77.0.9/24 dev br0 && \
             ip netns exec {c} sysctl -q -w net.ipv4.conf.br0.arp_accept=1 net.ipv4.neigh.br0.locktime=0 && \
             ip -n {a} link set eth0 up && ip -n {a} addr add 10.77.0.1/24 dev eth0 && \
             ip -n {b} link set eth0 up && ip -n {b} addr add 10.77.0.2/24 dev eth0"
        ));
        lan
    }
    /// The IPv4 addresses of `eth0` on host `x`.
    fn addrs(&self, x: &str) -> Vec<String> {
        sh(&format!("ip -n {} -o -4 addr show dev eth0", self.ns(x))).lines().filter_map(|l| l.split_whitespace().nth(3).map(str::to_string)).collect()
    }
    fn mac(&self, x: &str) -> String {
        let link = sh(&format!("ip -n {} -o link show eth0", self.ns(x)));
        link.split("link/ether ").nth(1).and_then(|r| r.split_whitespace().next()).expect("a MAC").to_string()
    }
    /// The MAC the client has for `ip`, if any.
    fn client_sees(&self, ip: &str) -> Option<String> {
        let n = sh(&format!("ip -n {} neigh show {ip} dev br0", self.ns("c")));
        n.split("lladdr ").nth(1).and_then(|r| r.split_whitespace().next()).map(str::to_string)
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for x in ["a", "b", "c"] {
            let _ = Command::new("ip").args(["netns", "del", &self.ns(x)]).output();
        }
    }
}

#[test]
fn moves_the_vip_between_two_hosts_and_the_lan_follows() {
    let root = Command::new("id").arg("-u").output().map(|o| text(&o.stdout).trim() == "0").unwrap_or(false);
    let tools = ["ip", "arping"].iter().all(|t| Command::new("sh").arg("-c").arg(format!("command -v {t}")).output().is_ok_and(|o| o.status.success()));
    if !(root && tools) {
        // tools/test runs as root and installs iputils-arping; a developer without them still
        // gets the dry-run tests above.
        eprintln!("SKIPPED: needs root, ip and arping (root {root}, tools {tools})");
        return;
    }
    let lan = Lan::start();
    let dir = tempfile::tempdir().unwrap();
    // Stands in for ssh: the host is a network namespace; the command runs there through a
    // shell, as sshd runs the command line it receives.
    let transport = dir.path().join("netns-ssh");
    std::fs::write(&transport, "#!/bin/sh\nhost=$1; shift\nexec ip netns exec \"$host\" sh -c \"$*\"\n").unwrap();
    sh(&format!("chmod +x {}", transport.display()));
    let t = transport.to_str().unwrap();
    let (a, b) = (lan.ns("a"), lan.ns("b"));
    let base = [("VIP", "10.77.0.100/24"), ("VIP_INTERFACE", "eth0"), ("VIP_SSH", t), ("VIP_ARP_COUNT", "1")];
    let run = |old: &str, new: &str| {
        let mut env = base.to_vec();
        env.push(("OLD_WRITER_HOST", old));
        env.push(("NEW_WRITER_HOST", new));
        hook(&[], &env)
    };

    // A holds the VIP first (the hook from no writer to A), and the client learns A's MAC.
    let out = run("", &a);
    assert_eq!((out.status.code(), text(&out.stdout), text(&out.stderr)), (Some(0), format!("vip 10.77.0.100/24 (eth0): writer (none) -> {a}\n"), String::new()));
    assert_eq!(lan.addrs("a"), ["10.77.0.1/24", "10.77.0.100/24"]);
    assert_eq!(lan.client_sees("10.77.0.100"), Some(lan.mac("a")));

    // Failover A -> B: gone from A, on B, and the client's ARP entry moved with it.
    let out = run(&a, &b);
    assert_eq!((out.status.code(), text(&out.stdout), text(&out.stderr)), (Some(0), format!("vip 10.77.0.100/24 (eth0): writer {a} -> {b}\n"), String::new()));
    assert_eq!(lan.addrs("a"), ["10.77.0.1/24"]);
    assert_eq!(lan.addrs("b"), ["10.77.0.2/24", "10.77.0.100/24"]);
    assert_eq!(lan.client_sees("10.77.0.100"), Some(lan.mac("b")));

    // Again (a retried hook): the same end state, the VIP once.
    let out = run(&a, &b);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!((lan.addrs("a"), lan.addrs("b")), (vec!["10.77.0.1/24".to_string()], vec!["10.77.0.2/24".to_string(), "10.77.0.100/24".to_string()]));

    // The old host unreachable (the usual failover): said, and the takeover still happens.
    let gone = lan.ns("gone");
    let out = run(&gone, &b);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).ends_with(&format!("vip-switch-writer: could not release 10.77.0.100/24 on {gone} (down or unreachable?); going on: the unsolicited ARP from {b} moves the clients\n")),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(lan.addrs("b"), ["10.77.0.2/24", "10.77.0.100/24"]);

    // The new host unreachable: exit 1 (the switch log records the hook as failed).
    let out = run(&b, &gone);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).ends_with(&format!("vip-switch-writer: could not take over 10.77.0.100/24 on {gone} (eth0)\n")), "{}", text(&out.stderr));
}
