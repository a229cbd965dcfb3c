//! A block built by one chain imports on another; every tampering is refused by name; a
//! restart resumes from disk.

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, TxKind, U256};
use ankr_chain::{Chain, Contents, ImportError, Sealer};
use ankr_types::{
    Block, ChainSpec, GenesisAccount, HeaderRuleError,
    chain_spec::ANKR,
    recovery::{address_of, sign_transaction},
};

fn key() -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array([7; 32]).unwrap()
}

fn spec() -> ChainSpec {
    let mut spec = ChainSpec {
        name: "test".into(),
        chain_id: 42424,
        gas_limit: 30_000_000,
        max_tx_gas: 16_777_216,
        block_reward: U256::from(2 * ANKR),
        target_block_time_ms: 2000,
        initial_base_fee: 1_000_000_000,
        genesis_timestamp: 1_700_000_000,
        genesis_difficulty: U256::from(1 << 20),
        allow_dev_seal: true,
        operator: None,
        pouw: Default::default(),
        system_contracts: Default::default(),
        alloc: Default::default(),
    };
    spec.alloc.insert(
        address_of(&key()),
        GenesisAccount {
            balance: U256::from(10 * ANKR),
            ..Default::default()
        },
    );
    spec
}

fn send(chain: &Chain, nonce: u64) -> B256 {
    chain
        .submit_raw_transaction(&transfer(nonce).encoded_2718())
        .unwrap()
}

/// A signed transfer of 1000 wei from `key()` at `nonce`.
fn transfer(nonce: u64) -> ankr_types::TxEnvelope {
    transfer_from(&key(), nonce, 21_000, 1_000_000_000)
}

/// A transfer from `key` with its own gas limit and priority fee (`tip`).
fn transfer_from(
    key: &secp256k1::SecretKey,
    nonce: u64,
    gas_limit: u64,
    tip: u128,
) -> ankr_types::TxEnvelope {
    sign_transaction(
        key,
        TxEip1559 {
            chain_id: 42424,
            nonce,
            gas_limit,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: tip,
            to: TxKind::Call(Address::repeat_byte(1)),
            value: U256::from(1000),
            ..Default::default()
        },
    )
}

fn block_at(chain: &Chain, number: u64) -> Block {
    let reader = chain.reader().unwrap();
    let header = reader.header_by_number(number).unwrap().unwrap();
    let body = reader.body(header.hash()).unwrap().unwrap();
    Block {
        header,
        transactions: body.transactions,
    }
}

#[test]
fn blocks_move_between_chains_and_survive_restart() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Chain::open(a_dir.path(), spec()).unwrap();
    let b = Chain::open(b_dir.path(), spec()).unwrap();
    assert_eq!(a.head().hash(), b.head().hash(), "same spec, same genesis");

    for round in 0..3 {
        send(&a, round);
        send(&a, round + 10); // nonce gap: stays queued, never mined
        let header = a
            .build_block(
                Address::repeat_byte(0xbe),
                1_700_000_000 + round,
                &Sealer::Dev,
                Contents::AnyNumber,
            )
            .unwrap()
            .expect("any number of transactions makes a block");
        let block = block_at(&a, header.number);
        assert_eq!(block.transactions.len(), 1);
        b.import_raw_block(&alloy_rlp::encode(&block)).unwrap();
    }
    assert_eq!(a.head(), b.head());
    assert_eq!(a.pool_size(), 3, "gapped transactions wait in the pool");
    let nothing_ready = a
        .build_block(
            Address::repeat_byte(0xbe),
            1_700_000_010,
            &Sealer::Dev,
            Contents::NonEmpty,
        )
        .unwrap();
    assert!(
        nothing_ready.is_none(),
        "instant sealing makes no empty block for gapped transactions"
    );

    let head = b.head();
    drop(b);
    let b = Chain::open(b_dir.path(), spec()).unwrap();
    assert_eq!(
        b.head(),
        head,
        "restart resumes from the last committed block"
    );
    let state = b.reader().unwrap().state().unwrap();
    assert_eq!(
        state
            .account(Address::repeat_byte(1))
            .unwrap()
            .unwrap()
            .balance,
        U256::from(3000)
    );
}

