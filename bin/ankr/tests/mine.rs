//! A PoUW network assembled by hand from the command line, as an operator would: the
//! attestation service, an enclave, a chain spec that trusts both, and `ankr node --mine`.
//! The node mines, is killed with SIGKILL, and resumes mining on the same chain.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ankr() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ankr"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn block_number(port: u16) -> Option<u64> {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    use std::io::{Read, Write};
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let hex = answer.split("\"result\":\"0x").nth(1)?.split('"').next()?;
    u64::from_str_radix(hex, 16).ok()
}

fn wait_for_block(port: u16, at_least: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(n) = block_number(port).filter(|&n| n >= at_least) {
            return n;
        }
        assert!(
            Instant::now() < deadline,
            "no block {at_least} on port {port}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_operator_assembles_a_pouw_chain_and_the_miner_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);

    let mut attest = ankr()
        .args([
            "attest",
            "--exit-with-stdin",
            "--listen",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(path("attest"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(attest.stdout.take().unwrap()).lines();
    let root = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("root ")
        .unwrap()
        .to_string();
    let url = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("listening ")
        .unwrap()
        .to_string();
    let _attest = Process(attest);

    let enclave = ankr()
        .args(["enclave", "--dir"])
        .arg(path("node/enclave"))
        .output()
        .unwrap();
    assert!(enclave.status.success());
    let enclave = String::from_utf8(enclave.stdout).unwrap();
    assert!(enclave.contains("SIMULATED"), "{enclave}");
    let bootstrap = enclave
        .lines()
        .find_map(|l| l.strip_prefix("bootstrap"))
        .unwrap()
        .trim()
        .to_string();

    let spec = ankr()
        .args([
            "spec",
            "pouw",
            "--attestation-root",
            &root,
            "--bootstrap",
            &bootstrap,
        ])
        .output()
        .unwrap();
    assert!(
        spec.status.success(),
        "{}",
        String::from_utf8_lossy(&spec.stderr)
    );
    std::fs::write(path("spec.toml"), &spec.stdout).unwrap();
    let key = ankr_node::devnet::accounts()[1].secret.secret_bytes();
    std::fs::write(path("miner.key"), alloy_primitives::hex::encode(key)).unwrap();

    let port = free_port();
    let start_node = || {
        Process(
            ankr()
                .args(["node", "--mine", "--attestation", &url, "--rpc"])
                .arg(format!("127.0.0.1:{port}"))
                .arg("--dir")
                .arg(path("node"))
                .arg("--chain-spec")
                .arg(path("spec.toml"))
                .arg("--miner-key")
                .arg(path("miner.key"))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let node = start_node();
    let before = wait_for_block(port, 3);
    drop(node); // SIGKILL, whatever it was doing
    let _node = start_node();
    let after = wait_for_block(port, before + 2);
    assert!(after >= before + 2);
}
