//! `ankr devnet --nodes 3` as a user runs it: three mining nodes in one network on loopback,
//! node i answering JSON-RPC on port + i; they agree on one chain and see each other.

use jsonrpsee::core::{client::ClientT, params::ArrayParams};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;
use common::{Process, devnet};

/// A port p such that p, p + 1 and p + 2 are free.
fn three_free_ports() -> u16 {
    loop {
        let first = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if first < 60_000
            && (1..3).all(|i| std::net::TcpListener::bind(("127.0.0.1", first + i)).is_ok())
        {
            return first;
        }
    }
}

async fn rpc(client: &HttpClient, method: &str, params: Value) -> Option<Value> {
    let mut array = ArrayParams::new();
    for p in params.as_array().unwrap() {
        array.insert(p).unwrap();
    }
    client.request::<Value, _>(method, array).await.ok()
}

fn number(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_mine_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let port = three_free_ports();
    let _devnet = Process(
        devnet(dir.path(), port, 3)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let clients: Vec<HttpClient> = (0..3)
        .map(|i| {
            HttpClientBuilder::default()
                .build(format!("http://127.0.0.1:{}", port + i))
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut heads = Vec::new();
        let mut third = Vec::new();
        for client in &clients {
            heads.push(
                rpc(client, "eth_blockNumber", json!([]))
                    .await
                    .map(|v| number(&v)),
            );
            third.push(
                rpc(client, "eth_getBlockByNumber", json!(["0x3", false]))
                    .await
                    .and_then(|b| b.get("hash").cloned()),
            );
        }
        let agreed = third[0].is_some() && third.iter().all(|h| h == &third[0]);
        if heads.iter().all(|h| h.is_some_and(|h| h >= 5)) && agreed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "heads {heads:?}, block 3 {third:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for client in &clients {
        let peers = rpc(client, "net_peerCount", json!([])).await.unwrap();
        assert!(number(&peers) >= 1, "{peers}");
    }
    let status = rpc(&clients[0], "ankr_pouwStatus", json!([]))
        .await
        .unwrap();
    assert_eq!(status["enclaves"].as_array().unwrap().len(), 3, "{status}");
}
