//! Child chains as a user meets them: `ankr devnet` runs two, and `ankr plasma deposit | send |
//! balance | utxos | exit | finalize | watch` work against the first from the command line.

mod common;

use common::*;
use std::time::{Duration, Instant};

fn plasma(rpc: &str, operator: &str, key: &str, args: &[&str]) -> String {
    let output = ankr()
        .args([
            "plasma",
            "--rpc",
            rpc,
            "--operator",
            operator,
            "--key",
            key,
            "--timeout",
            "60",
        ])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "ankr plasma {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn the_devnet_runs_two_child_chains_that_the_cli_uses() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (_devnet, received) = spawn_with_lines(devnet(dir.path(), port, 1));
    let mut operators = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while operators.len() < 2 {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the devnet's child chains never came up");
        assert!(!line.contains("could not start"), "{line}");
        if let Some(rest) = line.split("operator JSON-RPC ").nth(1) {
            operators.push(rest.split_whitespace().next().unwrap().to_string());
        }
    }
    let rpc = format!("http://127.0.0.1:{port}");
    let alice =
        alloy_primitives::hex::encode(ankr_node::devnet::accounts()[1].secret.secret_bytes());
    let bob = ankr_node::devnet::accounts()[2].address.to_string();
    let bob_key =
        alloy_primitives::hex::encode(ankr_node::devnet::accounts()[2].secret.secret_bytes());
    let watch_dir = dir.path().join("bob-watch");
    let mut watch = ankr();
    watch
        .args(["plasma", "--rpc", &rpc, "--operator", &operators[0]])
        .args(["--key", &bob_key, "watch", "--dir"])
        .arg(&watch_dir)
        .env("RUST_LOG", "warn");
    let (_watch, watched) = spawn_with_lines(watch);

    let deposited = plasma(&rpc, &operators[0], &alice, &["deposit", "3"]);
    assert!(
        deposited.starts_with("deposited 3 ANKR: output 1:0:0"),
        "{deposited}"
    );
    let sent = plasma(&rpc, &operators[0], &alice, &["send", "--to", &bob, "1.25"]);
    assert!(sent.contains("transaction 1000:0 (confirmed)"), "{sent}");
    // Bob's watcher checked the block and keeps the confirm signatures of his payment.
    let mut said = Vec::new();
    while !said
        .iter()
        .any(|l: &String| l.contains("of 1 transactions of block 1000"))
    {
        let line = watched
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the watcher said only {said:?}"));
        said.push(line);
    }
    assert!(said[0].starts_with("watching 0x"), "{said:?}");
    assert!(
        said.iter().any(|l| l.contains("block 1000 checks out")),
        "{said:?}"
    );
    assert!(watch_dir.join("watcher.redb").exists());
    assert_eq!(
        plasma(&rpc, &operators[0], &alice, &["balance"]).trim(),
        "1.75 ANKR"
    );
    assert_eq!(
        plasma(&rpc, &operators[0], &alice, &["balance", &bob]).trim(),
        "1.25 ANKR"
    );
    assert_eq!(
        plasma(&rpc, &operators[0], &alice, &["utxos"]).trim(),
        "1000:0:1  1.75 ANKR"
    );
    // The second chain is separate.
    assert_eq!(
        plasma(&rpc, &operators[1], &alice, &["balance"]).trim(),
        "0 ANKR"
    );
    let exit = plasma(&rpc, &operators[0], &alice, &["exit", "1000:0:1"]);
    assert!(exit.starts_with("exit of 1000:0:1 started"), "{exit}");
    assert_eq!(
        plasma(&rpc, &operators[0], &alice, &["finalize"]).trim(),
        "0 exits paid",
        "the devnet's exits mature in minutes"
    );
    // Once the operator has followed the exit (a block deep), the output is no longer spendable.
    wait_until(
        "the operator locks the exiting output",
        Duration::from_secs(30),
        || plasma(&rpc, &operators[0], &alice, &["balance"]).trim() == "0 ANKR",
    );
}
