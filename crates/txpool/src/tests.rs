use super::*;
use alloy_consensus::{TxEip1559, TxLegacy};
use alloy_eips::Encodable2718;
use alloy_primitives::{Bytes, TxKind};
use ankr_types::recovery::{address_of, sign_transaction};
use proptest::prelude::*;

const CHAIN: u64 = 42424;

fn key(i: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array([i; 32]).unwrap()
}

fn tx(signer: u8, nonce: u64, fee: u128, tip: u128) -> TxEnvelope {
    sign_transaction(
        &key(signer),
        TxEip1559 {
            chain_id: CHAIN,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: fee,
            max_priority_fee_per_gas: tip,
            to: TxKind::Call(Address::repeat_byte(1)),
            ..Default::default()
        },
    )
}

fn rich(_: Address) -> SenderState {
    SenderState {
        nonce: 0,
        balance: U256::from(10u128.pow(24)),
    }
}

fn recovered(tx: TxEnvelope) -> Result<RecoveredTx, PoolError> {
    let sender = ankr_types::recover_sender(&tx)?;
    Ok(RecoveredTx::new(tx, sender))
}

fn add(pool: &mut TxPool, tx: TxEnvelope) -> Result<B256, PoolError> {
    let len = tx.encode_2718_len();
    pool.add(recovered(tx)?, len, 10, rich)
}

fn pool() -> TxPool {
    TxPool::new(PoolConfig::new(CHAIN, 16_000_000))
}

#[test]
fn every_rejection_names_its_rule() {
    let mut p = pool();
    let wrong_chain = sign_transaction(
        &key(1),
        TxEip1559 {
            chain_id: 1,
            gas_limit: 21_000,
            max_fee_per_gas: 100,
            ..Default::default()
        },
    );
    assert!(matches!(
        add(&mut p, wrong_chain),
        Err(PoolError::WrongChainId {
            expected: CHAIN,
            got: 1
        })
    ));
    let unprotected = sign_transaction(
        &key(1),
        TxLegacy {
            chain_id: None,
            gas_limit: 21_000,
            gas_price: 100,
            ..Default::default()
        },
    );
    assert_eq!(add(&mut p, unprotected), Err(PoolError::Unprotected));
    assert!(matches!(
        add(&mut p, tx(1, 0, 5, 1)),
        Err(PoolError::Underpriced { .. })
    ));
    assert_eq!(
        add(&mut p, tx(1, 0, 50, 60)),
        Err(PoolError::TipAboveFeeCap)
    );
    let poor = |_| SenderState {
        nonce: 3,
        balance: U256::from(1),
    };
    let t = tx(1, 3, 50, 1);
    assert!(matches!(
        p.add(recovered(t.clone()).unwrap(), 100, 10, poor),
        Err(PoolError::InsufficientFunds { .. })
    ));
    let t2 = tx(1, 2, 50, 1);
    assert!(matches!(
        p.add(recovered(t2).unwrap(), 100, 10, poor),
        Err(PoolError::NonceTooLow { next: 3, got: 2 })
    ));
    assert!(matches!(
        p.add(recovered(t).unwrap(), 1 << 20, 10, rich),
        Err(PoolError::Oversized { .. })
    ));
    let low_gas = sign_transaction(
        &key(1),
        TxEip1559 {
            chain_id: CHAIN,
            gas_limit: 21_000,
            max_fee_per_gas: 100,
            input: Bytes::from(vec![1; 10]),
            ..Default::default()
        },
    );
    assert!(matches!(
        add(&mut p, low_gas),
        Err(PoolError::IntrinsicGasTooLow { .. })
    ));
    add(&mut p, tx(1, 0, 50, 1)).unwrap();
    assert_eq!(add(&mut p, tx(1, 0, 50, 1)), Err(PoolError::AlreadyKnown));
}

#[test]
fn replacement_needs_a_ten_percent_bump_of_both_fees() {
    let mut p = pool();
    add(&mut p, tx(1, 0, 100, 10)).unwrap();
    assert!(matches!(
        add(&mut p, tx(1, 0, 109, 20)),
        Err(PoolError::ReplacementUnderpriced { .. })
    ));
    assert!(matches!(
        add(&mut p, tx(1, 0, 200, 10)),
        Err(PoolError::ReplacementUnderpriced { .. })
    ));
    let replacement = add(&mut p, tx(1, 0, 110, 11)).unwrap();
    assert_eq!(p.len(), 1);
    assert!(p.get(&replacement).is_some());
}

