//! What the process tests share: `ankr` processes killed on drop, JSON-RPC over plain HTTP,
//! and a PoUW network assembled as an operator would (attestation service, enclaves, spec).
#![allow(dead_code)] // each test file uses its own part

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Spawns `command` with its stdout read line by line on a thread: the process (killed on
/// drop) and the lines as they come.
pub fn spawn_with_lines(mut command: Command) -> (Process, std::sync::mpsc::Receiver<String>) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    (Process(child), received)
}

/// A child process, SIGKILLed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn ankr() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ankr"))
}

/// `ankr devnet` with `nodes` nodes, 1 s blocks, JSON-RPC from `port` (see [`free_ports`]),
/// free p2p and Plasma operator ports, no EVM child chains (their fixed default ports could be
/// taken, and the tests using this do not need them: `devnet.rs` runs them), data in `dir`,
/// warnings only; the caller picks stdout and spawns it (into a [`Process`]).
pub fn devnet(dir: &Path, port: u16, nodes: u32) -> Command {
    let mut command = ankr();
    command
        .args(["devnet", "--nodes", &nodes.to_string(), "--block-time", "1"])
        .args([
            "--p2p-port",
            "0",
            "--plasma-port",
            "0",
            "--no-child-chains",
            "--port",
            &port.to_string(),
            "--dir",
        ])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    command
}

/// A free port on 127.0.0.1 for one node's JSON-RPC.
pub fn free_port() -> u16 {
    free_ports(1)
}

/// A port p such that p … p + `count` − 1 are free on 127.0.0.1, for a devnet whose node i
/// serves JSON-RPC on p + i. Drawn below Linux's ephemeral range (32768–60999): a port the
/// kernel handed out for `bind(0)` has neighbours that the devnet's own port-0 listeners and
/// outgoing connections may take before its later nodes bind them, which made a three-node
/// devnet exit a second after its first node answered.
pub fn free_ports(count: u16) -> u16 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let mut state = (u64::from(std::process::id()) << 32) | u64::from(nanos);
    loop {
        // A linear congruential step (Knuth's MMIX constants): tests started together in one
        // process, or in two, draw different ports without a random-number crate.
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let first = 20_000 + ((state >> 33) % 12_000) as u16;
        if (0..count).all(|i| std::net::TcpListener::bind(("127.0.0.1", first + i)).is_ok()) {
            return first;
        }
    }
}

/// One JSON-RPC call to 127.0.0.1:`port`; `None` if the node is not answering (yet).
pub fn rpc(port: u16, method: &str, params: Value) -> Option<Value> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let body = answer.split("\r\n\r\n").nth(1)?;
    let value: Value = serde_json::from_str(body).ok()?;
    value.get("result").cloned()
}