#[test]
fn tampered_blocks_are_refused_by_the_rule_they_break() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Chain::open(a_dir.path(), spec()).unwrap();
    let b = Chain::open(b_dir.path(), spec()).unwrap();
    send(&a, 0);
    a.build_block(
        Address::repeat_byte(0xbe),
        1_700_000_001,
        &Sealer::Dev,
        Contents::AnyNumber,
    )
    .unwrap();
    let good = block_at(&a, 1);

    let tamper = |f: &dyn Fn(&mut Block)| {
        let mut block = good.clone();
        f(&mut block);
        b.import_block(block).unwrap_err()
    };
    assert!(matches!(
        tamper(&|b| b.header.state_root = B256::repeat_byte(1)),
        ImportError::WrongStateRoot { .. }
    ));
    assert!(matches!(
        tamper(&|b| b.header.gas_used += 1),
        ImportError::WrongGasUsed { .. }
    ));
    assert!(matches!(
        tamper(&|b| b.header.base_fee_per_gas += 1),
        ImportError::HeaderRule(HeaderRuleError::WrongBaseFee { .. })
    ));
    assert!(matches!(
        tamper(&|b| b.header.number = 2),
        ImportError::HeaderRule(HeaderRuleError::WrongNumber { .. })
    ));
    assert!(matches!(
        tamper(&|b| b.header.parent_hash = B256::repeat_byte(3)),
        ImportError::UnknownParent(_)
    ));
    assert!(matches!(
        tamper(&|b| b.header.timestamp = u64::MAX / 2),
        ImportError::TimestampInFuture { .. }
    ));
    assert!(matches!(
        tamper(&|b| b.header.receipts_root = B256::ZERO),
        ImportError::WrongReceiptsRoot { .. }
    ));
    assert!(matches!(
        tamper(&|b| {
            b.transactions.clear();
        }),
        ImportError::WrongTransactionsRoot { .. }
    ));
    assert!(matches!(
        b.import_raw_block(&[0xc0, 0x01]),
        Err(ImportError::Decode(_))
    ));
    assert_eq!(b.head().number, 0, "nothing of a refused block was written");
    b.import_block(good.clone()).unwrap();
    assert!(matches!(
        b.import_block(good),
        Err(ImportError::AlreadyKnown(_))
    ));

    let mut no_dev = spec();
    no_dev.allow_dev_seal = false;
    let c_dir = tempfile::tempdir().unwrap();
    let c = Chain::open(c_dir.path(), no_dev).unwrap();
    let block = block_at(&a, 1);
    assert!(matches!(
        c.import_block(block),
        Err(ImportError::DevSealNotAllowed)
    ));
}

#[test]
fn a_reorganisation_cut_short_by_a_crash_is_finished_on_the_next_open() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Chain::open(a_dir.path(), spec()).unwrap();
    let b = Chain::open(b_dir.path(), spec()).unwrap();
    // A: three blocks. B: four other blocks (more work), one with a transfer.
    for n in 1..=3 {
        a.build_block(
            Address::repeat_byte(0xaa),
            1_700_000_000 + n,
            &Sealer::Dev,
            Contents::AnyNumber,
        )
        .unwrap();
    }
    let previous = a.head().hash();
    send(&b, 0);
    for n in 1..=4 {
        b.build_block(
            Address::repeat_byte(0xbb),
            1_700_000_000 + n,
            &Sealer::Dev,
            Contents::AnyNumber,
        )
        .unwrap();
    }
    for n in 1..=4 {
        a.import_raw_block(&alloy_rlp::encode(block_at(&b, n)))
            .unwrap();
    }
    assert_eq!(a.head(), b.head(), "the heavier branch won");
    let tip = a.head().hash();
    drop(a);

    // The store as a crash leaves it midway: the move to B's tip recorded, the branch adopted
    // only up to block 2.
    {
        let store = ankr_storage::Store::open(a_dir.path()).unwrap();
        let mut writer = store.begin_block().unwrap();
        writer.set_reorg_target(Some((tip, previous))).unwrap();
        writer.unwind_head().unwrap();
        writer.unwind_head().unwrap();
        writer.commit().unwrap();
        assert_eq!(store.reader().unwrap().head().unwrap().unwrap().number, 2);
    }
    let a = Chain::open(a_dir.path(), spec()).unwrap();
    assert_eq!(a.head(), b.head(), "the open finished the reorganisation");
    assert_eq!(a.reader().unwrap().reorg_target().unwrap(), None);
    let balance = |chain: &Chain| {
        let state = chain.reader().unwrap().state().unwrap();
        state
            .account(Address::repeat_byte(1))
            .unwrap()
            .unwrap()
            .balance
    };
    assert_eq!(balance(&a), balance(&b));
}