#[test]
fn best_takes_runs_of_nonces_by_tip_and_skips_gaps() {
    let mut p = pool();
    add(&mut p, tx(1, 0, 100, 1)).unwrap();
    add(&mut p, tx(1, 1, 100, 50)).unwrap();
    add(&mut p, tx(2, 0, 100, 5)).unwrap();
    add(&mut p, tx(3, 1, 100, 90)).unwrap(); // gap: nonce 0 missing
    let best = p.best(10, |_| 0);
    let order: Vec<_> = best.iter().map(|t| (t.sender, t.tx.nonce())).collect();
    let (a, b) = (address_of(&key(1)), address_of(&key(2)));
    assert_eq!(order, vec![(b, 0), (a, 0), (a, 1)]);
    assert_eq!(p.pending_nonce(a, 0), 2);
    assert_eq!(p.pending_nonce(address_of(&key(3)), 0), 0);
    p.prune(|s| if s == a { 1 } else { 0 });
    assert_eq!(p.len(), 3);
}

#[test]
fn equal_tips_go_into_a_block_in_the_order_they_came() {
    // Three senders at the same tip, the lowest address first to send; each sends twice,
    // interleaved with the others. A block takes them as they came, not by address.
    let mut p = pool();
    let mut signers = [1u8, 2, 3];
    signers.sort_by_key(|&s| address_of(&key(s)));
    for nonce in 0..2 {
        for &signer in &signers {
            add(&mut p, tx(signer, nonce, 100, 5)).unwrap();
        }
    }
    let order: Vec<_> = p
        .best(10, |_| 0)
        .iter()
        .map(|t| (t.sender, t.tx.nonce()))
        .collect();
    let came: Vec<_> = (0..2)
        .flat_map(|nonce| signers.map(|s| (address_of(&key(s)), nonce)))
        .collect();
    assert_eq!(order, came);
    // A better tip still goes first, whenever it came.
    add(&mut p, tx(4, 0, 100, 6)).unwrap();
    assert_eq!(p.best(10, |_| 0)[0].sender, address_of(&key(4)));
}

#[test]
fn a_sender_holds_more_than_its_slots_while_there_is_room_and_loses_them_first() {
    let mut config = PoolConfig::new(CHAIN, 16_000_000);
    config.limits.account_slots = 2;
    config.max_per_sender = 6;
    config.limits.global_slots = 6;
    let mut p = TxPool::new(config);
    // One busy sender fills the empty pool far beyond its two slots (geth's global slots).
    for nonce in 0..6 {
        add(&mut p, tx(1, nonce, 100, 9)).unwrap();
    }
    assert_eq!(p.len(), 6);
    // Another sender, within its slots, takes room from the busy sender's tail even tipping
    // less: a busy sender cannot lock others out.
    add(&mut p, tx(2, 0, 100, 1)).unwrap();
    add(&mut p, tx(2, 1, 100, 1)).unwrap();
    assert_eq!(p.len(), 6);
    assert_eq!(
        p.pending_nonce(address_of(&key(1)), 0),
        4,
        "the busy sender lost its tail"
    );
    assert_eq!(p.pending_nonce(address_of(&key(2)), 0), 2);
    // Beyond its own slots it must outbid, like everyone.
    assert!(matches!(
        add(&mut p, tx(2, 2, 100, 1)),
        Err(PoolError::PoolFull { .. })
    ));
    add(&mut p, tx(2, 2, 100, 20)).unwrap();
}

#[test]
fn an_operator_s_limits_shape_the_pool_and_unworkable_ones_are_refused() {
    let limits = PoolLimits {
        account_slots: 2,
        global_slots: 6,
        account_queue: 3,
        global_queue: 4,
        lifetime: std::time::Duration::from_secs(5),
        price_bump_percent: 25,
    };
    limits.check().unwrap();
    let config = PoolConfig::with_limits(CHAIN, 16_000_000, &limits);
    assert_eq!(
        (
            config.limits.account_slots,
            config.limits.global_slots,
            config.max_per_sender
        ),
        (2, 6, 6),
        "a sender may not hold more than the whole pool"
    );
    assert_eq!(
        (config.limits.account_queue, config.limits.global_queue),
        (3, 4)
    );
    assert_eq!(config.limits.price_bump_percent, 25);
    assert_eq!(
        PoolConfig::new(CHAIN, 1).limits.account_slots,
        PoolLimits::default().account_slots
    );

    let refused = [
        PoolLimits {
            account_slots: 0,
            ..limits.clone()
        },
        PoolLimits {
            global_slots: 1,
            ..limits.clone()
        },
        PoolLimits {
            account_queue: 5,
            ..limits.clone()
        },
        PoolLimits {
            lifetime: std::time::Duration::ZERO,
            ..limits.clone()
        },
    ];
    for limits in refused {
        assert!(limits.check().is_err(), "{limits:?}");
    }
}

