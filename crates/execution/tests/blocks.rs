//! Blocks of real signed transactions and real contracts through revm and redb.

use alloy_consensus::{Transaction, TxEip1559, TxLegacy};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_sol_types::{SolCall, SolConstructor, SolError, SolEvent};
use ankr_contracts::{ExampleToken, artifact};
use ankr_execution::{
    BlockContext, CallOutcome, CallRequest, ChainConfig, Mode, TwoThreads, call, estimate_gas,
    execute_block, write_genesis,
};
use ankr_storage::{Store, StoredBody};
use ankr_types::{
    ChainSpec, GenesisAccount, RecoveredTx,
    chain_spec::ANKR,
    recovery::{address_of, recover_sender, sign_transaction},
};

const CHAIN_ID: u64 = 42424;

fn key(byte: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array([byte; 32]).unwrap()
}

fn spec() -> ChainSpec {
    let mut spec: ChainSpec = toml::from_str(&format!(
        r#"name = "test"
        chain_id = {CHAIN_ID}
        gas_limit = 30000000
        max_tx_gas = 16777216
        block_reward = "2000000000000000000"
        target_block_time_ms = 2000
        initial_base_fee = 1000000000"#
    ))
    .unwrap();
    for byte in 1..=3 {
        spec.alloc.insert(
            address_of(&key(byte)),
            GenesisAccount {
                balance: U256::from(100 * ANKR),
                ..Default::default()
            },
        );
    }
    spec
}

fn tx(secret: u8, nonce: u64, to: TxKind, value: U256, input: Bytes, gas: u64) -> RecoveredTx {
    let signed = sign_transaction(
        &key(secret),
        TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to,
            value,
            input,
            ..Default::default()
        },
    );
    let sender = recover_sender(&signed).unwrap();
    RecoveredTx::new(signed, sender)
}

/// The first transaction (nonce 0) of account `secret`: deploy an ExampleToken whose whole
/// `supply` goes to that account. The token lands at `address_of(&key(secret)).create(0)`.
fn deploy_token(secret: u8, supply: u64) -> RecoveredTx {
    let code = artifact("ExampleToken").unwrap().bytecode;
    let args = ExampleToken::constructorCall {
        name_: "Example".into(),
        symbol_: "EXM".into(),
        supply: U256::from(supply),
    }
    .abi_encode();
    let input = [code.as_ref(), &args].concat().into();
    tx(secret, 0, TxKind::Create, U256::ZERO, input, 2_000_000)
}

/// Account `secret`'s transaction `nonce`: `amount` of the token deployed by [`deploy_token`]
/// to address 0x0909…09.
fn transfer_token(secret: u8, nonce: u64, amount: u64) -> RecoveredTx {
    let token = address_of(&key(secret)).create(0);
    let input = ExampleToken::transferCall {
        to: Address::repeat_byte(9),
        value: U256::from(amount),
    }
    .abi_encode();
    tx(
        secret,
        nonce,
        TxKind::Call(token),
        U256::ZERO,
        input.into(),
        100_000,
    )
}

/// Executes and commits one block on the head, returning what ran.
fn commit_block(store: &Store, txs: Vec<RecoveredTx>, mode: Mode) -> ankr_execution::ExecutedBlock {
    let chain = ChainConfig::from(&spec());
    let reader = store.reader().unwrap();
    let parent = reader.head().unwrap().unwrap();
    let mut header = parent.clone();
    header.parent_hash = parent.hash();
    header.number += 1;
    header.timestamp += 2;
    header.beneficiary = Address::repeat_byte(0xbe);
    let executed = execute_block(
        &reader.state().unwrap(),
        &chain,
        &BlockContext::of(&header),
        txs,
        mode,
        &TwoThreads::default(),
    )
    .unwrap();
    let mut writer = store.begin_block().unwrap();
    writer
        .apply_state(header.number, &executed.changes)
        .unwrap();
    header.state_root = writer.state_root().unwrap();
    let body = StoredBody {
        transactions: executed.transactions.iter().map(|t| t.tx.clone()).collect(),
        senders: executed.transactions.iter().map(|t| t.sender).collect(),
    };
    writer
        .insert_canonical_block(&header, &body, &executed.receipts, U256::ZERO)
        .unwrap();
    writer.commit().unwrap();
    executed
}

