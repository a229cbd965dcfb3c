//! Buying useful work end to end with real processes: `ankr devnet` mining by PoUW (with its
//! `ankr attest` process), and `ankr work submit | status | result | withdraw` as a provider
//! runs them. The miner runs each task in its simulated enclave, delivers an attested result,
//! and is paid from the escrow; the provider gets the result and the rest of the escrow.

use alloy_primitives::{U256, hex};
use ankr_enclave::{Limits, Runtime};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{Process, devnet, free_ports};

/// Runs `ankr args…` to completion.
fn ankr(args: &[&str]) -> Output {
    common::ankr().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn workload(name: &str) -> String {
    format!(
        "{}/../../workloads/wasm/{name}.wasm",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn a_provider_buys_work_and_a_miner_is_paid_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_ports(3);
    let url = format!("http://127.0.0.1:{port}");
    // SIGKILLed on drop: the attestation child notices its closed stdin and exits too.
    let _devnet = Process(
        devnet(dir.path(), port, 3)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "devnet did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let accounts = ankr_node::devnet::accounts();
    let provider_key = hex::encode(accounts[3].secret.secret_bytes());
    let common = ["--rpc", url.as_str(), "--key", provider_key.as_str()];

    // A real workload: SHA-256 over 16 KiB generated from the seed "abc".
    let input = dir.path().join("input");
    std::fs::write(&input, [&16u32.to_le_bytes()[..], b"abc"].concat()).unwrap();
    let sha = workload("sha256");
    let submit = ankr(
        &[
            &["work", "submit"][..],
            &common,
            &[
                "--module",
                &sha,
                "--input",
                input.to_str().unwrap(),
                "--price",
                "10",
                "--max-instructions",
                "100000000",
            ],
        ]
        .concat(),
    );
    assert!(submit.status.success(), "{}", text(&submit.stderr));
    let posted = text(&submit.stdout);
    assert!(posted.starts_with("task 1 posted"), "{posted}");

    // The miner picks it up, runs it in its enclave and delivers within a few blocks.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let status = ankr(&["work", "status", "1", "--rpc", &url]);
        let out = text(&status.stdout);
        if out.contains("delivered") {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "not delivered: {out}{}",
            text(&status.stderr)
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(status.contains("completed"), "{status}");
    let miner = ankr_node::devnet::miner_account(0).address.to_string();
    assert!(status.contains(&miner), "{status}");

    // The result is the one the same module gives locally, instruction for instruction.
    let local = Runtime::new(Limits::default()).run(
        &std::fs::read(&sha).unwrap(),
        &std::fs::read(&input).unwrap(),
        100_000_000,
    );
    let result = ankr(&["work", "result", "1", "--rpc", &url]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    assert_eq!(result.stdout, local.output);
    assert!(
        status.contains(&format!("instructions  {}", local.instructions)),
        "{status}"
    );

    // A task that traps is delivered with its failure, and the miner is paid for what ran.
    let trap = dir.path().join("trap.wasm");
    std::fs::write(
        &trap,
        wat::parse_str(r#"(module (func (export "_start") (loop br 0)))"#).unwrap(),
    )
    .unwrap();
    let submit = ankr(
        &[
            &["work", "submit"][..],
            &common,
            &[
                "--module",
                trap.to_str().unwrap(),
                "--price",
                "1",
                "--max-instructions",
                "5000000",
            ],
        ]
        .concat(),
    );
    assert!(submit.status.success(), "{}", text(&submit.stderr));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = text(&ankr(&["work", "status", "2", "--rpc", &url]).stdout);
        if out.contains("delivered") {
            assert!(out.contains("instruction budget exhausted"), "{out}");
            assert!(out.contains("instructions  5000000"), "{out}");
            break;
        }
        assert!(Instant::now() < deadline, "not delivered: {out}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let failed = ankr(&["work", "result", "2", "--rpc", &url]);
    assert!(!failed.status.success());
    assert!(text(&failed.stderr).contains("instruction budget exhausted"));

    // A module that is not wasm is refused before anything is posted.
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not wasm").unwrap();
    let refused = ankr(
        &[
            &["work", "submit"][..],
            &common,
            &["--module", junk.to_str().unwrap()],
        ]
        .concat(),
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("cannot be useful work"),
        "{}",
        text(&refused.stderr)
    );

    // The provider withdraws the unspent escrow: budget − used, for both tasks.
    let withdraw = ankr(&[&["work", "withdraw"][..], &common].concat());
    assert!(withdraw.status.success(), "{}", text(&withdraw.stderr));
    let expected = U256::from(10u64) * U256::from(100_000_000u64 - local.instructions);
    assert!(
        text(&withdraw.stdout).contains(&format!("withdrew {expected} wei")),
        "{}",
        text(&withdraw.stdout)
    );
}