/// An EVM child chain's spec: sealed only by `operator`'s signature.
fn operator_spec(operator: Address) -> ChainSpec {
    ChainSpec {
        allow_dev_seal: false,
        operator: Some(operator),
        ..spec()
    }
}

fn operator_key() -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array([9; 32]).unwrap()
}

#[test]
fn an_operator_chain_takes_only_its_operators_signature() {
    let operator = address_of(&operator_key());
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Chain::open(a_dir.path(), operator_spec(operator)).unwrap();
    let b = Chain::open(b_dir.path(), operator_spec(operator)).unwrap();
    send(&a, 0);
    let header = a
        .build_block(
            Address::repeat_byte(0xbe),
            1_700_000_001,
            &Sealer::Operator(operator_key()),
            Contents::AnyNumber,
        )
        .unwrap()
        .unwrap();
    let honest = block_at(&a, header.number);
    assert_eq!(
        honest
            .header
            .seal
            .operator_signer(42424, honest.header.template_hash()),
        Some(operator)
    );

    // Someone else's key, the dev seal, a PoUW seal, or the operator's signature moved to
    // another block: each is refused by its rule and nothing is written.
    let impostor = secp256k1::SecretKey::from_byte_array([3; 32]).unwrap();
    let mut forged = honest.clone();
    forged.header.seal =
        ankr_types::Seal::operator(&impostor, 42424, forged.header.template_hash());
    assert!(matches!(
        b.import_block(forged),
        Err(ImportError::WrongOperator { expected, got: Some(got) })
            if expected == operator && got == address_of(&impostor)
    ));
    let mut other_chain = honest.clone();
    other_chain.header.seal =
        ankr_types::Seal::operator(&operator_key(), 1, other_chain.header.template_hash());
    assert!(matches!(
        b.import_block(other_chain),
        Err(ImportError::WrongOperator { .. })
    ));
    let mut moved = honest.clone();
    moved.header.extra_data = alloy_primitives::Bytes::from_static(b"changed");
    assert!(matches!(
        b.import_block(moved),
        Err(ImportError::WrongOperator { .. })
    ));
    let mut dev = honest.clone();
    dev.header.seal = ankr_types::Seal::dev();
    assert!(matches!(
        b.import_block(dev),
        Err(ImportError::DevSealNotAllowed)
    ));
    let mut work = honest.clone();
    work.header.seal.kind = ankr_types::SealKind::UsefulWork;
    assert!(matches!(
        b.import_block(work),
        Err(ImportError::UsefulWorkOnOperatorChain { .. })
    ));
    assert_eq!(b.head().number, 0, "no refused block was written");

    b.import_block(honest).unwrap();
    assert_eq!(a.head(), b.head());

    // A main chain (no operator; same alloc, so the same genesis) refuses operator seals.
    let c_dir = tempfile::tempdir().unwrap();
    let main = Chain::open(c_dir.path(), spec()).unwrap();
    assert_eq!(
        main.head().hash(),
        a.reader()
            .unwrap()
            .header_by_number(0)
            .unwrap()
            .unwrap()
            .hash()
    );
    assert!(matches!(
        main.import_block(block_at(&a, 1)),
        Err(ImportError::OperatorSealNotAllowed)
    ));
}

