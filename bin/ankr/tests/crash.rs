//! Kill `ankr devnet` with SIGKILL while it mines by useful work, restart it on the same
//! folder (same attestation root, same enclave, same chain): every block and receipt it had
//! answered for is still there, state matches the blocks, and mining goes on.

mod common;

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, TxKind, U256, hex};
use ankr_node::devnet;
use ankr_types::recovery::sign_transaction;
use jsonrpsee::core::{client::ClientT, params::ArrayParams};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Devnet {
    child: Child,
    client: HttpClient,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(dir: &std::path::Path, port: u16) -> Devnet {
    let child = Command::new(env!("CARGO_BIN_EXE_ankr"))
        .args([
            "devnet",
            "--block-time",
            "1",
            "--nodes",
            "1",
            "--p2p-port",
            "0",
            "--port",
            &port.to_string(),
            "--dir",
        ])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client = HttpClientBuilder::default()
        .build(format!("http://127.0.0.1:{port}"))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while rpc(&client, "eth_chainId", json!([])).await.is_err() {
        assert!(Instant::now() < deadline, "devnet did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Devnet { child, client }
}

async fn rpc(client: &HttpClient, method: &str, params: Value) -> Result<Value, String> {
    let mut array = ArrayParams::new();
    for p in params.as_array().unwrap() {
        array.insert(p).unwrap();
    }
    client
        .request::<Value, _>(method, array)
        .await
        .map_err(|e| e.to_string())
}

fn quantity(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_mining_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let key = devnet::accounts()[0].secret;
    let to = Address::repeat_byte(0x42);

    let node = start(dir.path(), port).await;
    let mut confirmed = Vec::new();
    for nonce in 0..20u64 {
        let tx = sign_transaction(
            &key,
            TxEip1559 {
                chain_id: devnet::DEVNET_CHAIN_ID,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(to),
                value: U256::from(1000),
                ..Default::default()
            },
        );
        let raw = format!("0x{}", hex::encode(tx.encoded_2718()));
        let hash = rpc(&node.client, "eth_sendRawTransaction", json!([raw]))
            .await
            .unwrap();
        if nonce % 4 == 0 {
            // Wait for some receipts so that we know of blocks the node has committed.
            for _ in 0..1000 {
                let receipt = rpc(&node.client, "eth_getTransactionReceipt", json!([hash]))
                    .await
                    .unwrap();
                if !receipt.is_null() {
                    confirmed.push((hash.clone(), receipt["blockHash"].clone()));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    drop(node); // SIGKILL, very likely in the middle of mining the remaining transactions

    let node = start(dir.path(), port).await;
    assert!(!confirmed.is_empty());
    for (hash, block_hash) in &confirmed {
        let receipt = rpc(&node.client, "eth_getTransactionReceipt", json!([hash]))
            .await
            .unwrap();
        assert_eq!(
            &receipt["blockHash"], block_hash,
            "a confirmed receipt survived the kill"
        );
    }
    // State agrees with the blocks: the sender's nonce counts the mined transfers and the
    // recipient holds 1000 wei for each.
    let head = quantity(
        &rpc(&node.client, "eth_blockNumber", json!([]))
            .await
            .unwrap(),
    );
    // The devnet's own traffic (miner registrations, the oracle) shares the blocks: count the
    // sender's transfers only.
    let sender = format!("{:?}", devnet::accounts()[0].address);
    let mut mined = 0u64;
    for number in 1..=head {
        let block = rpc(
            &node.client,
            "eth_getBlockByNumber",
            json!([format!("{number:#x}"), true]),
        )
        .await
        .unwrap();
        mined += block["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|tx| {
                tx["from"]
                    .as_str()
                    .is_some_and(|from| from.eq_ignore_ascii_case(&sender))
            })
            .count() as u64;
    }
    let nonce = quantity(
        &rpc(
            &node.client,
            "eth_getTransactionCount",
            json!([sender, "latest"]),
        )
        .await
        .unwrap(),
    );
    assert_eq!(nonce, mined);
    let balance = rpc(
        &node.client,
        "eth_getBalance",
        json!([format!("{to:?}"), "latest"]),
    )
    .await
    .unwrap();
    assert_eq!(
        U256::from_str_radix(balance.as_str().unwrap().trim_start_matches("0x"), 16).unwrap(),
        U256::from(1000 * mined)
    );
    // And the restarted node mines on.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = quantity(
            &rpc(&node.client, "eth_blockNumber", json!([]))
                .await
                .unwrap(),
        );
        if now > head {
            break;
        }
        assert!(Instant::now() < deadline, "no block after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
