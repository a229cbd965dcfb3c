//! `ankr bench`: the node's speed as ratios against baselines measured in the same run, because
//! these machines are noisy: raw revm for execution, parallel libsecp256k1 recovery for
//! end-to-end throughput, an in-memory HashBuilder for the state root.

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, hex, keccak256};
use alloy_sol_types::SolCall;
use ankr_contracts::{ExampleToken, artifact};
use ankr_execution::{BlockContext, ChainConfig, Mode, execute_block, tx_env, write_genesis};
use ankr_storage::{Account, StateChanges, Store};
use ankr_types::{
    ChainSpec, GenesisAccount, RecoveredTx, TxEnvelope,
    chain_spec::ANKR,
    recover_senders,
    recovery::{address_of, sign_transaction},
};
use jsonrpsee::core::{client::ClientT, params::BatchRequestBuilder};
use revm::{
    Context, ExecuteCommitEvm, MainBuilder, MainContext,
    bytecode::Bytecode,
    database::{CacheDB, EmptyDB},
    state::AccountInfo,
};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Figures {
    All,
    Execution,
    Rpc,
    StateRoot,
    Pouw,
    /// Propagation and sync.
    Network,
    /// Sync only.
    Sync,
    /// Native Oracle throughput and latency.
    Oracle,
    /// Plasma child-block Merkle root.
    Plasma,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Which figures to measure.
    #[arg(long, value_enum, default_value_t = Figures::All)]
    only: Figures,
    /// Transactions per execution run.
    #[arg(long, default_value_t = 10_000)]
    txs: usize,
    /// Transactions sent through JSON-RPC in the end-to-end run.
    #[arg(long, default_value_t = 4_000)]
    rpc_txs: usize,
    /// Accounts in the state-root run.
    #[arg(long, default_value_t = 100_000)]
    accounts: usize,
    /// Blocks the network run mines to measure propagation.
    #[arg(long, default_value_t = 40)]
    network_blocks: u64,
    /// Blocks a fresh node syncs in the network run.
    #[arg(long, default_value_t = 500)]
    sync_blocks: u64,
    /// Transfers in each synced block.
    #[arg(long, default_value_t = 200)]
    sync_transfers: usize,
}

const CHAIN_ID: u64 = 4_242_424;
/// Concurrent JSON-RPC clients in the end-to-end run.
const CLIENTS: usize = 4;
/// The ExampleToken address in the benchmark genesis.
const TOKEN: Address = Address::repeat_byte(0x70);
/// `balanceOf` is the token's fourth storage variable (slot 3).
const BALANCE_OF_SLOT: u64 = 3;

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        println!(
            "note: this is a debug build; run `cargo run --release --bin ankr -- bench` for real figures\n"
        );
    }
    let all = args.only == Figures::All;
    if all || args.only == Figures::Execution {
        let n = args.txs;
        tokio::task::spawn_blocking(move || execution(n)).await??;
    }
    if all || args.only == Figures::Rpc {
        end_to_end(args.rpc_txs).await?;
    }
    if all || args.only == Figures::StateRoot {
        let n = args.accounts;
        tokio::task::spawn_blocking(move || state_root(n)).await??;
    }
    if all || args.only == Figures::Pouw {
        tokio::task::spawn_blocking(crate::bench_pouw::run).await??;
    }
    if all || args.only == Figures::Network {
        crate::bench_network::run(args.network_blocks).await?;
    }
    if all || matches!(args.only, Figures::Network | Figures::Sync) {
        crate::bench_network::sync(args.sync_blocks, args.sync_transfers).await?;
    }
    if all || args.only == Figures::Oracle {
        crate::bench_oracle::run().await?;
    }
    if all || args.only == Figures::Plasma {
        tokio::task::spawn_blocking(crate::bench_plasma::run).await?;
        tokio::task::spawn_blocking(|| crate::bench_plasma::operator_throughput(20_000)).await?;
        crate::bench_plasma::gas().await?;
    }
    Ok(())
}

fn key(i: usize) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array(keccak256((i as u64 + 1).to_be_bytes()).0)
        .expect("keccak output is a valid key with overwhelming probability")
}

fn balance_slot(owner: Address) -> B256 {
    let mut preimage = [0u8; 64];
    preimage[12..32].copy_from_slice(owner.as_slice());
    preimage[56..].copy_from_slice(&BALANCE_OF_SLOT.to_be_bytes());
    keccak256(preimage)
}