/// A thread that builds blocks one after another (a busy instant-sealing node) until stopped.
struct NonStopBuilder {
    building: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl NonStopBuilder {
    fn start(chain: &std::sync::Arc<Chain>) -> Self {
        let building = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (chain, flag) = (chain.clone(), building.clone());
        let thread = std::thread::spawn(move || {
            let mut time = 1_700_000_000;
            while flag.load(std::sync::atomic::Ordering::Relaxed) {
                time += 1;
                chain
                    .build_block(Address::ZERO, time, &Sealer::Dev, Contents::NonEmpty)
                    .unwrap();
            }
        });
        Self { building, thread }
    }

    fn stop(self) {
        self.building
            .store(false, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap();
    }
}

/// A client asks for its pending nonce, signs with it and sends, while blocks land in
/// between (a busy relay on an instant-sealing node). Every answer must be usable: the head's
/// nonce and the pool are read together, so a block that mined and pruned a transaction
/// between the two reads cannot hand out that transaction's nonce again.
#[test]
fn the_pending_nonce_is_never_one_a_landed_block_just_used() {
    let dir = tempfile::tempdir().unwrap();
    let chain = std::sync::Arc::new(Chain::open(dir.path(), spec()).unwrap());
    let sender = address_of(&key());
    let builder = NonStopBuilder::start(&chain);
    for _ in 0..400 {
        let nonce = chain.pending_nonce(sender).unwrap();
        if let Err(error) = chain.submit_raw_transaction(&transfer(nonce).encoded_2718()) {
            builder.stop();
            panic!("nonce {nonce} from pending_nonce was refused: {error}");
        }
    }
    builder.stop();
}

/// A client that counts its own nonces sends them one after another while blocks land in
/// between. Each must enter the pool as pending: the pool judges a transaction against the
/// head's nonce read under its lock, so a block that mined and pruned the sender's earlier
/// transactions between the two cannot make the next one look like it is behind a gap (the
/// oracle bench's 4,000 requests were refused after 16 such "queued" ones).
#[test]
fn a_transaction_sent_while_blocks_land_is_never_queued_behind_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let chain = std::sync::Arc::new(Chain::open(dir.path(), spec()).unwrap());
    let sender = address_of(&key());
    let builder = NonStopBuilder::start(&chain);
    let mut queued = Vec::new();
    for nonce in 0..400 {
        if let Err(error) = chain.submit_raw_transaction(&transfer(nonce).encoded_2718()) {
            builder.stop();
            panic!("nonce {nonce} was refused: {error}");
        }
        if chain.pool_content().queued.contains_key(&sender) {
            queued.push(nonce);
        }
    }
    builder.stop();
    assert!(
        queued.is_empty(),
        "queued behind a gap that was not there: {queued:?}"
    );
}

/// A builder passes over a transaction that does not fit in the gas a block has left, and with
/// it its sender's later transactions: they wait in the pool for the next block. (Run, the
/// later one failed "nonce too high" and was dropped from the pool as invalid, so a relay whose
/// first big batch did not fit lost its second one.)
#[test]
fn a_sender_passed_over_in_a_full_block_keeps_its_later_transactions() {
    let other = secp256k1::SecretKey::from_byte_array([8; 32]).unwrap();
    let mut spec = spec();
    spec.gas_limit = 50_000;
    spec.max_tx_gas = 50_000;
    spec.alloc.insert(
        address_of(&other),
        GenesisAccount {
            balance: U256::from(10 * ANKR),
            ..Default::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let chain = Chain::open(dir.path(), spec).unwrap();
    let tx = |key: &secp256k1::SecretKey, nonce: u64, gas_limit: u64, tip: u128| {
        chain
            .submit_raw_transaction(&transfer_from(key, nonce, gas_limit, tip).encoded_2718())
            .unwrap()
    };
    // The other sender pays the higher tip and goes first: 21,000 of the 50,000 gas are used,
    // so the first of ours (a 30,000 limit) does not fit, and our second must wait behind it.
    let first_in = tx(&other, 0, 21_000, 5_000_000_000);
    let ours = [
        tx(&key(), 0, 30_000, 1_000_000_000),
        tx(&key(), 1, 21_000, 1_000_000_000),
    ];
    let mut time = 1_700_000_000;
    let mut build = || {
        time += 2;
        chain
            .build_block(Address::ZERO, time, &Sealer::Dev, Contents::NonEmpty)
            .unwrap();
        let head = chain.head();
        block_at(&chain, head.number)
            .transactions
            .iter()
            .map(|tx| *tx.tx_hash())
            .collect::<Vec<B256>>()
    };
    assert_eq!(build(), vec![first_in]);
    let pooled = chain.pool_content();
    let waiting = pooled.pending.get(&address_of(&key())).map_or(0, Vec::len)
        + pooled.queued.get(&address_of(&key())).map_or(0, Vec::len);
    assert_eq!(waiting, 2, "both of ours wait for the next block");
    assert_eq!(build(), ours.to_vec());
}
