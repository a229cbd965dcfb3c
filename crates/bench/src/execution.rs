//! Block execution inside the node against raw revm on the same transactions.

//! `ankr bench`: the node's speed as ratios against baselines measured in the same run, because
//! these machines are noisy: raw revm for execution, parallel libsecp256k1 recovery for
//! end-to-end throughput, an in-memory HashBuilder for the state root.

use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_sol_types::SolCall;
use ankr_contracts::ExampleToken;
use ankr_execution::{
    BlockContext, ChainConfig, ExecutedBlock, ExecutionError, Mode, StateError, TwoThreads,
    execute_block, execute_block_on, tx_env, write_genesis,
};
use ankr_storage::Store;
use ankr_types::{
    ChainSpec, RecoveredTx, TxEnvelope, recover_senders,
    recovery::{address_of, sign_transaction},
};
use revm::{
    Context, DatabaseRef, ExecuteCommitEvm, MainBuilder, MainContext,
    bytecode::Bytecode,
    database::{CacheDB, EmptyDB},
    state::AccountInfo,
};
use std::time::{Duration, Instant};

use crate::fixtures::{TOKEN, key, signed, spec};
use crate::measure::{best_of, rate};

/// The genesis accounts in revm's in-memory `CacheDB`: the state raw revm runs on.
fn genesis_db(spec: &ChainSpec) -> anyhow::Result<CacheDB<EmptyDB>> {
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
    Ok(db)
}

/// The node's executor over the same in-memory state raw revm runs on: what the executor
/// itself (the block's overlay of changes, receipts, the block's rules) costs, apart from
/// reading storage.
struct InMemory(CacheDB<EmptyDB>);

impl DatabaseRef for &InMemory {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        let Ok(info) = self.0.basic_ref(address);
        Ok(info)
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StateError> {
        let Ok(code) = self.0.code_by_hash_ref(code_hash);
        Ok(code)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, StateError> {
        let Ok(value) = self.0.storage_ref(address, index);
        Ok(value)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, StateError> {
        let Ok(hash) = self.0.block_hash_ref(number);
        Ok(hash)
    }
}

/// Raw revm on an in-memory `CacheDB` holding the genesis accounts: the time of the
/// transactions alone (building the database is not timed).
pub(crate) fn raw_revm(
    spec: &ChainSpec,
    config: &ChainConfig,
    context: &BlockContext,
    txs: &[RecoveredTx],
) -> anyhow::Result<Duration> {
    let db = genesis_db(spec)?;
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
    Ok(start.elapsed())
}

/// The time `execute` takes over its own copy of `txs` (made outside the timing: raw revm runs
/// over borrowed ones), checking that every transaction succeeded.
fn timed(
    txs: &[RecoveredTx],
    execute: impl FnOnce(Vec<RecoveredTx>) -> Result<ExecutedBlock, ExecutionError>,
) -> anyhow::Result<Duration> {
    let txs = txs.to_vec();
    let start = Instant::now();
    let executed = execute(txs)?;
    let took = start.elapsed();
    anyhow::ensure!(
        executed.receipts.iter().all(|r| r.status()),
        "node: a transaction failed"
    );
    Ok(took)
}

/// Rounds of (raw revm, node, in-memory executor) runs, interleaved so that a noisy spell of
/// the machine hits them all; the best of each counts. Five rounds left the ratios swinging
/// by ±0.1 from one run of the bench to the next; twenty hold them within a few hundredths,
/// for about four seconds more.
const ROUNDS: usize = 20;

pub(crate) fn execution(n: usize) -> anyhow::Result<()> {
    println!(
        "== block execution: node import pipeline vs raw revm, {n} transactions, best of {ROUNDS} interleaved"
    );
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
        "  {:<16} {:>14} {:>14} {:>8} {:>14} {:>8} {:>14} {:>8} {:>14} {:>8} {:>16} {:>10}",
        "workload",
        "raw revm tx/s",
        "node tx/s",
        "ratio",
        "one thread",
        "ratio",
        "cold tx/s",
        "ratio",
        "in-memory tx/s",
        "ratio",
        "full import tx/s",
        "2 threads"
    );
    for (name, txs) in [("transfers", &transfers), ("ERC-20 transfers", &erc20)] {
        let recovered: Vec<RecoveredTx> = txs
            .iter()
            .zip(recover_senders(txs))
            .map(|(tx, sender)| RecoveredTx::new(tx.clone(), sender.expect("signed above")))
            .collect();

        // A fresh store per workload: the full-import run below commits its block.
        let dir = tempfile::tempdir()?;
        let store = Store::open(dir.path())?;
        write_genesis(&store, &spec)?;
        let reader = store.reader()?;
        let state = reader.state()?;
        // The node as shipped (one record across its blocks, as a chain keeps) or with two
        // threads off.
        let two_threads = TwoThreads::default();
        let one_thread = TwoThreads::off();
        let run_with = |threads: &TwoThreads| {
            timed(&recovered, |txs| {
                execute_block(&state, &config, &context, txs, Mode::Import, threads)
            })
        };
        let run = || run_with(&two_threads);
        let in_memory = InMemory(genesis_db(&spec)?);
        let run_in_memory = || {
            timed(&recovered, |txs| {
                execute_block_on(&in_memory, &config, &context, txs, Mode::Import, u64::MAX)
            })
        };
        let cold = run()?;
        let (mut raw, mut node, mut one, mut memory) =
            (Duration::MAX, Duration::MAX, Duration::MAX, Duration::MAX);
        for _ in 0..ROUNDS {
            raw = raw.min(raw_revm(&spec, &config, &context, &recovered)?);
            node = node.min(run()?);
            one = one.min(run_with(&one_thread)?);
            memory = memory.min(run_in_memory()?);
        }
        // The whole import after recovery: execute, write state, root, durable commit.
        let mut on_two_threads = 0;
        let full = best_of(1, || {
            let executed = execute_block(
                &state,
                &config,
                &context,
                recovered.clone(),
                Mode::Import,
                &TwoThreads::default(),
            )?;
            on_two_threads = executed.on_two_threads;
            let mut writer = store.begin_block()?;
            writer.apply_state(1, &executed.changes)?;
            writer.state_root()?;
            writer.commit()?;
            Ok(())
        })?;
        println!(
            "  {:<16} {:>14.0} {:>14.0} {:>8.2} {:>14.0} {:>8.2} {:>14.0} {:>8.2} {:>14.0} {:>8.2} {:>16.0} {:>10}",
            name,
            rate(n, raw),
            rate(n, node),
            raw.as_secs_f64() / node.as_secs_f64(),
            rate(n, one),
            raw.as_secs_f64() / one.as_secs_f64(),
            rate(n, cold),
            raw.as_secs_f64() / cold.as_secs_f64(),
            rate(n, memory),
            raw.as_secs_f64() / memory.as_secs_f64(),
            rate(n, full),
            on_two_threads,
        );
    }
    println!(
        "  ratio = raw revm time / node time on the same transactions (goal >= 0.90); node: its \
         accounts read before, as under load (hot-state cache); one thread: the same with two \
         threads off; cold: first read from storage; \
         in-memory: the node's executor (one thread) over raw revm's in-memory state; 2 threads: \
         transactions of the node's block run on two threads and kept\n"
    );
    Ok(())
}