/// The devnet's spec (its system contracts included: the spec names them) with `senders`
/// funded and holding the token.
fn spec(senders: &[Address], gas_limit: u64) -> ChainSpec {
    let devnet = ankr_node::devnet::spec();
    let mut alloc = devnet.alloc.clone();
    alloc.extend(senders.iter().map(|a| {
        (
            *a,
            GenesisAccount {
                balance: U256::from(1000 * ANKR),
                ..Default::default()
            },
        )
    }));
    let storage = senders
        .iter()
        .map(|a| (balance_slot(*a), B256::from(U256::from(ANKR))))
        .collect();
    alloc.insert(
        TOKEN,
        GenesisAccount {
            code: artifact("ExampleToken")
                .expect("committed")
                .deployed_bytecode,
            storage,
            ..Default::default()
        },
    );
    ChainSpec {
        name: "bench".into(),
        chain_id: CHAIN_ID,
        gas_limit,
        alloc,
        ..devnet
    }
}

fn signed(i: usize, to: TxKind, input: Bytes, gas: u64) -> TxEnvelope {
    sign_transaction(
        &key(i),
        TxEip1559 {
            chain_id: CHAIN_ID,
            nonce: 0,
            gas_limit: gas,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to,
            value: U256::from(1),
            input,
            ..Default::default()
        },
    )
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// Raw revm on an in-memory `CacheDB` holding the genesis accounts: the time of the
/// transactions alone, best of 3.
fn raw_revm(
    spec: &ChainSpec,
    config: &ChainConfig,
    context: &BlockContext,
    txs: &[RecoveredTx],
) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let mut db = CacheDB::new(EmptyDB::default());
        for (address, account) in &spec.alloc {
            let code = (!account.code.is_empty()).then(|| Bytecode::new_raw(account.code.clone()));
            let info = AccountInfo {
                balance: account.balance,
                nonce: account.nonce,
                code_hash: code
                    .as_ref()
                    .map_or(revm::primitives::KECCAK_EMPTY, |c| c.hash_slow()),
                code,
                ..Default::default()
            };
            db.insert_account_info(*address, info);
            for (slot, value) in &account.storage {
                db.insert_account_storage(
                    *address,
                    U256::from_be_bytes(slot.0),
                    U256::from_be_bytes(value.0),
                )?;
            }
        }
        let mut evm = Context::mainnet()
            .with_db(db)
            .with_cfg(config.cfg_env())
            .with_block(context.block_env())
            .build_mainnet();
        let start = Instant::now();
        for tx in txs {
            let result = evm
                .transact_commit(tx_env(&tx.tx, tx.sender))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            anyhow::ensure!(result.is_success(), "raw revm: a transaction failed");
        }
        best = best.min(start.elapsed());
    }
    Ok(best)
}

fn execution(n: usize) -> anyhow::Result<()> {
    println!("== block execution: node import pipeline vs raw revm, {n} transactions, best of 3");
    let senders: Vec<Address> = (0..n).map(|i| address_of(&key(i))).collect();
    let spec = spec(&senders, 1 << 40);
    let genesis = spec.genesis_header(B256::ZERO);
    let config = ChainConfig::from(&spec);
    let mut context = BlockContext::of(&genesis);
    context.number = 1;
    context.gas_limit = spec.gas_limit;

    let transfers: Vec<TxEnvelope> = (0..n)
        .map(|i| {
            signed(
                i,
                TxKind::Call(Address::from_word(B256::from(U256::from(i + 1_000_000)))),
                Bytes::new(),
                21_000,
            )
        })
        .collect();
    let erc20: Vec<TxEnvelope> = (0..n)
        .map(|i| {
            let call = ExampleToken::transferCall {
                to: Address::from_word(B256::from(U256::from(i + 1_000_000))),
                value: U256::from(1),
            };
            let mut tx = signed(i, TxKind::Call(TOKEN), call.abi_encode().into(), 100_000);
            if let TxEnvelope::Eip1559(signed_tx) = &tx {
                let mut inner = signed_tx.tx().clone();
                inner.value = U256::ZERO;
                tx = sign_transaction(&key(i), inner);
            }
            tx
        })
        .collect();

    println!(
        "  {:<16} {:>14} {:>14} {:>8} {:>16}",
        "workload", "raw revm tx/s", "node tx/s", "ratio", "full import tx/s"
    );
    for (name, txs) in [("transfers", &transfers), ("ERC-20 transfers", &erc20)] {
        let recovered: Vec<RecoveredTx> = txs
            .iter()
            .zip(recover_senders(txs))
            .map(|(tx, sender)| RecoveredTx::new(tx.clone(), sender.expect("signed above")))
            .collect();
        let raw = raw_revm(&spec, &config, &context, &recovered)?;

        // A fresh store per workload: the full-import run below commits its block.
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        write_genesis(&store, &spec)?;
        let reader = store.reader()?;
        let state = reader.state()?;
        let node = best_of(3, || {
            let executed =
                execute_block(&state, &config, &context, recovered.clone(), Mode::Import)?;
            anyhow::ensure!(
                executed.receipts.iter().all(|r| r.status()),
                "node: a transaction failed"
            );
            Ok(())
        })?;
        // The whole import after recovery: execute, write state, root, durable commit.
        let full = best_of(1, || {
            let executed =
                execute_block(&state, &config, &context, recovered.clone(), Mode::Import)?;
            let mut writer = store.begin_block()?;
            writer.apply_state(1, &executed.changes)?;
            writer.state_root()?;
            writer.commit()?;
            Ok(())
        })?;
        println!(
            "  {:<16} {:>14.0} {:>14.0} {:>8.2} {:>16.0}",
            name,
            rate(n, raw),
            rate(n, node),
            raw.as_secs_f64() / node.as_secs_f64(),
            rate(n, full),
        );
    }
    println!("  ratio = raw revm time / node time on the same transactions (goal >= 0.90)\n");
    Ok(())
}

