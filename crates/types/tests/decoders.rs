//! The fuzz targets' properties (see `fuzz/`), run on stable in every test run: decoders of
//! untrusted bytes never panic, and anything that decodes re-encodes to the same bytes.

use alloy_consensus::TxEip1559;
use alloy_eips::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use ankr_types::{Block, Header, Seal, TxEnvelope, recover_sender, recovery::sign_transaction};
use proptest::prelude::*;

fn sample_block(values: &[u64]) -> Block {
    let key = secp256k1::SecretKey::from_byte_array([3; 32]).unwrap();
    let transactions = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            sign_transaction(
                &key,
                TxEip1559 {
                    chain_id: 7,
                    nonce: i as u64,
                    gas_limit: 21_000,
                    max_fee_per_gas: 10,
                    to: TxKind::Call(Address::repeat_byte(1)),
                    value: U256::from(*v),
                    ..Default::default()
                },
            )
        })
        .collect();
    Block {
        header: Header {
            parent_hash: Default::default(),
            beneficiary: Address::ZERO,
            state_root: Default::default(),
            transactions_root: Default::default(),
            receipts_root: Default::default(),
            logs_bloom: Default::default(),
            difficulty: U256::from(values.len()),
            number: values.len() as u64,
            gas_limit: 30_000_000,
            gas_used: 0,
            timestamp: 1,
            extra_data: Bytes::new(),
            base_fee_per_gas: 7,
            child_chains_root: Default::default(),
            seal: Seal::dev(),
        },
        transactions,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(tx) = TxEnvelope::decode_2718_exact(&data) {
            let _ = recover_sender(&tx);
            prop_assert_eq!(tx.encoded_2718(), data.clone());
        }
        if let Ok(block) = Block::decode_exact(&data) {
            prop_assert_eq!(alloy_rlp::encode(&block), data.clone());
        }
        if let Ok(header) = Header::decode_exact(&data) {
            prop_assert_eq!(alloy_rlp::encode(&header), data);
        }
    }

    /// Flipping bytes of a valid block either fails to decode or decodes to something that
    /// re-encodes exactly: no two byte strings mean the same block.
    #[test]
    fn mutated_blocks_decode_canonically(
        values in prop::collection::vec(any::<u64>(), 0..4),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut data = alloy_rlp::encode(sample_block(&values));
        for (index, byte) in flips {
            let i = index.index(data.len());
            data[i] ^= byte;
        }
        if let Ok(block) = Block::decode_exact(&data) {
            prop_assert_eq!(alloy_rlp::encode(&block), data);
        }
    }
}

#[test]
fn valid_block_round_trips() {
    let block = sample_block(&[1, 2, 3]);
    let encoded = alloy_rlp::encode(&block);
    assert_eq!(Block::decode_exact(&encoded).unwrap(), block);
}

/// Found by `mutated_blocks_decode_canonically`: a typed transaction whose RLP string header
/// claims more bytes (236) than the transaction has (108) must not decode.
#[test]
fn transaction_item_longer_than_its_transaction_is_refused() {
    let block = sample_block(&[1 << 48, 1 << 56, 1 << 56]);
    let mut data = alloy_rlp::encode(&block);
    let first_tx = alloy_rlp::encode(&block.transactions[0]);
    let at = data
        .windows(first_tx.len())
        .position(|w| w == first_tx.as_slice())
        .unwrap();
    assert_eq!(
        data[at], 0xb8,
        "typed transactions are wrapped in a long string header"
    );
    data[at + 1] ^= 0x80;
    assert!(Block::decode_exact(&data).is_err());
}
