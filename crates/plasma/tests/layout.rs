//! The byte layout of child-chain transactions and blocks, pinned by a test vector, and the
//! rules around them: round trips, signatures by the right owners only, the money balance,
//! deposits, inclusion proofs at every position of the 65,536-leaf tree.

use alloy_primitives::{Address, B256, U256, hex, keccak256};
use ankr_plasma::merkle::{MAX_LEAVES, block_root};
use ankr_plasma::transaction::{confirm, confirmation_hash, recover};
use ankr_plasma::{Input, MerkleTree, Output, PlasmaTx, TxDomain, TxError, utxo_position, verify};
use proptest::prelude::*;

/// The chain these transactions are signed for: chain id 4242, RootChain 0xcc…cc.
fn domain() -> TxDomain {
    TxDomain::new(4242, Address::repeat_byte(0xcc))
}

fn key(seed: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array(keccak256([seed, 0x5a]).0).unwrap()
}

fn owner(seed: u8) -> Address {
    ankr_types::recovery::address_of(&key(seed))
}

/// Alice spends output 0 of transaction 3 in block 1000: 7 ANKR-wei to Bob, 2 back, fee 1.
fn vector() -> PlasmaTx {
    let mut tx = PlasmaTx {
        inputs: [
            Input {
                blknum: 1000,
                txindex: 3,
                oindex: 0,
                ..Default::default()
            },
            Input::default(),
        ],
        outputs: [
            Output {
                owner: owner(2),
                denom: U256::from(7),
            },
            Output {
                owner: owner(1),
                denom: U256::from(2),
            },
        ],
        fee: U256::from(1),
    };
    tx.sign_input(0, &key(1), domain());
    tx
}

#[test]
fn the_layout_matches_its_test_vector() {
    let tx = vector();
    let encoded = tx.encode();
    // [1000, 3, 0, sig1 (65 bytes), 0, 0, 0, 65 zero bytes, bob (20), 7, alice (20), 2, 1]
    assert_eq!(hex::encode(&encoded), TX_HEX);
    assert_eq!(PlasmaTx::decode(&encoded).unwrap(), tx);
    let tree = MerkleTree::new(vec![tx.hash()]).unwrap();
    let root = block_root(tree.root(), B256::ZERO);
    // keccak256(domain ‖ keccak256(rlp of the eleven unsigned fields)).
    assert_eq!(domain().0, DOMAIN.parse::<B256>().unwrap());
    let unsigned_fields = UNSIGNED_FIELDS_HASH.parse::<B256>().unwrap();
    assert_eq!(
        tx.signing_hash(domain()),
        keccak256([domain().0.as_slice(), unsigned_fields.as_slice()].concat())
    );
    assert_eq!(
        tx.signing_hash(domain()),
        SIGNING_HASH.parse::<B256>().unwrap()
    );
    assert_eq!(tx.hash(), LEAF.parse::<B256>().unwrap());
    assert_eq!(tree.root(), MERKLE_ROOT.parse::<B256>().unwrap());
    assert_eq!(root, BLOCK_ROOT.parse::<B256>().unwrap());
    // Signatures are deterministic (RFC 6979), so the whole encoding is pinned.
    assert_eq!(keccak256(&encoded), tx.hash());
    assert_eq!(
        recover(tx.signing_hash(domain()), &tx.inputs[0].signature),
        Some(owner(1))
    );
    // A confirm signature names the transaction and the block it is in.
    let confirmation = confirm(&key(1), tx.hash(), root);
    assert_eq!(
        recover(confirmation_hash(tx.hash(), root), &confirmation),
        Some(owner(1))
    );
}

/// The vector's bytes. The hash of its unsigned fields was checked independently with pyrlp
/// and eth_utils' keccak; the signatures (RFC 6979) now sign it in the test domain, which
/// `RootChain.txDomain()` computes alike (tests/root_chain.rs).
const TX_HEX: &str = "f8bb8203e80380b841d48364cda5135356cd30e93d69b3655b2cf68cb26944d5d3710a2f2a392064635eee3c54fe45843e61d7119745d725891ac5f2cd836c163c70ffee64e88c73891c808080b841000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000094491e8160acc0af6d5f986846a61f7beccd9c39f50794ae616c55e522bfbc8e16b192c08d9424f3b7500a0201";
const UNSIGNED_FIELDS_HASH: &str =
    "0xba7d6ac5a647fd9c4f4fd5d062f2e37a26aa242dcd61f570ed6331ab79c55806";
const DOMAIN: &str = "0x91be082551afe3b00b124e431780ea9c1c6544f8774e58c66aad233edda1d4d7";
const SIGNING_HASH: &str = "0x9103c2a0b28520c37209ab597a79c677dbedc6cb1caf39c094cbbc5272f2c81e";
const LEAF: &str = "0x487c6db885eecde9fb1ea2a980813e6d4096d63fc712db2f24ca2a6f187103e8";
const MERKLE_ROOT: &str = "0xc297aec74d97c7de38a09b282265c2115b7a8fc9e328920b02dab998b3c9f5bf";
const BLOCK_ROOT: &str = "0x708887fb868d6fe477557a488c6e15fbbba6b08def1775d67acf45f2324abea5";

