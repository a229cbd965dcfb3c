//! A block run on two threads gives exactly what it gives on one: the same transactions,
//! receipts, gas, blooms, skips, errors and state changes, whether the two threads' work was
//! kept or thrown away for a run in order. Blocks are random: independent senders' calls to a
//! probe contract (`contracts/src/ParallelProbe.sol`) and transfers, spoiled by a few
//! transactions that make one thread's result depend on the other's (another sender's counter, a
//! transfer to a sender of the other thread, a read of the beneficiary, a colliding
//! creation), transactions a builder skips, a block too small for them all, and a child
//! chain's anchor written before them.

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_sol_types::SolCall;
use ankr_contracts::{ChildBridge, ParallelProbe, artifact};
use ankr_execution::{
    BlockContext, CHILD_BRIDGE_ADDRESS, ChainConfig, ExecutedBlock, Mode, StateDb, TwoThreads,
    execute_block, execute_block_on, write_genesis,
};
use ankr_storage::{StateReader, Store};
use ankr_types::{
    ChainSpec, GenesisAccount, Header, RecoveredTx,
    chain_spec::ANKR,
    recovery::{address_of, sign_transaction},
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestRunner};
use std::cell::Cell;

const CHAIN_ID: u64 = 31_337;
const SENDERS: usize = 48;
const PROBE: Address = Address::repeat_byte(0x77);
/// An account many senders pay (an exchange's deposit address): funded, no code.
const HOT: Address = Address::repeat_byte(0x48);
/// One many senders pay that does not exist before the block.
const HOT_FRESH: Address = Address::repeat_byte(0x49);

fn key(sender: usize) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array([sender as u8 + 1; 32]).unwrap()
}

fn spec() -> ChainSpec {
    let mut spec: ChainSpec = toml::from_str(&format!(
        r#"name = "two-threads"
        chain_id = {CHAIN_ID}
        gas_limit = 30000000
        max_tx_gas = 16777216
        block_reward = "2000000000000000000"
        target_block_time_ms = 2000
        initial_base_fee = 1000000000"#
    ))
    .unwrap();
    for sender in 0..SENDERS {
        spec.alloc.insert(
            address_of(&key(sender)),
            GenesisAccount {
                balance: U256::from(1_000 * ANKR),
                ..Default::default()
            },
        );
    }
    spec.alloc.insert(
        HOT,
        GenesisAccount {
            balance: U256::from(ANKR),
            ..Default::default()
        },
    );
    let code = |name| artifact(name).unwrap().deployed_bytecode;
    spec.alloc.insert(
        PROBE,
        GenesisAccount {
            balance: U256::from(ANKR),
            code: code("ParallelProbe"),
            ..Default::default()
        },
    );
    spec.alloc.insert(
        CHILD_BRIDGE_ADDRESS,
        GenesisAccount {
            balance: U256::from(ANKR),
            code: code("ChildBridge"),
            ..Default::default()
        },
    );
    spec
}

/// Where value goes.
#[derive(Clone, Debug)]
enum Target {
    /// An address no one else uses.
    Fresh,
    Sender(usize),
    Beneficiary,
    /// A precompile, with no value: an empty account touched, which EIP-161 deletes.
    Precompile(u8),
    Hot,
    HotFresh,
}

#[derive(Clone, Debug)]
enum Action {
    Transfer(Target, u64),
    /// The sender's own counter.
    BumpOwn,
    /// Another sender's own counter.
    BumpOf(usize),
    NoteBeneficiary,
    NoteBalanceOf(Target),
    Send(Target, u64),
    /// A creation at an address of its own (`None`) or one another spawn may take.
    Spawn {
        salt: Option<u64>,
        destroy: bool,
        value: u64,
    },
    Fail,
    Burn,
    ReadAnchor,
    Withdraw(u64),
    /// A nonce from the future: a builder skips it, an importer refuses the block.
    NonceGap,
    /// Bumps with a gas limit that fills a sixth of a block.
    Heavy,
}

fn independent() -> impl Strategy<Value = Action> {
    prop_oneof![
        (1..1_000u64).prop_map(|value| Action::Transfer(Target::Fresh, value)),
        Just(Action::BumpOwn),
        (1..1_000u64).prop_map(|value| Action::Send(Target::Fresh, value)),
        Just(Action::Fail),
        Just(Action::Burn),
        Just(Action::ReadAnchor),
        (1..=9u8).prop_map(|p| Action::Transfer(Target::Precompile(p), 0)),
        // Payments into one account from both threads: summed, not a conflict.
        (0..1_000u64).prop_map(|value| Action::Transfer(Target::Hot, value)),
    ]
}