fn setup() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    write_genesis(&store, &spec()).unwrap();
    (dir, store)
}

#[test]
fn transfers_pay_priority_fee_and_reward_and_burn_base_fee() {
    let (_dir, store) = setup();
    let to = Address::repeat_byte(0x77);
    let executed = commit_block(
        &store,
        vec![tx(
            1,
            0,
            TxKind::Call(to),
            U256::from(ANKR),
            Bytes::new(),
            21_000,
        )],
        Mode::Import,
    );
    assert_eq!(executed.gas_used, 21_000);
    let state = store.reader().unwrap().state().unwrap();
    assert_eq!(
        state.account(to).unwrap().unwrap().balance,
        U256::from(ANKR)
    );
    let sender = state.account(address_of(&key(1))).unwrap().unwrap();
    // Paid: value + 21000 × (base fee 1 gwei + tip 1 gwei).
    let paid = U256::from(ANKR) + U256::from(21_000u64 * 2_000_000_000);
    assert_eq!(sender.balance, U256::from(100 * ANKR) - paid);
    assert_eq!(sender.nonce, 1);
    // The sealer gets the block reward and the tip; the base fee is burned.
    let sealer = state.account(Address::repeat_byte(0xbe)).unwrap().unwrap();
    assert_eq!(
        sealer.balance,
        U256::from(2 * ANKR) + U256::from(21_000u64 * 1_000_000_000)
    );
}

#[test]
fn erc20_deploy_transfer_logs_and_custom_error_revert() {
    let (_dir, store) = setup();
    let deploy = deploy_token(1, 1000);
    let token = address_of(&key(1)).create(0);
    let transfer = |nonce, amount| transfer_token(1, nonce, amount);
    let executed = commit_block(
        &store,
        vec![deploy, transfer(1, 400), transfer(2, 700)],
        Mode::Import,
    );
    let statuses: Vec<_> = executed.receipts.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses,
        vec![true, true, false],
        "the third transfer exceeds the balance"
    );
    let logs = executed.receipts[1].logs();
    let event = ExampleToken::Transfer::decode_log(&logs[0]).unwrap();
    assert_eq!(
        (event.from, event.to, event.value),
        (
            address_of(&key(1)),
            Address::repeat_byte(9),
            U256::from(400)
        )
    );
    assert!(executed.receipts[2].logs().is_empty());

    let reader = store.reader().unwrap();
    let state = reader.state().unwrap();
    let head = reader.head().unwrap().unwrap();
    let chain = ChainConfig::from(&spec());
    let balance_of = |who: Address| {
        let request = CallRequest {
            to: Some(token),
            input: ExampleToken::balanceOfCall(who).abi_encode().into(),
            ..Default::default()
        };
        match call(&state, &chain, &BlockContext::of(&head), &request).unwrap() {
            CallOutcome::Success { output, .. } => U256::from_be_slice(&output),
            other => panic!("balanceOf failed: {other:?}"),
        }
    };
    assert_eq!(balance_of(Address::repeat_byte(9)), U256::from(400));
    assert_eq!(balance_of(address_of(&key(1))), U256::from(600));

    // A reverting call returns the contract's custom error data.
    let request = CallRequest {
        from: Some(address_of(&key(2))),
        to: Some(token),
        input: ExampleToken::transferCall {
            to: Address::ZERO,
            value: U256::from(1),
        }
        .abi_encode()
        .into(),
        ..Default::default()
    };
    let CallOutcome::Revert { output, .. } =
        call(&state, &chain, &BlockContext::of(&head), &request).unwrap()
    else {
        panic!("expected a revert")
    };
    let error = ExampleToken::InsufficientBalance::abi_decode(&output).unwrap();
    assert_eq!(error.required, U256::from(1));

    // Estimation finds a limit that works and is no larger than needed.
    let request = CallRequest {
        from: Some(address_of(&key(1))),
        ..request
    };
    let estimate = estimate_gas(&state, &chain, &BlockContext::of(&head), &request).unwrap();
    let tight = CallRequest {
        gas: Some(estimate - 1),
        ..request.clone()
    };
    assert!(matches!(
        call(
            &state,
            &chain,
            &BlockContext::of(&head),
            &CallRequest {
                gas: Some(estimate),
                ..request
            }
        )
        .unwrap(),
        CallOutcome::Success { .. }
    ));
    assert!(!matches!(
        call(&state, &chain, &BlockContext::of(&head), &tight).unwrap(),
        CallOutcome::Success { .. }
    ));
}