async fn end_to_end(n: usize) -> anyhow::Result<()> {
    println!(
        "== end to end: signed transfers through JSON-RPC until their receipts exist, {n} transactions"
    );
    let senders: Vec<Address> = (0..n).map(|i| address_of(&key(i))).collect();
    let spec = spec(&senders, 30_000_000);
    let txs: Vec<TxEnvelope> = (0..n)
        .map(|i| {
            signed(
                i,
                TxKind::Call(Address::repeat_byte(0x42)),
                Bytes::new(),
                21_000,
            )
        })
        .collect();

    let recovery = best_of(3, || {
        let senders = recover_senders(&txs);
        anyhow::ensure!(senders.iter().all(|s| s.is_ok()), "recovery failed");
        Ok(())
    })?;

    let dir = tempfile::tempdir()?;
    let node = ankr_node::Node::start(ankr_node::NodeConfig {
        data_dir: dir.path().to_path_buf(),
        spec,
        rpc_addr: "127.0.0.1:0".parse()?,
        sealing: ankr_node::DevSealing::Instant,
        beneficiary: Address::repeat_byte(0xbe),
        mining: None,
        network: None,
    })
    .await?;
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .max_request_size(64 << 20)
        .max_response_size(64 << 20)
        .build(node.rpc_url())?;
    let raws: Vec<String> = txs
        .iter()
        .map(|t| format!("0x{}", hex::encode(t.encoded_2718())))
        .collect();
    let hashes: Vec<String> = txs.iter().map(|t| format!("{:?}", t.tx_hash())).collect();

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
            for (hash, response) in chunk.iter().zip(responses.into_iter()) {
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
    let elapsed = start.elapsed();
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

fn resident_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn state_root(n: usize) -> anyhow::Result<()> {
    println!(
        "== state root of {n} accounts: redb scan vs in-memory HashBuilder on the same leaves"
    );
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let mut changes = StateChanges::default();
    for i in 0..n {
        let address = Address::from_word(keccak256((i as u64).to_be_bytes()));
        changes.accounts.insert(
            address,
            Some(Account {
                nonce: 1,
                balance: U256::from(i),
                code_hash: revm::primitives::KECCAK_EMPTY,
            }),
        );
    }
    let mut writer = store.begin_block()?;
    writer.apply_state(1, &changes)?;
    writer.commit()?;
    drop(changes);

    let rss_before = resident_kib("VmRSS:");
    let mut root = B256::ZERO;
    let stored = best_of(3, || {
        root = store.begin_block()?.state_root()?;
        Ok(())
    })?;
    let rss_after = resident_kib("VmRSS:");

    let mut leaves: Vec<(B256, Vec<u8>)> = (0..n)
        .map(|i| {
            let address = Address::from_word(keccak256((i as u64).to_be_bytes()));
            let account = alloy_trie::TrieAccount {
                nonce: 1,
                balance: U256::from(i),
                storage_root: alloy_trie::EMPTY_ROOT_HASH,
                code_hash: revm::primitives::KECCAK_EMPTY,
            };
            (keccak256(address), alloy_rlp::encode(account))
        })
        .collect();
    leaves.sort_unstable_by_key(|(k, _)| *k);
    let mut expected = B256::ZERO;
    let memory = best_of(3, || {
        let mut builder = alloy_trie::HashBuilder::default();
        for (key, value) in &leaves {
            builder.add_leaf(alloy_trie::Nibbles::unpack(key), value);
        }
        expected = builder.root();
        Ok(())
    })?;
    anyhow::ensure!(root == expected, "state roots disagree");
    println!(
        "  {:<28} {:>10.1} ms {:>8.2} µs/account",
        "redb scan + HashBuilder",
        stored.as_secs_f64() * 1e3,
        stored.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "  {:<28} {:>10.1} ms {:>8.2} µs/account",
        "in-memory HashBuilder",
        memory.as_secs_f64() * 1e3,
        memory.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "  ratio {:.2} (in-memory time / node time); resident memory {} MiB, grew {} MiB while computing\n",
        memory.as_secs_f64() / stored.as_secs_f64(),
        rss_after / 1024,
        rss_after.saturating_sub(rss_before) / 1024
    );
    Ok(())
}
