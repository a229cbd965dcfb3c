//! Receipts' log blooms, with the addresses and topics a block repeats hashed once.
//!
//! A bloom sets three bits from the keccak of each log's address and of each of its topics.
//! A block's logs mostly come from a few contracts and events — ten thousand ERC-20 transfers
//! are ten thousand `Transfer` logs of one token, half of whose keccaks are of the same address
//! and the same event signature — and those keccaks were a fifth of executing such a block.

use alloy_consensus::{Receipt, ReceiptEnvelope, ReceiptWithBloom, TxType};
use alloy_primitives::{Address, B256, Bloom, BloomInput, keccak256};

/// Remembered keccaks in each table. A miss costs the keccak it would have cost anyway and
/// replaces the entry, so the tables only need room for the contracts and events of one block's
/// hot path.
const ADDRESSES: usize = 64;
const TOPICS: usize = 256;

/// Computes receipts' blooms, remembering the keccaks of addresses and topics already seen
/// (direct-mapped by their last bytes: indexed arguments often share leading zero bytes).
pub(crate) struct LogBlooms {
    addresses: Box<[Option<(Address, B256)>]>,
    topics: Box<[Option<(B256, B256)>]>,
}

impl Default for LogBlooms {
    fn default() -> Self {
        Self {
            addresses: vec![None; ADDRESSES].into_boxed_slice(),
            topics: vec![None; TOPICS].into_boxed_slice(),
        }
    }
}

impl LogBlooms {
    /// The receipts with their log blooms, as blocks store them.
    pub(crate) fn seal(&mut self, receipts: Vec<(TxType, Receipt)>) -> Vec<ReceiptEnvelope> {
        receipts
            .into_iter()
            .map(|(ty, receipt)| {
                let logs_bloom = self.bloom_of(&receipt);
                ReceiptEnvelope::from_typed(
                    ty,
                    ReceiptWithBloom {
                        receipt,
                        logs_bloom,
                    },
                )
            })
            .collect()
    }

    /// The bloom of one receipt's logs: what `ReceiptWithBloom::from` computes.
    fn bloom_of(&mut self, receipt: &Receipt) -> Bloom {
        let mut bloom = Bloom::ZERO;
        for log in &receipt.logs {
            bloom.accrue(BloomInput::Hash(self.address_hash(log.address)));
            for topic in log.topics() {
                bloom.accrue(BloomInput::Hash(self.topic_hash(*topic)));
            }
        }
        bloom
    }

    fn address_hash(&mut self, address: Address) -> B256 {
        let entry = &mut self.addresses[usize::from(address[19]) % ADDRESSES];
        match entry {
            Some((seen, hash)) if *seen == address => *hash,
            _ => entry.insert((address, keccak256(address))).1,
        }
    }

    fn topic_hash(&mut self, topic: B256) -> B256 {
        let entry = &mut self.topics[usize::from(topic[31]) % TOPICS];
        match entry {
            Some((seen, hash)) if *seen == topic => *hash,
            _ => entry.insert((topic, keccak256(topic))).1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::Eip658Value;
    use alloy_primitives::{Bytes, Log};
    use proptest::prelude::*;

    /// Addresses and topics from a handful of values (so they repeat and collide in the tables)
    /// or from anywhere.
    fn word() -> impl Strategy<Value = B256> {
        prop_oneof![
            (0u8..6).prop_map(B256::with_last_byte),
            (0u8..6).prop_map(|n| B256::left_padding_from(&[n, 0])),
            any::<[u8; 32]>().prop_map(B256::from),
        ]
    }

    fn log() -> impl Strategy<Value = Log> {
        (word(), proptest::collection::vec(word(), 0..=4)).prop_map(|(address, topics)| {
            Log::new_unchecked(Address::from_word(address), topics, Bytes::new())
        })
    }

    proptest! {
        /// Remembering keccaks never changes a bloom, whatever repeats and collides.
        #[test]
        fn remembered_keccaks_give_the_blooms_of_the_logs(
            blocks in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(log(), 0..4), 0..8),
                1..4,
            )
        ) {
            let mut blooms = LogBlooms::default();
            for block in blocks {
                let receipts: Vec<(TxType, Receipt)> = block
                    .into_iter()
                    .map(|logs| {
                        (TxType::Eip1559, Receipt {
                            status: Eip658Value::Eip658(true),
                            cumulative_gas_used: 21_000,
                            logs,
                        })
                    })
                    .collect();
                let expected: Vec<Bloom> = receipts
                    .iter()
                    .map(|(_, receipt)| ReceiptWithBloom::from(receipt.clone()).logs_bloom)
                    .collect();
                let sealed = blooms.seal(receipts);
                let got: Vec<Bloom> = sealed.iter().map(|r| *r.logs_bloom()).collect();
                prop_assert_eq!(got, expected);
            }
        }
    }
}