#[test]
fn a_block_records_new_code_and_not_code_it_only_called() {
    let (_dir, store) = setup();
    let token = address_of(&key(1)).create(0);
    let transfer = |nonce| transfer_token(1, nonce, 1);
    // Deployed and called in one block: its code is recorded once.
    let deployed = commit_block(
        &store,
        vec![deploy_token(1, 1000), transfer(1), transfer(2)],
        Mode::Import,
    );
    let reader = store.reader().unwrap();
    let code_hash = reader
        .state()
        .unwrap()
        .account(token)
        .unwrap()
        .unwrap()
        .code_hash;
    assert_eq!(
        deployed.changes.codes.keys().collect::<Vec<_>>(),
        vec![&code_hash]
    );
    // Only called: the contract is touched by every transaction, its code is already stored.
    let called = commit_block(&store, vec![transfer(3), transfer(4)], Mode::Import);
    assert!(called.receipts.iter().all(|r| r.status()));
    assert!(
        called.changes.codes.is_empty(),
        "{:?}",
        called.changes.codes
    );
}

#[test]
fn import_rejects_what_build_skips() {
    let (_dir, store) = setup();
    let reader = store.reader().unwrap();
    let head = reader.head().unwrap().unwrap();
    let chain = ChainConfig::from(&spec());
    let nonce_gap = tx(
        1,
        5,
        TxKind::Call(Address::ZERO),
        U256::ZERO,
        Bytes::new(),
        21_000,
    );
    let good = tx(
        2,
        0,
        TxKind::Call(Address::ZERO),
        U256::ZERO,
        Bytes::new(),
        21_000,
    );
    let ctx = BlockContext::of(&head);
    let built = execute_block(
        &reader.state().unwrap(),
        &chain,
        &ctx,
        vec![nonce_gap.clone(), good.clone()],
        Mode::Build,
        &TwoThreads::default(),
    )
    .unwrap();
    assert_eq!(built.transactions, vec![good.clone()]);
    assert_eq!(built.skipped.len(), 1);
    let err = execute_block(
        &reader.state().unwrap(),
        &chain,
        &ctx,
        vec![nonce_gap, good],
        Mode::Import,
        &TwoThreads::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("nonce"), "{err}");
}

#[test]
fn legacy_eip155_transaction_runs() {
    let (_dir, store) = setup();
    let signed = sign_transaction(
        &key(3),
        TxLegacy {
            chain_id: Some(CHAIN_ID),
            nonce: 0,
            gas_price: 2_000_000_000,
            gas_limit: 21_000,
            to: TxKind::Call(Address::repeat_byte(5)),
            value: U256::from(7),
            input: Bytes::new(),
        },
    );
    assert_eq!(signed.chain_id(), Some(CHAIN_ID));
    let sender = recover_sender(&signed).unwrap();
    let executed = commit_block(&store, vec![RecoveredTx::new(signed, sender)], Mode::Import);
    assert!(executed.receipts[0].status());
}

