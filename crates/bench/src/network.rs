//! `ankr bench --only network`: three PoUW-mining nodes on loopback. Block propagation is the
//! time from the sealing node's new head to each other node's (one process, one clock). Sync
//! speed: a fresh node catching up over the network on a long chain full of transfers,
//! against importing the same blocks straight into a fresh chain in the same run.

use alloy_primitives::{B256, U256, keccak256};
use ankr_enclave::{Enclave, Limits, SimulatedEnclave};
use ankr_node::devnet;
use ankr_node::test_utils::pouw::{MiningCluster, start_on_network};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub(crate) async fn run(blocks: u64) -> anyhow::Result<()> {
    let mut cluster = MiningCluster::new("bench network", 3, 10_000_000_000).await?;
    let nodes = cluster.start_miners().await?;

    // When each node first saw each block as its new head.
    let seen: Arc<Mutex<HashMap<B256, Vec<Instant>>>> = Default::default();
    let mut watchers = Vec::new();
    for node in &nodes {
        let mut heads = node.chain.subscribe();
        let seen = seen.clone();
        watchers.push(tokio::spawn(async move {
            while let Ok(block) = heads.recv().await {
                seen.lock()
                    .expect("seen lock")
                    .entry(block.hash)
                    .or_default()
                    .push(Instant::now());
            }
        }));
    }
    println!("network: 3 mining nodes on loopback, {blocks} blocks (1 s target) …");
    let deadline = Instant::now() + Duration::from_secs(blocks * 4 + 60);
    while nodes[0].chain.head().number < blocks {
        anyhow::ensure!(Instant::now() < deadline, "mining stalled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut delays: Vec<Duration> = seen
        .lock()
        .expect("seen lock")
        .values()
        .filter(|times| times.len() == 3)
        .flat_map(|times| {
            let first = *times.iter().min().expect("three");
            times
                .iter()
                .filter(move |t| **t != first)
                .map(move |t| *t - first)
        })
        .collect();
    delays.sort();
    anyhow::ensure!(!delays.is_empty(), "no block reached all three nodes");
    println!(
        "  block propagation to the other 2 nodes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} arrivals (goal p99 < 200 ms)",
        percentile(&delays, 0.5).as_secs_f64() * 1e3,
        percentile(&delays, 0.99).as_secs_f64() * 1e3,
        delays.last().expect("not empty").as_secs_f64() * 1e3,
        delays.len()
    );

    for node in nodes {
        node.stop().await;
    }
    for watcher in watchers {
        watcher.abort();
    }
    cluster.stop().await;
    Ok(())
}

/// A node serving `blocks` blocks of `transfers` transfers each, and a fresh node syncing them
/// over loopback; the same raw blocks imported straight into a third fresh chain are the
/// baseline.
pub(crate) async fn sync(blocks: u64, transfers: usize) -> anyhow::Result<()> {
    let enclave = SimulatedEnclave::new(
        secp256k1::SecretKey::from_byte_array(keccak256("bench history").0)?,
        keccak256("bench history platform"),
        Limits::default(),
    );
    let mut spec = devnet::pouw_spec_with_period(
        alloy_primitives::Address::repeat_byte(0x01),
        vec![(enclave.address(), enclave.platform_id())],
        blocks + 1_000,
    );
    spec.target_block_time_ms = 1_000;
    spec.genesis_difficulty = U256::from(1_000u64);
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir())
        .collect::<Result<_, _>>()?;
    println!("sync: making {blocks} blocks of {transfers} transfers …");
    let history = {
        let chain = ankr_chain::Chain::open(dirs[0].path(), spec.clone())?;
        ankr_node::history::mine_history(&chain, &enclave, blocks, transfers)
            .map_err(|e| anyhow::anyhow!(e))?;
        let reader = chain.reader()?;
        let mut raws = Vec::new();
        for n in 1..=blocks {
            let header = reader.header_by_number(n)?.expect("canonical");
            let body = reader.body(header.hash())?.expect("stored");
            raws.push(alloy_rlp::encode(ankr_types::Block {
                header,
                transactions: body.transactions,
            }));
        }
        raws
    };
    let server = start_on_network(dirs[0].path(), spec.clone(), None, vec![]).await?;
    let boot = vec![
        server
            .network
            .as_ref()
            .expect("on a network")
            .listen_addr
            .clone(),
    ];
    let fresh = start_on_network(dirs[1].path(), spec.clone(), None, boot).await?;
    let started = Instant::now();
    while fresh.chain.head().number < blocks {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "sync stalled");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let synced = started.elapsed();
    fresh.stop().await;
    server.stop().await;

    let direct = ankr_chain::Chain::open(dirs[2].path(), spec)?;
    let started = Instant::now();
    for raw in &history {
        direct.import_raw_block(raw)?;
    }
    let imported = started.elapsed();
    let rate = |d: Duration| blocks as f64 / d.as_secs_f64();
    println!(
        "  sync of {blocks} blocks ({} txs) by a fresh node: {:.0} blocks/s ({:.0} tx/s); direct import {:.0} blocks/s: {:.2} of import speed (goal ≥ 0.8; the sync includes connecting)",
        blocks * transfers as u64,
        rate(synced),
        rate(synced) * transfers as f64,
        rate(imported),
        imported.as_secs_f64() / synced.as_secs_f64()
    );
    Ok(())
}
