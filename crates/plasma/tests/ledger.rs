//! The operator's ledger rules: deposits numbered as the root chain numbers them, spends only
//! of unspent, unlocked outputs by their owners, one spend per output per block, exits lock
//! outputs (and drop pooled spends of them), replayed blocks checked by the same rules, and
//! confirm signatures one per input by its owner.

use alloy_primitives::{Address, U256, keccak256};
use ankr_plasma::transaction::{ConfirmError, confirm};
use ankr_plasma::{Ledger, LedgerError, Output, PlasmaTx, TxDomain, TxError, UtxoPos};

/// The chain these transactions are signed for: chain id 4242, RootChain 0xcc…cc.
/// Owns the fee outputs.
const OPERATOR: Address = Address::repeat_byte(0x0e);

fn domain() -> TxDomain {
    TxDomain::new(4242, Address::repeat_byte(0xcc))
}

fn key(seed: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array(keccak256([seed, 0x1e]).0).unwrap()
}

fn owner(seed: u8) -> Address {
    ankr_types::recovery::address_of(&key(seed))
}

fn pay(from: UtxoPos, signer: u8, to: u8, denom: u64) -> PlasmaTx {
    let to = Output {
        owner: owner(to),
        denom: U256::from(denom),
    };
    let mut tx = PlasmaTx::spending(&[from], &[to], U256::ZERO);
    tx.sign_input(0, &key(signer), domain());
    tx
}

fn pos(blknum: u64, txindex: u32, oindex: u8) -> UtxoPos {
    UtxoPos {
        blknum,
        txindex,
        oindex,
    }
}

#[test]
fn deposits_follow_the_root_chains_numbering() {
    let mut ledger = Ledger::new(domain(), OPERATOR);
    ledger.deposit(1, owner(1), U256::from(10)).unwrap();
    assert!(
        matches!(
            ledger.deposit(1, owner(1), U256::from(10)),
            Err(LedgerError::DepositOutOfOrder { .. })
        ),
        "no number twice"
    );
    assert!(
        ledger.deposit(1000, owner(1), U256::from(10)).is_err(),
        "1000 is a child block"
    );
    assert!(
        ledger.deposit(1001, owner(1), U256::from(10)).is_err(),
        "no block 1000 yet"
    );
    ledger.deposit(2, owner(1), U256::from(10)).unwrap();
    ledger.seal_block();
    ledger.deposit(1001, owner(2), U256::from(5)).unwrap();
    assert_eq!(ledger.balance_of(owner(1)), U256::from(20));
    assert_eq!(ledger.balance_of(owner(2)), U256::from(5));
}

#[test]
fn spends_follow_the_utxo_rules() {
    let mut ledger = Ledger::new(domain(), OPERATOR);
    ledger.deposit(1, owner(1), U256::from(10)).unwrap();
    ledger.deposit(2, owner(2), U256::from(4)).unwrap();
    let theft = pay(pos(1, 0, 0), 2, 2, 10);
    assert_eq!(
        ledger.add_transaction(theft),
        Err(LedgerError::Transaction(TxError::BadSignature(0)))
    );
    assert!(matches!(
        ledger.add_transaction(pay(pos(1, 0, 0), 1, 2, 11)),
        Err(LedgerError::Transaction(TxError::Unbalanced { .. }))
    ));
    assert_eq!(
        ledger.add_transaction(pay(pos(9, 0, 0), 1, 2, 1)),
        Err(LedgerError::NotUnspent(pos(9, 0, 0)))
    );
    ledger.add_transaction(pay(pos(1, 0, 0), 1, 2, 10)).unwrap();
    assert_eq!(
        ledger.add_transaction(pay(pos(1, 0, 0), 1, 3, 10)),
        Err(LedgerError::SpentInPool(pos(1, 0, 0)))
    );
    let block = ledger.seal_block().clone();
    assert_eq!(block.number, 1000);
    assert_eq!(
        ledger.add_transaction(pay(pos(1, 0, 0), 1, 3, 10)),
        Err(LedgerError::NotUnspent(pos(1, 0, 0)))
    );
    assert_eq!(ledger.spender_of(pos(1, 0, 0)), Some((1000, 0, 0)));
    assert_eq!(
        ledger.position_of(block.transactions[0].hash()),
        Some((1000, 0))
    );
    assert_eq!(ledger.balance_of(owner(2)), U256::from(14));
    let no_inputs = PlasmaTx {
        outputs: [
            Output {
                owner: owner(2),
                denom: U256::ZERO,
            },
            Output::default(),
        ],
        ..Default::default()
    };
    assert_eq!(
        ledger.add_transaction(no_inputs),
        Err(LedgerError::NoInputs)
    );
}