/// Blocks larger than a chunk read accounts ahead on another thread and execution reads them
/// from there; those parent-state reads must never shadow what earlier transactions of the same
/// block changed (put the read-ahead map above the block's changes and this fails).
#[test]
fn prefetched_accounts_never_shadow_changes_made_earlier_in_the_block() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let keys: Vec<secp256k1::SecretKey> = (0..300u32)
        .map(|i| {
            let mut bytes = [7u8; 32];
            bytes[..4].copy_from_slice(&(i + 1).to_be_bytes());
            secp256k1::SecretKey::from_byte_array(bytes).unwrap()
        })
        .collect();
    let mut spec = spec();
    spec.gas_limit = 1 << 40;
    for key in &keys {
        spec.alloc.insert(
            address_of(key),
            GenesisAccount {
                balance: U256::from(ANKR),
                ..Default::default()
            },
        );
    }
    write_genesis(&store, &spec).unwrap();
    // Round 1 (nonce 0) then round 2 (nonce 1): each account pays the next one 1000 wei, so
    // round 2 reads accounts that round 1, in an earlier chunk, changed.
    let mut txs = Vec::new();
    for nonce in 0..2u64 {
        for (i, key) in keys.iter().enumerate() {
            let next = address_of(&keys[(i + 1) % keys.len()]);
            let signed = sign_transaction(
                key,
                TxEip1559 {
                    chain_id: CHAIN_ID,
                    nonce,
                    gas_limit: 21_000,
                    max_fee_per_gas: 2_000_000_000,
                    max_priority_fee_per_gas: 0,
                    to: TxKind::Call(next),
                    value: U256::from(1000),
                    ..Default::default()
                },
            );
            txs.push(RecoveredTx::new(signed, address_of(key)));
        }
    }
    let reader = store.reader().unwrap();
    let head = reader.head().unwrap().unwrap();
    let executed = execute_block(
        &reader.state().unwrap(),
        &ChainConfig::from(&spec),
        &BlockContext::of(&head),
        txs,
        Mode::Import,
        &TwoThreads::default(),
    )
    .unwrap();
    assert_eq!(executed.receipts.len(), 600);
    let fee = U256::from(21_000u64 * 1_000_000_000); // base fee 1 gwei, no tip
    for key in &keys {
        let account = executed.changes.accounts[&address_of(key)].unwrap();
        assert_eq!(account.nonce, 2);
        assert_eq!(account.balance, U256::from(ANKR) - fee * U256::from(2));
    }
}

/// A block of several chunks runs with a helper thread beside execution (reading ahead,
/// sealing receipts with their blooms); it must come out exactly as the same block run on one
/// thread: receipts, blooms, the transactions kept, what was skipped and every state change.
#[test]
fn a_block_run_with_its_helper_thread_equals_one_run_on_one_thread() {
    let (_dir, store) = setup();
    let token_owner = 1u8;
    commit_block(
        &store,
        vec![deploy_token(token_owner, 1_000_000)],
        Mode::Import,
    );
    let token = address_of(&key(token_owner)).create(0);
    let mut txs = Vec::new();
    for i in 0..700u64 {
        let to = Address::from_word(U256::from(i + 1_000).into());
        txs.push(match i % 3 {
            // Token transfers log a Transfer event: their receipts carry blooms.
            0 | 1 => {
                let call = ExampleToken::transferCall {
                    to,
                    value: U256::from(1),
                };
                tx(
                    token_owner,
                    i + 1,
                    TxKind::Call(token),
                    U256::ZERO,
                    call.abi_encode().into(),
                    100_000,
                )
            }
            _ => tx(
                token_owner,
                i + 1,
                TxKind::Call(to),
                U256::from(5),
                Bytes::new(),
                21_000,
            ),
        });
        // A transaction a builder must skip, in the middle of a chunk: a reused nonce.
        if i == 300 {
            txs.push(tx(
                2,
                7,
                TxKind::Call(to),
                U256::from(1),
                Bytes::new(),
                21_000,
            ));
        }
    }
    let chain = ChainConfig::from(&spec());
    let reader = store.reader().unwrap();
    let state = reader.state().unwrap();
    let mut header = reader.head().unwrap().unwrap();
    header.number += 1;
    let context = BlockContext::of(&header);
    let helped = execute_block(
        &state,
        &chain,
        &context,
        txs.clone(),
        Mode::Build,
        &TwoThreads::default(),
    )
    .unwrap();
    let alone = ankr_execution::execute_block_on(
        ankr_execution::StateDb { reader: &state },
        &chain,
        &context,
        txs,
        Mode::Build,
        u64::MAX,
    )
    .unwrap();
    assert_eq!(helped.transactions.len(), 700);
    assert_eq!(helped.skipped.len(), 1);
    assert_eq!(helped.transactions, alone.transactions);
    assert_eq!(helped.skipped, alone.skipped);
    assert_eq!(helped.receipts, alone.receipts);
    assert_ne!(helped.logs_bloom, alloy_primitives::Bloom::ZERO);
    assert_eq!(helped.logs_bloom, alone.logs_bloom);
    assert_eq!(helped.gas_used, alone.gas_used);
    assert_eq!(helped.changes, alone.changes);
}