pub fn hex_u64(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

pub fn block_number(port: u16) -> Option<u64> {
    rpc(port, "eth_blockNumber", json!([])).map(|v| hex_u64(&v))
}

/// The canonical block hash at `number` on the node at `port`.
pub fn block_hash(port: u16, number: u64) -> Option<String> {
    let block = rpc(
        port,
        "eth_getBlockByNumber",
        json!([format!("0x{number:x}"), false]),
    )?;
    Some(block.get("hash")?.as_str()?.to_string())
}

/// Waits up to `limit` for `done`, failing with `what`.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The attestation service, simulated enclaves and a chain spec trusting both, made with the
/// CLI in a temporary folder.
pub struct PouwNetwork {
    pub dir: tempfile::TempDir,
    _attest: Process,
    pub url: String,
    pub spec: PathBuf,
}

/// An `ankr node` process.
pub struct NodeProcess {
    pub process: Process,
    pub rpc: u16,
    /// Its p2p multiaddr with `/p2p/<peer id>`.
    pub p2p: String,
}

impl PouwNetwork {
    /// `nodes` enclaves registered at genesis, 1 s block target.
    pub fn new(nodes: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut attest = ankr()
            .args([
                "attest",
                "--exit-with-stdin",
                "--listen",
                "127.0.0.1:0",
                "--dir",
            ])
            .arg(dir.path().join("attest"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(attest.stdout.take().unwrap()).lines();
        let mut field = |prefix: &str| {
            let line = lines.next().unwrap().unwrap();
            line.strip_prefix(prefix).unwrap().trim().to_string()
        };
        let root = field("root ");
        let url = field("listening ");
        let mut spec = ankr();
        spec.args(["spec", "pouw", "--attestation-root", &root]);
        for i in 0..nodes {
            let enclave = ankr()
                .args(["enclave", "--dir"])
                .arg(Self::node_dir_in(dir.path(), i).join("enclave"))
                .output()
                .unwrap();
            assert!(enclave.status.success());
            // The simulated manufacturer provisions the platform, as an operator would.
            let provisioned = ankr()
                .args(["attest", "provision", "--dir"])
                .arg(dir.path().join("attest"))
                .arg(Self::node_dir_in(dir.path(), i).join("enclave"))
                .output()
                .unwrap();
            assert!(provisioned.status.success(), "{provisioned:?}");
            let bootstrap = String::from_utf8(enclave.stdout)
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("bootstrap").map(|b| b.trim().to_string()))
                .unwrap();
            spec.args(["--bootstrap", &bootstrap]);
            let key = ankr_node::devnet::miner_account(i as u32)
                .secret
                .secret_bytes();
            std::fs::write(
                Self::node_dir_in(dir.path(), i).join("miner.key"),
                alloy_primitives::hex::encode(key),
            )
            .unwrap();
        }
        let spec = spec.output().unwrap();
        assert!(spec.status.success());
        let text = String::from_utf8(spec.stdout)
            .unwrap()
            .replace("target_block_time_ms = 2000", "target_block_time_ms = 1000");
        let spec = dir.path().join("spec.toml");
        std::fs::write(&spec, text).unwrap();
        Self {
            dir,
            _attest: Process(attest),
            url,
            spec,
        }
    }

    fn node_dir_in(dir: &Path, i: usize) -> PathBuf {
        dir.join(format!("node{i}"))
    }

    pub fn node_dir(&self, i: usize) -> PathBuf {
        Self::node_dir_in(self.dir.path(), i)
    }

    /// Starts mining node `i` (resuming its folder), dialling `boot_peers`, with `extra`
    /// arguments; waits for its p2p address.
    pub fn start_miner(&self, i: usize, boot_peers: &[String], extra: &[&str]) -> NodeProcess {
        let dir = self.node_dir(i);
        let mut args: Vec<String> = vec!["--mine".into(), "--attestation".into(), self.url.clone()];
        args.push("--miner-key".into());
        args.push(dir.join("miner.key").display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        start_node(&dir, &self.spec, boot_peers, &args)
    }
}

/// Starts `ankr node` on `dir` with `spec`, p2p on a free port, dialling `boot_peers`.
pub fn start_node(dir: &Path, spec: &Path, boot_peers: &[String], extra: &[String]) -> NodeProcess {
    let rpc = free_port();
    let mut command = ankr();
    command
        .arg("node")
        .arg("--dir")
        .arg(dir)
        .arg("--chain-spec")
        .arg(spec)
        .args(["--rpc", &format!("127.0.0.1:{rpc}")])
        .args(["--p2p", "/ip4/127.0.0.1/tcp/0"])
        .args(extra);
    for peer in boot_peers {
        command.args(["--boot-peer", peer]);
    }
    let log = std::fs::File::create(dir.with_extension(format!("{rpc}.log"))).unwrap();
    let mut child = command
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let p2p = loop {
        let line = lines
            .next()
            .expect("the node exited before listening")
            .unwrap();
        if let Some(addr) = line.strip_prefix("p2p ") {
            break addr.to_string();
        }
    };
    // Keep draining stdout so that the node never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    NodeProcess {
        process: Process(child),
        rpc,
        p2p,
    }
}

impl Drop for PouwNetwork {
    /// A failing test prints the last lines of every node's log (the logs live in the
    /// temporary folder, which goes with the network), so that a CI failure can be read.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(self.dir.path()) else {
            return;
        };
        let mut logs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        logs.sort();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("---- last lines of {} ----", log.display());
            for line in &lines[lines.len().saturating_sub(60)..] {
                eprintln!("{line}");
            }
        }
    }
}
