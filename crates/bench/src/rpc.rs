//! Signed transfers through JSON-RPC until their receipts exist, against parallel signature
//! recovery of the same transactions.

//! `ankr bench`: the node's speed as ratios against baselines measured in the same run, because
//! these machines are noisy: raw revm for execution, parallel libsecp256k1 recovery for
//! end-to-end throughput, an in-memory HashBuilder for the state root.

use alloy_eips::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, hex};
use ankr_types::{TxEnvelope, recover_senders, recovery::address_of};
use jsonrpsee::core::{client::ClientT, params::BatchRequestBuilder};
use std::time::{Duration, Instant};

use crate::fixtures::{key, signed, spec};
use crate::measure::{best_of, rate};

/// Concurrent JSON-RPC clients in the end-to-end run.
const CLIENTS: usize = 4;

pub(crate) async fn end_to_end(n: usize) -> anyhow::Result<()> {
    println!(
        "== end to end: signed transfers through JSON-RPC until their receipts exist, {n} transactions"
    );
    let (senders, txs) = transfers(n);
    let spec = spec(&senders, 30_000_000);

    let recovery = best_of(3, || {
        let senders = recover_senders(&txs);
        anyhow::ensure!(senders.iter().all(|s| s.is_ok()), "recovery failed");
        Ok(())
    })?;

    let dir = tempfile::tempdir()?;
    let node = ankr_node::Node::start(ankr_node::NodeConfig {
        operator: None,
        data_dir: dir.path().to_path_buf(),
        spec,
        rpc_addr: "127.0.0.1:0".parse()?,
        sealing: ankr_node::DevSealing::Instant,
        beneficiary: Address::repeat_byte(0xbe),
        mining: None,
        network: None,
        pool: Default::default(),
    })
    .await?;
    let (raws, hashes) = rpc_forms(&txs);
    let (submitted, elapsed) = to_receipts(&node.rpc_url(), &raws, &hashes).await?;
    node.stop().await;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!(
        "  {:<34} {:>12.0} tx/s",
        format!("signature recovery limit ({cores} cores)"),
        rate(n, recovery)
    );
    println!(
        "  {:<34} {:>12.0} tx/s",
        "JSON-RPC to receipt",
        rate(n, elapsed)
    );
    println!(
        "  {:<34} {:>12.0} tx/s",
        "JSON-RPC accepted into the pool",
        rate(n, submitted)
    );
    println!(
        "  ratio {:.3} (goal >= 0.5)\n",
        recovery.as_secs_f64() / elapsed.as_secs_f64()
    );
    Ok(())
}

/// `n` one-wei transfers, each from its own sender (key `i`), and the senders.
pub(crate) fn transfers(n: usize) -> (Vec<Address>, Vec<TxEnvelope>) {
    let senders = (0..n).map(|i| address_of(&key(i))).collect();
    let txs = (0..n)
        .map(|i| {
            signed(
                i,
                TxKind::Call(Address::repeat_byte(0x42)),
                Bytes::new(),
                21_000,
            )
        })
        .collect();
    (senders, txs)
}

/// The transactions as `eth_sendRawTransaction` takes them, and their hashes as receipts are
/// asked for.
pub(crate) fn rpc_forms(txs: &[TxEnvelope]) -> (Vec<String>, Vec<String>) {
    let raws = txs
        .iter()
        .map(|t| format!("0x{}", hex::encode(t.encoded_2718())))
        .collect();
    let hashes = txs.iter().map(|t| format!("{:?}", t.tx_hash())).collect();
    (raws, hashes)
}

/// Sends `raws` through the JSON-RPC at `url` from [`CLIENTS`] clients in batches, then polls
/// until every one of `hashes` has a receipt; returns the time to submit them all and the
/// time until the last receipt.
pub(crate) async fn to_receipts(
    url: &str,
    raws: &[String],
    hashes: &[String],
) -> anyhow::Result<(Duration, Duration)> {
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .max_request_size(64 << 20)
        .max_response_size(64 << 20)
        .build(url)?;

    let start = Instant::now();
    // Four clients submit at once, as users do; each sends batches of 250.
    let mut clients = tokio::task::JoinSet::new();
    for share in raws.chunks(raws.len().div_ceil(CLIENTS).max(1)) {
        let (client, share) = (client.clone(), share.to_vec());
        clients.spawn(async move {
            for chunk in share.chunks(250) {
                let mut batch = BatchRequestBuilder::new();
                for raw in chunk {
                    batch.insert("eth_sendRawTransaction", vec![raw.clone()])?;
                }
                let responses = client.batch_request::<serde_json::Value>(batch).await?;
                anyhow::ensure!(
                    responses.num_failed_calls() == 0,
                    "some transactions were refused"
                );
            }
            Ok(())
        });
    }
    while let Some(done) = clients.join_next().await {
        done??;
    }
    let submitted = start.elapsed();
    let mut waiting: Vec<&String> = hashes.iter().collect();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for chunk in waiting.chunks(500) {
            let mut batch = BatchRequestBuilder::new();
            for hash in chunk {
                batch.insert("eth_getTransactionReceipt", vec![(*hash).clone()])?;
            }
            let responses = client.batch_request::<serde_json::Value>(batch).await?;
            for (hash, response) in chunk.iter().zip(responses) {
                if response.map_or(true, |r| r.is_null()) {
                    still.push(*hash);
                }
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    Ok((submitted, start.elapsed()))
}