/// Genesis places a contract at a fixed address with its storage; consensus code reads it with
/// a system call against that state.
#[test]
fn system_call_reads_a_contract_placed_by_genesis() {
    let registry = Address::repeat_byte(0x5c);
    let holder = Address::repeat_byte(0x11);
    let mut slot_preimage = [0u8; 64];
    slot_preimage[12..32].copy_from_slice(holder.as_slice());
    slot_preimage[63] = 3; // ExampleToken.balanceOf is storage slot 3
    let mut spec = spec();
    spec.alloc.insert(
        registry,
        GenesisAccount {
            code: artifact("ExampleToken").unwrap().deployed_bytecode,
            storage: [(
                alloy_primitives::keccak256(slot_preimage),
                alloy_primitives::B256::from(U256::from(77)),
            )]
            .into(),
            ..Default::default()
        },
    );
    spec.system_contracts
        .insert("ExampleRegistry".into(), registry);
    spec.validate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let genesis = write_genesis(&store, &spec).unwrap();
    let reader = store.reader().unwrap();
    let output = ankr_execution::system_call(
        &reader.state().unwrap(),
        &ChainConfig::from(&spec),
        &BlockContext::of(&genesis),
        spec.system_contracts["ExampleRegistry"],
        ExampleToken::balanceOfCall(holder).abi_encode().into(),
    )
    .unwrap();
    assert_eq!(U256::from_be_slice(&output), U256::from(77));
    // Calling something that reverts is an error a consensus rule must see.
    let failed = ankr_execution::system_call(
        &reader.state().unwrap(),
        &ChainConfig::from(&spec),
        &BlockContext::of(&genesis),
        registry,
        ExampleToken::transferCall {
            to: holder,
            value: U256::from(1),
        }
        .abi_encode()
        .into(),
    );
    assert!(matches!(
        failed,
        Err(ankr_execution::CallError::Reverted(_))
    ));
}

/// EIP-7702: an account delegates to contract code by a signed authorization, and calls to it
/// then run that code in the account's own storage. revm recovers the authorization's signer.
#[test]
fn eip7702_delegation_takes_effect() {
    let (_dir, store) = setup();
    // Deploy a token to delegate to, from account 1.
    commit_block(&store, vec![deploy_token(1, 5)], Mode::Import);
    let implementation = address_of(&key(1)).create(0);

    // Account 2 authorises delegation to it (nonce 1: its own transaction bumps it to 1 first);
    // account 2 sends the type-4 transaction itself.
    let authority = key(2);
    let authorization = alloy_eips::eip7702::Authorization {
        chain_id: U256::from(CHAIN_ID),
        address: implementation,
        nonce: 1,
    };
    let signature = ankr_types::recovery::sign_hash(&authority, authorization.signature_hash());
    let signed = sign_transaction(
        &authority,
        alloy_consensus::TxEip7702 {
            chain_id: CHAIN_ID,
            nonce: 0,
            gas_limit: 100_000,
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: Address::repeat_byte(0x99),
            authorization_list: vec![authorization.into_signed(signature)],
            ..Default::default()
        },
    );
    let sender = recover_sender(&signed).unwrap();
    let executed = commit_block(&store, vec![RecoveredTx::new(signed, sender)], Mode::Import);
    assert!(executed.receipts[0].status());

    let reader = store.reader().unwrap();
    let state = reader.state().unwrap();
    let account = state.account(address_of(&authority)).unwrap().unwrap();
    let delegated = state.code(account.code_hash).unwrap().unwrap();
    let mut designator = vec![0xef, 0x01, 0x00];
    designator.extend_from_slice(implementation.as_slice());
    assert_eq!(
        delegated.as_ref(),
        designator.as_slice(),
        "account code is the delegation designator"
    );

    // Calling the delegated account runs the token code against the account's own (empty)
    // storage: its totalSupply reads 0, the implementation's reads 5.
    let head = reader.head().unwrap().unwrap();
    let supply = |at: Address| {
        let request = CallRequest {
            to: Some(at),
            input: ExampleToken::totalSupplyCall {}.abi_encode().into(),
            ..Default::default()
        };
        match call(
            &state,
            &ChainConfig::from(&spec()),
            &BlockContext::of(&head),
            &request,
        )
        .unwrap()
        {
            CallOutcome::Success { output, .. } => U256::from_be_slice(&output),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(supply(implementation), U256::from(5));
    assert_eq!(supply(address_of(&authority)), U256::ZERO);
}