fn spoiler() -> impl Strategy<Value = Action> {
    prop_oneof![
        (0..SENDERS, 1..1_000u64).prop_map(|(to, v)| Action::Transfer(Target::Sender(to), v)),
        (1..1_000u64).prop_map(|value| Action::Transfer(Target::Beneficiary, value)),
        (0..SENDERS).prop_map(Action::BumpOf),
        Just(Action::NoteBeneficiary),
        (0..SENDERS).prop_map(|s| Action::NoteBalanceOf(Target::Sender(s))),
        // Reads of the account the other thread pays, directly or by paying it from code.
        Just(Action::NoteBalanceOf(Target::Hot)),
        (1..1_000u64).prop_map(|value| Action::Send(Target::Hot, value)),
        // Payments that create their account: not payments only, so both threads conflict.
        (0..1_000u64).prop_map(|value| Action::Transfer(Target::HotFresh, value)),
        (0..SENDERS, 1..1_000u64).prop_map(|(to, v)| Action::Send(Target::Sender(to), v)),
        // A creation bumps the creator's nonce: every call to the probe then conflicts.
        (any::<bool>(), any::<bool>(), 0..1_000u64).prop_map(|(collide, destroy, value)| {
            Action::Spawn {
                salt: collide.then_some(7),
                destroy,
                value,
            }
        }),
        (1..1_000u64).prop_map(Action::Withdraw),
        Just(Action::NonceGap),
        Just(Action::Heavy),
    ]
}

#[derive(Clone, Debug)]
enum Beneficiary {
    Fresh,
    Sender(usize),
    Probe,
    Hot,
}

#[derive(Clone, Debug)]
struct Case {
    /// Each transaction's sender and action, in block order.
    txs: Vec<(usize, Action)>,
    beneficiary: Beneficiary,
    mode: Mode,
    anchored: bool,
    /// The block's gas limit is the gas limits of this many first transactions.
    room_for: Option<prop::sample::Index>,
}

fn case() -> impl Strategy<Value = Case> {
    // A few busy senders (long nonce chains) among many with a transaction or two.
    let sender = (0..SENDERS, 0..3usize).prop_map(|(s, busy)| if busy == 0 { s % 4 } else { s });
    let base = prop::collection::vec((sender, independent()), 520..600);
    // No spoiler in half the blocks, so that many are kept whole.
    let spoilers = prop_oneof![
        Just(Vec::new()),
        prop::collection::vec((any::<prop::sample::Index>(), 0..SENDERS, spoiler()), 1..3),
    ];
    let beneficiary = prop_oneof![
        6 => Just(Beneficiary::Fresh),
        1 => (0..SENDERS).prop_map(Beneficiary::Sender),
        1 => Just(Beneficiary::Probe),
        1 => Just(Beneficiary::Hot),
    ];
    let mode = prop_oneof![Just(Mode::Build), Just(Mode::Import)];
    let room_for = prop_oneof![3 => Just(None), 1 => any::<prop::sample::Index>().prop_map(Some)];
    (base, spoilers, beneficiary, mode, any::<bool>(), room_for).prop_map(
        |(mut txs, spoilers, beneficiary, mode, anchored, room_for)| {
            for (at, sender, action) in spoilers {
                let at = at.index(txs.len());
                txs.insert(at, (sender, action));
            }
            Case {
                txs,
                beneficiary,
                mode,
                anchored,
                room_for,
            }
        },
    )
}

fn fresh(index: usize) -> Address {
    Address::from_word(U256::from(0xf0_0000 + index).into())
}