#[test]
fn an_exit_locks_its_output_and_drops_pooled_spends() {
    let mut ledger = Ledger::new(domain(), OPERATOR);
    ledger.deposit(1, owner(1), U256::from(10)).unwrap();
    ledger.deposit(2, owner(1), U256::from(3)).unwrap();
    ledger.add_transaction(pay(pos(1, 0, 0), 1, 2, 10)).unwrap();
    ledger.add_transaction(pay(pos(2, 0, 0), 1, 2, 3)).unwrap();
    ledger.mark_exiting(pos(1, 0, 0));
    assert_eq!(
        ledger.pool_len(),
        1,
        "the pooled spend of the exiting output is gone"
    );
    assert_eq!(
        ledger.add_transaction(pay(pos(1, 0, 0), 1, 2, 10)),
        Err(LedgerError::NotUnspent(pos(1, 0, 0)))
    );
    let block = ledger.seal_block();
    assert_eq!(block.transactions.len(), 1);
}

#[test]
fn a_replayed_block_is_checked_like_a_pooled_one() {
    let mut operator = Ledger::new(domain(), OPERATOR);
    let mut watcher = Ledger::new(domain(), OPERATOR);
    for ledger in [&mut operator, &mut watcher] {
        ledger.deposit(1, owner(1), U256::from(10)).unwrap();
    }
    operator
        .add_transaction(pay(pos(1, 0, 0), 1, 2, 10))
        .unwrap();
    let block = operator.seal_block().clone();
    let replayed = watcher
        .apply_block(1000, block.transactions.clone())
        .unwrap();
    assert_eq!(replayed.root, block.root);
    // The same spend again in the next block is a double spend, named by position.
    let invalid = watcher
        .apply_block(2000, vec![pay(pos(1, 0, 0), 1, 3, 10)])
        .unwrap_err();
    assert_eq!(invalid.txindex, Some(0));
    assert_eq!(invalid.error, LedgerError::NotUnspent(pos(1, 0, 0)));
    assert_eq!(
        watcher.next_child_block(),
        2000,
        "an invalid block is not applied"
    );
    assert_eq!(watcher.pool_len(), 0);
}

#[test]
fn confirm_signatures_are_one_per_input_by_its_owner_over_the_block() {
    let mut tx = PlasmaTx::spending(
        &[pos(1, 0, 0), pos(2, 0, 0)],
        &[Output {
            owner: owner(3),
            denom: U256::from(10),
        }],
        U256::ZERO,
    );
    tx.sign_input(0, &key(1), domain());
    tx.sign_input(1, &key(2), domain());
    let root = alloy_primitives::B256::repeat_byte(9);
    let by = |signer: u8, over: alloy_primitives::B256| confirm(&key(signer), tx.hash(), over);
    let both = [by(1, root), by(2, root)].concat();
    assert_eq!(tx.check_confirmations(root, &both, domain()), Ok(()));
    assert_eq!(
        tx.check_confirmations(root, &both[..65], domain()),
        Err(ConfirmError::Count { expected: 2 })
    );
    let swapped = [by(2, root), by(1, root)].concat();
    let other_block = [by(1, root), by(2, alloy_primitives::B256::ZERO)].concat();
    let stranger = [by(1, root), by(4, root)].concat();
    for refused in [swapped, other_block, stranger] {
        assert_eq!(
            tx.check_confirmations(root, &refused, domain()),
            Err(ConfirmError::NotOwner)
        );
    }
    // An input whose own signature names nobody has no owner to confirm for it.
    let mut unsigned = tx;
    unsigned.inputs[1].signature = [0; 65];
    assert_eq!(
        unsigned.check_confirmations(root, &both, domain()),
        Err(ConfirmError::NotOwner)
    );
}