#[test]
fn only_balanced_transactions_signed_by_their_owners_pass() {
    let tx = vector();
    let alice = Some(owner(1));
    assert_eq!(
        tx.check([alice, None], [U256::from(10), U256::ZERO], domain()),
        Ok(())
    );
    assert_eq!(
        tx.check(
            [Some(owner(9)), None],
            [U256::from(10), U256::ZERO],
            domain()
        ),
        Err(TxError::BadSignature(0))
    );
    assert!(matches!(
        tx.check([alice, None], [U256::from(11), U256::ZERO], domain()),
        Err(TxError::Unbalanced { .. })
    ));
    // A changed field breaks the signature.
    let mut tampered = tx;
    tampered.outputs[0].denom = U256::from(8);
    tampered.fee = U256::ZERO;
    assert_eq!(
        tampered.check([alice, None], [U256::from(10), U256::ZERO], domain()),
        Err(TxError::BadSignature(0))
    );
    // A high-s twin of a valid signature is refused.
    let mut malleable = tx;
    let s = U256::from_be_slice(&tx.inputs[0].signature[32..64]);
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    malleable.inputs[0].signature[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    malleable.inputs[0].signature[64] ^= 1;
    assert_eq!(
        malleable.check([alice, None], [U256::from(10), U256::ZERO], domain()),
        Err(TxError::BadSignature(0))
    );
    // The same output twice, or a second input alone.
    let mut twice = tx;
    twice.inputs[1] = twice.inputs[0];
    assert_eq!(
        twice.check([alice, alice], [U256::from(5), U256::from(5)], domain()),
        Err(TxError::SameInputTwice)
    );
    let mut alone = tx;
    alone.inputs.swap(0, 1);
    assert_eq!(
        alone.check([None, alice], [U256::ZERO, U256::from(10)], domain()),
        Err(TxError::SecondInputAlone)
    );
    let deposit = PlasmaTx::deposit(owner(1), U256::from(10));
    assert!(deposit.is_deposit());
    assert!(!tx.is_deposit());
    assert_eq!(utxo_position(1000, 3, 1), 1_000_000_030_001);
}

#[test]
fn malformed_bytes_are_refused_by_name() {
    let encoded = vector().encode();
    assert!(PlasmaTx::decode(&encoded[..encoded.len() - 1]).is_err());
    let mut longer = encoded.clone();
    longer.push(0);
    assert!(PlasmaTx::decode(&longer).is_err());
    assert!(PlasmaTx::decode(&[0x80]).is_err());
    assert!(PlasmaTx::decode(&[]).is_err());
}

#[test]
fn a_full_block_proves_its_first_and_last_transactions_and_refuses_more() {
    let leaves: Vec<B256> = (0..MAX_LEAVES as u32)
        .map(|i| keccak256(i.to_be_bytes()))
        .collect();
    let tree = MerkleTree::new(leaves.clone()).unwrap();
    for index in [0, 1, 12_345, MAX_LEAVES - 1] {
        assert!(verify(
            tree.root(),
            leaves[index],
            index,
            &tree.proof(index)
        ));
        assert!(!verify(
            tree.root(),
            leaves[index],
            index ^ 1,
            &tree.proof(index)
        ));
    }
    let mut too_many = leaves;
    too_many.push(B256::ZERO);
    assert!(MerkleTree::new(too_many).is_err());
    // An empty block's root is the all-zero tree's.
    assert_eq!(
        MerkleTree::new(vec![]).unwrap().root(),
        MerkleTree::new(vec![B256::ZERO]).unwrap().root()
    );
}

proptest! {
    #[test]
    fn transactions_round_trip(
        blknum in any::<u64>(), txindex in any::<u32>(), oindex in any::<u8>(),
        denom in any::<u128>(), fee in any::<u64>(), signature in prop::array::uniform32(any::<u8>()),
    ) {
        let mut tx = PlasmaTx::deposit(owner(3), U256::from(denom));
        tx.inputs[0] = Input { blknum, txindex, oindex, signature: [0; 65] };
        tx.inputs[0].signature[..32].copy_from_slice(&signature);
        tx.fee = U256::from(fee);
        prop_assert_eq!(PlasmaTx::decode(&tx.encode()).unwrap(), tx);
    }

    /// The fuzz target `plasma_transaction` on stable: corrupted encodings never panic, and
    /// whatever decodes is canonical (re-encodes to the same bytes), which is what lets the
    /// RootChain's decoder agree with this one.
    #[test]
    fn corrupted_transactions_decode_canonically_or_not_at_all(
        flips in prop::collection::vec((any::<usize>(), 1u8..=255), 0..4),
        cut in any::<usize>(), extra in prop::collection::vec(any::<u8>(), 0..3),
    ) {
        let mut bytes = vector().encode();
        for (at, flip) in flips {
            let at = at % bytes.len();
            bytes[at] ^= flip;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        bytes.extend(extra);
        if let Ok(tx) = PlasmaTx::decode(&bytes) {
            prop_assert_eq!(tx.encode(), bytes);
        }
    }

    #[test]
    fn every_leaf_of_a_partial_block_has_a_proof(count in 1usize..300, pick in any::<usize>()) {
        let leaves: Vec<B256> = (0..count as u32).map(|i| keccak256(i.to_le_bytes())).collect();
        let tree = MerkleTree::new(leaves.clone()).unwrap();
        let index = pick % count;
        prop_assert!(verify(tree.root(), leaves[index], index, &tree.proof(index)));
        // An unfilled position proves only a zero leaf.
        prop_assert!(verify(tree.root(), B256::ZERO, count, &tree.proof(count)));
        prop_assert!(!verify(tree.root(), leaves[index], count, &tree.proof(count)));
    }
}
