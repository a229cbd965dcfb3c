//! `ankr devnet --nodes 3` as a user runs it: three mining nodes in one network on loopback,
//! node i answering JSON-RPC on port + i; they agree on one chain and see each other.

use jsonrpsee::core::{client::ClientT, params::ArrayParams};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;
use common::{Process, devnet};

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
    let port = common::free_ports(3);
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

/// The console a person sees: the banner once everything runs (child chains included), then
/// one line per block naming its sealer, and under it the events of the tree (here the
/// oracle demonstration's answer and the child chains' commitments); the full log goes to
/// `devnet.log` in the data folder.
#[test]
fn the_console_shows_one_line_per_block_and_the_trees_events_after_the_banner() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut command = common::ankr();
    command
        .args([
            "devnet",
            "--nodes",
            "1",
            "--block-time",
            "1",
            "--p2p-port",
            "0",
        ])
        .args([
            "--plasma-port",
            "0",
            "--child-port",
            "0",
            "--port",
            &port.to_string(),
            "--dir",
        ])
        .arg(dir.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _devnet = Process(child);
    let (lines_tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if lines_tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });

    let deadline = Instant::now() + Duration::from_secs(240);
    let mut seen = Vec::new();
    let mut banner_at = None;
    let mut blocks_after_banner = 0;
    let (mut oracle_answer, mut child_block) = (false, false);
    while !(blocks_after_banner >= 3 && oracle_answer && child_block) {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = lines.recv_timeout(left) else {
            panic!(
                "the console did not show it all in time:\n{}",
                seen.join("\n")
            );
        };
        if line.contains("ankr devnet") && line.trim() == "ankr devnet" {
            banner_at = Some(seen.len());
        }
        if banner_at.is_some() && line.trim_start().starts_with("block ") {
            assert!(line.contains("sealed by node 0 (PoUW"), "{line}");
            blocks_after_banner += 1;
        }
        // The demonstration's request is often answered before the banner: then its own line
        // says so, and the console's (decoded from the block) is not shown.
        oracle_answer |= line.contains("oracle: request 1 answered (code 0)")
            || line.contains("oracle: PriceConsumer received ANKR/USD");
        child_block |= line.contains(" committed") || line.contains(": Plasma block ");
        seen.push(line);
    }
    // The banner lists every child chain: nothing of the start-up comes after it but blocks.
    let banner = banner_at.unwrap();
    assert!(
        seen[banner..]
            .iter()
            .any(|l| l.contains("evm child chain: e-commerce"))
    );
    assert!(
        seen[banner..]
            .iter()
            .any(|l| l.contains("plasma: child chain \"payments\""))
    );
    assert!(seen[banner..].iter().any(|l| l.contains("/explorer")));
    // The relay and each Plasma operator serve their own figures at /metrics.
    let relay_metrics = url_after(&seen, "), metrics ");
    let mut delivered = String::new();
    common::wait_until(
        "the relay's delivery in its metrics",
        Duration::from_secs(60),
        || {
            delivered = http_get(&relay_metrics).unwrap_or_default();
            sample(&delivered, "ankr_oracle_deliveries_total").is_some_and(|n| n >= 1.0)
        },
    );
    assert!(sample(&delivered, "ankr_oracle_answers_total").unwrap() >= 1.0);
    assert!(sample(&delivered, "ankr_oracle_delivery_blocks_sum").is_some());
    let operator = url_after(&seen, "\"payments\" · RootChain");
    let operator = operator[operator.find("http://").unwrap()..].to_string();
    let plasma = http_get(&format!("{operator}/metrics")).expect("the operator serves /metrics");
    assert!(
        sample(&plasma, "ankr_plasma_next_block").unwrap() >= 1000.0,
        "{plasma}"
    );
    assert!(
        sample(&plasma, "ankr_plasma_blocks_submitted_total").is_some(),
        "{plasma}"
    );
    // The logs went to the file, not here.
    assert!(
        !seen.iter().any(|l| l.contains(" INFO ")),
        "{}",
        seen.join("\n")
    );
    let log = std::fs::read_to_string(dir.path().join("devnet.log")).unwrap();
    assert!(log.contains(" INFO "), "devnet.log holds the full log");
}

/// The first URL after `marker` in the console's lines.
fn url_after(lines: &[String], marker: &str) -> String {
    let line = lines
        .iter()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no line with {marker:?}"));
    let rest = &line[line.find(marker).unwrap() + marker.len()..];
    let start = rest
        .find("http://")
        .map(|i| i + line.len() - rest.len())
        .unwrap_or(0);
    line[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

/// GET `url` (http://127.0.0.1:port/path); the body, or `None` if nothing answers.
fn http_get(url: &str) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(host).ok()?;
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        if path.is_empty() { "/" } else { path }
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    Some(answer.split("\r\n\r\n").nth(1)?.to_string())
}

/// The value of Prometheus sample `name` in `text`.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}