#[test]
fn full_pool_evicts_the_worst_tail_for_a_better_payer() {
    let mut config = PoolConfig::new(CHAIN, 16_000_000);
    config.limits.global_slots = 2;
    config.max_per_sender = 2;
    config.limits.account_slots = 2;
    let mut p = TxPool::new(config);
    add(&mut p, tx(1, 0, 100, 5)).unwrap();
    add(&mut p, tx(2, 0, 100, 3)).unwrap();
    assert!(matches!(
        add(&mut p, tx(3, 0, 100, 2)),
        Err(PoolError::PoolFull { .. })
    ));
    add(&mut p, tx(3, 0, 100, 9)).unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(
        p.pending_nonce(address_of(&key(2)), 0),
        0,
        "the worst payer was evicted"
    );
    assert!(matches!(
        add(&mut p, tx(1, 1, 100, 50)).and(add(&mut p, tx(1, 2, 100, 50))),
        Err(PoolError::SenderFull { .. })
    ));
}

#[test]
fn gapped_transactions_are_bounded_apart_evicted_first_and_expire() {
    let mut config = PoolConfig::new(CHAIN, 16_000_000);
    config.limits.global_slots = 6;
    config.limits.account_queue = 2;
    config.limits.global_queue = 3;
    config.limits.lifetime = std::time::Duration::from_millis(50);
    let mut p = TxPool::new(config);
    // Gapped (nonce 5+ with state nonce 0) at a high tip: two per sender, three in all.
    add(&mut p, tx(1, 5, 1_000, 900)).unwrap();
    add(&mut p, tx(1, 6, 1_000, 900)).unwrap();
    assert!(matches!(
        add(&mut p, tx(1, 7, 1_000, 900)),
        Err(PoolError::SenderQueueFull { limit: 2 })
    ));
    add(&mut p, tx(2, 5, 1_000, 900)).unwrap();
    assert!(matches!(
        add(&mut p, tx(3, 5, 1_000, 100)),
        Err(PoolError::QueueFull { limit: 3 })
    ));
    assert_eq!(p.queued_len(), 3);
    // Executable transactions still get in, and once the pool is full they evict gapped ones
    // first, even those tipping more.
    for signer in 4..7 {
        add(&mut p, tx(signer, 0, 100, 1)).unwrap();
    }
    add(&mut p, tx(7, 0, 100, 2)).unwrap();
    assert_eq!(p.len(), 6);
    assert_eq!(p.queued_len(), 2, "a gapped transaction made room");
    // Closing a gap makes transactions pending; the rest expire at the next head.
    std::thread::sleep(std::time::Duration::from_millis(60));
    p.prune(|_| 0);
    assert_eq!(p.queued_len(), 0);
    assert_eq!(p.len(), 4, "only the executable transactions are left");
}

#[test]
fn the_nodes_own_transactions_are_never_refused_for_room() {
    let mut config = PoolConfig::new(CHAIN, 16_000_000);
    config.limits.global_slots = 2;
    let mut p = TxPool::new(config);
    add(&mut p, tx(1, 0, 1_000, 900)).unwrap();
    add(&mut p, tx(2, 0, 1_000, 900)).unwrap();
    let own = tx(3, 0, 100, 1);
    let len = own.encode_2718_len();
    assert!(matches!(
        add(&mut p, own.clone()),
        Err(PoolError::PoolFull { .. })
    ));
    p.add_local(recovered(own).unwrap(), len, 10, rich).unwrap();
    assert_eq!(p.len(), 2);
    // And a local transaction is not evicted by a better payer.
    assert!(add(&mut p, tx(4, 0, 10_000, 9_000)).is_ok());
    assert_eq!(
        p.pending_nonce(address_of(&key(3)), 0),
        1,
        "the local one stays"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Whatever arrives, the pool stays within its bounds and its two indices agree.
    #[test]
    fn bounds_and_indices_hold(ops in prop::collection::vec((1u8..6, 0u64..6, 10u128..200, 0u128..10), 1..60)) {
        let mut config = PoolConfig::new(CHAIN, 16_000_000);
        config.limits.global_slots = 8;
        config.max_per_sender = 3;
        config.limits.account_slots = 2;
        let mut p = TxPool::new(config);
        for (signer, nonce, fee, tip) in ops {
            let _ = add(&mut p, tx(signer, nonce, fee, tip.min(fee)));
            prop_assert!(p.len() <= 8);
            let counted: usize = p.by_sender.values().map(|q| q.len()).sum();
            prop_assert_eq!(counted, p.by_hash.len());
            prop_assert!(p.by_sender.values().all(|q| q.len() <= 3 && !q.is_empty()));
        }
    }
}