/// The signed transactions of `case`, and the block's beneficiary.
fn transactions(case: &Case) -> (Vec<RecoveredTx>, Address) {
    let beneficiary = match case.beneficiary {
        Beneficiary::Fresh => Address::repeat_byte(0xbe),
        Beneficiary::Sender(s) => address_of(&key(s)),
        Beneficiary::Probe => PROBE,
        Beneficiary::Hot => HOT,
    };
    let target = |target: &Target, index| match target {
        Target::Fresh => fresh(index),
        Target::Sender(s) => address_of(&key(*s)),
        Target::Beneficiary => beneficiary,
        Target::Precompile(p) => Address::with_last_byte(*p),
        Target::Hot => HOT,
        Target::HotFresh => HOT_FRESH,
    };
    let mut nonces = [0u64; SENDERS];
    let txs = case
        .txs
        .iter()
        .enumerate()
        .map(|(index, (sender, action))| {
            let call = |input: Vec<u8>, value: u64, gas: u64| (PROBE, input, value, gas);
            let (to, input, value, gas) = match action {
                Action::Transfer(to, value) => {
                    let gas = if matches!(to, Target::Precompile(_)) {
                        100_000
                    } else {
                        21_000
                    };
                    (target(to, index), Vec::new(), *value, gas)
                }
                Action::BumpOwn => call(
                    ParallelProbe::bumpCall {
                        slot: U256::from(1_000 + sender),
                    }
                    .abi_encode(),
                    0,
                    100_000,
                ),
                Action::BumpOf(other) => call(
                    ParallelProbe::bumpCall {
                        slot: U256::from(1_000 + other),
                    }
                    .abi_encode(),
                    0,
                    100_000,
                ),
                Action::NonceGap => call(
                    ParallelProbe::bumpCall {
                        slot: U256::from(1),
                    }
                    .abi_encode(),
                    0,
                    100_000,
                ),
                Action::Heavy => call(
                    ParallelProbe::bumpCall {
                        slot: U256::from(1_000 + sender),
                    }
                    .abi_encode(),
                    0,
                    5_000_000,
                ),
                Action::NoteBeneficiary => call(
                    ParallelProbe::noteCoinbaseBalanceCall {
                        slot: U256::from(2_000 + index),
                    }
                    .abi_encode(),
                    0,
                    100_000,
                ),
                Action::NoteBalanceOf(who) => call(
                    ParallelProbe::noteBalanceCall {
                        slot: U256::from(3_000 + index),
                        who: target(who, index),
                    }
                    .abi_encode(),
                    0,
                    100_000,
                ),
                Action::Send(to, value) => call(
                    ParallelProbe::sendCall {
                        to: target(to, index),
                    }
                    .abi_encode(),
                    *value,
                    100_000,
                ),
                Action::Spawn {
                    salt,
                    destroy,
                    value,
                } => call(
                    ParallelProbe::spawnCall {
                        salt: U256::from(salt.unwrap_or(1_000 + index as u64)),
                        destroy: *destroy,
                        heir: fresh(index),
                    }
                    .abi_encode(),
                    *value,
                    300_000,
                ),
                Action::Fail => call(
                    ParallelProbe::failCall {
                        slot: U256::from(1_000 + sender),
                    }
                    .abi_encode(),
                    0,
                    100_000,
                ),
                Action::Burn => call(ParallelProbe::burnCall {}.abi_encode(), 0, 60_000),
                Action::ReadAnchor => (
                    CHILD_BRIDGE_ADDRESS,
                    ChildBridge::latestAnchorCall {}.abi_encode(),
                    0,
                    100_000,
                ),
                Action::Withdraw(value) => (
                    CHILD_BRIDGE_ADDRESS,
                    ChildBridge::withdrawCall { to: fresh(index) }.abi_encode(),
                    *value,
                    200_000,
                ),
            };
            let nonce = match action {
                Action::NonceGap => nonces[*sender] + 3,
                _ => {
                    nonces[*sender] += 1;
                    nonces[*sender] - 1
                }
            };
            let signed = sign_transaction(
                &key(*sender),
                TxEip1559 {
                    chain_id: CHAIN_ID,
                    nonce,
                    gas_limit: gas,
                    max_fee_per_gas: 3_000_000_000,
                    max_priority_fee_per_gas: 1_000_000_000 + (index as u128 % 7),
                    to: TxKind::Call(to),
                    value: U256::from(value),
                    input: Bytes::from(input),
                    ..Default::default()
                },
            );
            RecoveredTx::new(signed, address_of(&key(*sender)))
        })
        .collect();
    (txs, beneficiary)
}

/// A store holding `spec()`'s genesis (it and its directory kept while the test runs), its
/// state and its head.
fn genesis() -> (tempfile::TempDir, Store, StateReader, Header) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    write_genesis(&store, &spec()).unwrap();
    let reader = store.reader().unwrap();
    let state = reader.state().unwrap();
    let head = reader.head().unwrap().unwrap();
    (dir, store, state, head)
}

/// Everything a block's execution yields, as the chain stores and compares it; a difference
/// in state is named by the accounts it is in, not printed whole.
fn assert_same(two: &ExecutedBlock, one: &ExecutedBlock) -> Result<(), TestCaseError> {
    prop_assert_eq!(&two.transactions, &one.transactions);
    prop_assert_eq!(&two.skipped, &one.skipped);
    prop_assert_eq!(two.gas_used, one.gas_used);
    prop_assert_eq!(&two.receipts, &one.receipts);
    prop_assert_eq!(two.logs_bloom, one.logs_bloom);
    let (two, one) = (&two.changes, &one.changes);
    let accounts: Vec<_> = two
        .accounts
        .keys()
        .chain(one.accounts.keys())
        .filter(|address| two.accounts.get(*address) != one.accounts.get(*address))
        .map(|address| {
            (
                address,
                two.accounts.get(address),
                one.accounts.get(address),
            )
        })
        .collect();
    prop_assert!(
        accounts.is_empty(),
        "accounts (two threads, one): {accounts:?}"
    );
    let storage: Vec<_> = two
        .storage
        .keys()
        .chain(one.storage.keys())
        .filter(|address| two.storage.get(*address) != one.storage.get(*address))
        .map(|address| (address, two.storage.get(address), one.storage.get(address)))
        .collect();
    prop_assert!(
        storage.is_empty(),
        "storage (two threads, one): {storage:?}"
    );
    prop_assert_eq!(&two.codes, &one.codes);
    Ok(())
}

