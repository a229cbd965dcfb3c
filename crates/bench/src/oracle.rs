//! `ankr bench --only oracle`: requests per second through one relay and one oracle enclave
//! against a local HTTPS source, against the raw HTTPS fetch rate of the same client and
//! source in the same run; and the latency from a request's block to its delivery's block.
//! (Other papers' figures come from other hardware, so none is printed as a multiple here.)

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, SolEvent};
use ankr_contracts::NativeOracle;
use ankr_contracts::genesis::NATIVE_ORACLE_ADDRESS;
use ankr_node::{DevSealing, Node, NodeConfig, devnet};
use ankr_oracle::datagram::kind;
use ankr_oracle::extract::ValueQuery;
use ankr_oracle::relay::RelayConfig;
use ankr_oracle::source::{LocalSource, Route};
use ankr_oracle::{FetchLimits, Fetcher, OracleEnclave};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests sent in the throughput run.
/// Sequential requests in the latency run.
const LATENCY_SAMPLES: usize = 10;

pub(crate) async fn run(requests: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let source = LocalSource::start(
        &dir.path().join("source"),
        [(
            "/price".to_string(),
            Route::Document {
                content_type: "application/json",
                body: br#"{"ankr":{"usd":"0.031234"}}"#.to_vec(),
            },
        )]
        .into(),
    )
    .await?;
    // The source is on loopback.
    let limits = FetchLimits {
        allow_private_addresses: true,
        ..FetchLimits::default()
    };

    // Baseline: the enclave's HTTPS client fetching the same document, one after another.
    let fetcher = Fetcher::new(&[source.ca_file.as_path()], limits)?;
    // Measured three times (before, between and after the relay's runs; the best counts),
    // since one run of it swings with what the machine does meanwhile.
    let raw_fetches = || async {
        let started = Instant::now();
        let fetches = 400;
        for _ in 0..fetches {
            fetcher.get(&source.url("/price")).await?;
        }
        anyhow::Ok(fetches as f64 / started.elapsed().as_secs_f64())
    };
    let mut fetch_rate = raw_fetches().await?;

    let key = secp256k1::SecretKey::from_byte_array(keccak256("bench oracle").0)?;
    let enclave = OracleEnclave::new(
        key,
        keccak256("bench oracle platform"),
        &[source.ca_file.as_path()],
        limits,
    )?;
    // Eight delivery accounts: a full pool guarantees a sender only 16 pending transactions.
    let relay_accounts: Vec<secp256k1::SecretKey> = (0..8u8)
        .map(|i| secp256k1::SecretKey::from_byte_array(keccak256([i, 0x0e]).0))
        .collect::<Result<_, _>>()?;
    let mut spec = devnet::spec();
    for account in &relay_accounts {
        spec.alloc.insert(
            ankr_types::recovery::address_of(account),
            ankr_types::GenesisAccount {
                balance: U256::from(10u64).pow(U256::from(21)),
                ..Default::default()
            },
        );
    }
    devnet::bootstrap_oracle(&mut spec, enclave.address(), 1_000_000);
    let node = Node::start(NodeConfig {
        operator: None,
        data_dir: dir.path().join("node"),
        spec,
        rpc_addr: "127.0.0.1:0".parse()?,
        // A block as soon as transactions wait: the figures are the relay's, not a block time's.
        sealing: DevSealing::Instant,
        beneficiary: Address::ZERO,
        mining: None,
        network: None,
        pool: Default::default(),
    })
    .await?;
    let stats = Arc::new(ankr_oracle::relay::RelayStats::default());
    let config = RelayConfig {
        rpc_url: node.rpc_url(),
        accounts: relay_accounts.clone(),
        enclave: Arc::new(enclave),
        attestation: None,
        confirmations: 0,
        state_file: dir.path().join("relay.state"),
        poll: Duration::from_millis(20),
        stats: stats.clone(),
    };
    // A relay that runs until its sender is dropped or sent to; a new one carries on from
    // the last block the previous one scanned (the state file).
    let start_relay = || {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        (
            stop,
            tokio::spawn(ankr_oracle::relay::run(config.clone(), stopped)),
        )
    };
    let (stop, relay) = start_relay();
    let params = ValueQuery {
        url: source.url("/price"),
        path: "$.ankr.usd".into(),
        result_type: "uint256".into(),
        decimals: 6,
    }
    .encode();
    let fee = U256::from(30_000u64) * U256::from(50_000_000_000u64);
    let accounts = devnet::accounts();
    let mut nonces = vec![0u64; accounts.len()];
    let mut submit = |i: usize| -> anyhow::Result<()> {
        let from = &accounts[i % accounts.len()];
        let nonce = &mut nonces[i % accounts.len()];
        let tx = TxEip1559 {
            chain_id: devnet::DEVNET_CHAIN_ID,
            nonce: *nonce,
            gas_limit: 200_000,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(NATIVE_ORACLE_ADDRESS),
            value: fee,
            input: NativeOracle::requestCall {
                kind: kind::JSON,
                params: params.clone().into(),
                callbackSelector: Default::default(),
                callbackGas: 0,
            }
            .abi_encode()
            .into(),
            ..Default::default()
        };
        *nonce += 1;
        let signed = ankr_types::recovery::sign_transaction(&from.secret, tx);
        node.chain.submit_raw_transaction(&signed.encoded_2718())?;
        Ok(())
    };
    // What the chain shows so far, read block by block as blocks come (a rescan of every
    // block at every poll took a core from the node it measures).
    let mut seen = OracleLogs::default();
    // Latency: one request at a time, from its block to its delivery's block.
    println!(
        "oracle: {LATENCY_SAMPLES} requests one at a time (a block as soon as a transaction waits) …"
    );
    let mut blocks = Vec::new();
    let mut seconds = Vec::new();
    for i in 0..LATENCY_SAMPLES {
        let asked = Instant::now();
        submit(i)?;
        let id = i as u64 + 1;
        let deadline = Instant::now() + Duration::from_secs(60);
        let delivered_in = loop {
            anyhow::ensure!(Instant::now() < deadline, "request {id} was not delivered");
            seen.update(&node.chain)?;
            if let Some(block) = seen.delivered.get(&id) {
                break *block;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        seconds.push(asked.elapsed().as_secs_f64());
        let requested_in = seen.requested[&id];
        blocks.push(delivered_in - requested_in);
    }
    blocks.sort();
    seconds.sort_by(f64::total_cmp);
    println!(
        "  latency: request block → delivery block: median {} blocks (max {}); submission → delivered: median {:.2} s",
        blocks[blocks.len() / 2],
        blocks.last().expect("samples"),
        seconds[seconds.len() / 2],
    );

    // Throughput, end to end: many requests at once, from the first request mined to the last
    // delivered; the node mines the requests while the relay answers them.
    println!("oracle: {requests} requests at once …");
    for i in 0..requests {
        submit(LATENCY_SAMPLES + i)?;
    }
    let mut total = LATENCY_SAMPLES + requests;
    let mut first_mined = None;
    let mut all_mined = None;
    let stalled = |seen: &OracleLogs, total: usize| {
        let relay: Vec<String> = stats
            .samples()
            .iter()
            .map(|(name, _, _, value)| format!("{name} {value}"))
            .collect();
        anyhow::anyhow!(
            "deliveries stalled: {} of {total} delivered by block {}, {} transactions pooled; relay: {}",
            seen.delivered.len(),
            node.chain.head().number,
            node.chain.pool_size(),
            relay.join(", ")
        )
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while seen.update(&node.chain)?.delivered.len() < total {
        anyhow::ensure!(Instant::now() < deadline, stalled(&seen, total));
        if first_mined.is_none() && seen.requested.contains_key(&(LATENCY_SAMPLES as u64 + 1)) {
            first_mined = Some(Instant::now());
        }
        if all_mined.is_none() && seen.requested.len() == total {
            all_mined = Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = first_mined.map_or(Duration::ZERO, |t| t.elapsed());
    let mining = match (first_mined, all_mined) {
        (Some(first), Some(all)) => all.duration_since(first),
        _ => Duration::ZERO,
    };
    let end_to_end = requests as f64 / elapsed.as_secs_f64();
    let _ = stop.send(true);
    relay.await?;
    fetch_rate = fetch_rate.max(raw_fetches().await?);

    // Throughput, the relay alone: the same number of requests already mined, then a relay
    // started to answer them, from its start to the last delivered.
    for i in 0..requests {
        submit(total + i)?;
    }
    total += requests;
    let deadline = Instant::now() + Duration::from_secs(300);
    while seen.update(&node.chain)?.requested.len() < total {
        anyhow::ensure!(Instant::now() < deadline, "the requests were not mined");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("oracle: {requests} requests already mined, then a relay started …");
    let started = Instant::now();
    let (stop, relay) = start_relay();
    while seen.update(&node.chain)?.delivered.len() < total {
        anyhow::ensure!(Instant::now() < deadline, stalled(&seen, total));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let alone = requests as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    relay.await?;
    fetch_rate = fetch_rate.max(raw_fetches().await?);
    println!(
        "  throughput: {alone:.0} requests/s through one relay + enclave, requests already mined (raw HTTPS fetches by the same client, best of three: {fetch_rate:.0}/s → {:.2} of it)",
        alone / fetch_rate,
    );
    let resent = stats.resent();
    println!(
        "  end to end: {end_to_end:.0} requests/s while the node mines the requests too (→ {:.2}; {:.2} s of its {:.2} s went to mining the requests); {resent} stuck transactions resent in both runs",
        end_to_end / fetch_rate,
        mining.as_secs_f64(),
        elapsed.as_secs_f64(),
    );
    println!(
        "  {} answers delivered in {} transactions, {:.0} gas each",
        seen.delivered.len(),
        seen.delivery_txs,
        seen.delivery_gas as f64 / seen.delivered.len() as f64,
    );
    node.stop().await;
    Ok(())
}

/// The block of each request's `RequestInfo` and of its `Delivered` log, by request id.
#[derive(Default)]
struct OracleLogs {
    requested: HashMap<u64, u64>,
    delivered: HashMap<u64, u64>,
    /// Transactions that delivered at least one answer, and the gas they used.
    delivery_txs: u64,
    delivery_gas: u64,
    /// Blocks read so far.
    scanned: u64,
}

impl OracleLogs {
    /// Reads the blocks mined since the last call.
    fn update(&mut self, chain: &ankr_chain::Chain) -> anyhow::Result<&Self> {
        let reader = chain.reader()?;
        for n in self.scanned + 1..=chain.head().number {
            let header = reader.header_by_number(n)?.expect("canonical");
            let mut gas_before = 0;
            for receipt in reader.receipts(header.hash())?.unwrap_or_default() {
                let gas = receipt.cumulative_gas_used() - gas_before;
                gas_before = receipt.cumulative_gas_used();
                let delivered_before = self.delivered.len();
                for log in receipt.logs() {
                    let (Some(event), Some(id)) = (log.topics().first(), log.topics().get(1))
                    else {
                        continue;
                    };
                    // Only the two events read here carry a request id in their first topic.
                    let id = U256::from_be_bytes(id.0).saturating_to::<u64>();
                    if log.address != NATIVE_ORACLE_ADDRESS {
                        continue;
                    } else if *event == NativeOracle::RequestInfo::SIGNATURE_HASH {
                        self.requested.insert(id, n);
                    } else if *event == NativeOracle::Delivered::SIGNATURE_HASH {
                        self.delivered.insert(id, n);
                    }
                }
                if self.delivered.len() > delivered_before {
                    self.delivery_txs += 1;
                    self.delivery_gas += gas;
                }
            }
            self.scanned = n;
        }
        Ok(self)
    }
}