#[test]
fn a_block_on_two_threads_gives_what_it_gives_on_one() {
    let (_dir, _store, state, head) = genesis();
    let kept = Cell::new(0);
    let thrown_away = Cell::new(0);
    // Forty cases from a fixed seed unless PROPTEST_CASES and PROPTEST_RNG_SEED say otherwise:
    // the check below that both paths were taken must not depend on the draw.
    let mut config = Config::default();
    if std::env::var("PROPTEST_CASES").is_err() {
        config.cases = 40;
    }
    if std::env::var("PROPTEST_RNG_SEED").is_err() {
        config.rng_seed = RngSeed::Fixed(0x2_7412);
    }
    let cases = config.cases;
    let mut runner = TestRunner::new(config);
    runner
        .run(&case(), |case| {
            let (txs, beneficiary) = transactions(&case);
            let mut chain = ChainConfig::from(&spec());
            chain.anchored = case.anchored;
            let mut block = BlockContext::of(&head);
            block.number += 1;
            block.timestamp += 2;
            block.beneficiary = beneficiary;
            block.anchor = B256::repeat_byte(0xa7);
            block.gas_limit = match &case.room_for {
                Some(index) => txs[..index.index(txs.len()) + 1]
                    .iter()
                    .map(|tx| alloy_consensus::Transaction::gas_limit(&tx.tx))
                    .sum(),
                None => 1 << 40,
            };
            let two = execute_block(
                &state,
                &chain,
                &block,
                txs.clone(),
                case.mode,
                &TwoThreads::default(),
            );
            let one = execute_block_on(
                StateDb { reader: &state },
                &chain,
                &block,
                txs,
                case.mode,
                u64::MAX,
            );
            match (two, one) {
                (Ok(two), Ok(one)) => {
                    assert_same(&two, &one)?;
                    if two.on_two_threads > 0 {
                        kept.set(kept.get() + 1);
                    } else {
                        thrown_away.set(thrown_away.get() + 1);
                    }
                }
                (Err(two), Err(one)) => prop_assert_eq!(two.to_string(), one.to_string()),
                (two, one) => prop_assert!(
                    false,
                    "two threads: {:?}, one: {:?}",
                    two.map(|b| b.gas_used),
                    one.map(|b| b.gas_used)
                ),
            }
            Ok(())
        })
        .unwrap();
    // Both paths were taken, so neither passed by never running.
    eprintln!(
        "kept {} and thrown away {} of {cases}",
        kept.get(),
        thrown_away.get()
    );
    assert!(
        kept.get() >= cases as usize / 10,
        "kept {} of {cases}",
        kept.get()
    );
    assert!(
        thrown_away.get() >= cases as usize / 10,
        "thrown away {} of {cases}",
        thrown_away.get()
    );
}

/// A deposit address's block: every transaction pays one funded account. The payments are
/// credits, so the whole block stays on two threads and gives what one thread gives; the
/// property test above cannot tell a block that fell back from one that was kept.
#[test]
fn payments_into_one_account_stay_on_two_threads() {
    let (_dir, _store, state, head) = genesis();
    let case = Case {
        txs: (0..600)
            .map(|i| (i % SENDERS, Action::Transfer(Target::Hot, i as u64)))
            .collect(),
        beneficiary: Beneficiary::Fresh,
        mode: Mode::Import,
        anchored: false,
        room_for: None,
    };
    let (txs, beneficiary) = transactions(&case);
    let chain = ChainConfig::from(&spec());
    let mut block = BlockContext::of(&head);
    block.number += 1;
    block.timestamp += 2;
    block.beneficiary = beneficiary;
    block.gas_limit = 1 << 40;
    let two = execute_block(
        &state,
        &chain,
        &block,
        txs.clone(),
        Mode::Import,
        &TwoThreads::default(),
    )
    .unwrap();
    let one = execute_block_on(
        StateDb { reader: &state },
        &chain,
        &block,
        txs,
        Mode::Import,
        u64::MAX,
    )
    .unwrap();
    assert_eq!(two.on_two_threads, 600, "the payments did not conflict");
    assert_same(&two, &one).unwrap();
    let paid: u64 = (0..600).sum();
    assert_eq!(
        two.changes.accounts[&HOT].unwrap().balance,
        U256::from(ANKR) + U256::from(paid)
    );
}
