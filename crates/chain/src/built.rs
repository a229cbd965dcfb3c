//! Templates this node built, kept until they come back sealed.
//!
//! A template is executed in full when it is built (its roots are in its header). When it came
//! back sealed, from this node's miner or an external one over RPC, import recovered every
//! sender and ran the same transactions on the same parent again: half of a mining node's
//! execution. A seal changes nothing execution reads (the template hash covers every other
//! header field), so import takes the kept result instead, as reth hands its payload builder's
//! executed block to its tree. The header's rules, the seal and the state root are still
//! checked; a block whose transactions are not the template's is executed like any other.

use alloy_primitives::B256;
use ankr_execution::ExecutedBlock;
use ankr_types::Block;
use std::collections::VecDeque;

/// Templates kept: a miner seals the newest, or one a rebuild has just replaced.
const KEPT: usize = 4;

/// The last few templates built here, by template hash, with what executing them gave.
#[derive(Default)]
pub(crate) struct BuiltTemplates {
    recent: VecDeque<(B256, ExecutedBlock)>,
}

impl BuiltTemplates {
    /// Keeps `executed`, the result of the template whose header hashes to `template_hash`.
    pub(crate) fn keep(&mut self, template_hash: B256, executed: ExecutedBlock) {
        if self.recent.len() == KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back((template_hash, executed));
    }

    /// What executing `block` gives, if it is a template built here with exactly the
    /// template's transactions (taken: a block is imported once).
    pub(crate) fn take(&mut self, block: &Block) -> Option<ExecutedBlock> {
        let template_hash = block.header.template_hash();
        let position = self.recent.iter().position(|(hash, executed)| {
            *hash == template_hash
                && executed.transactions.len() == block.transactions.len()
                && executed
                    .transactions
                    .iter()
                    .zip(&block.transactions)
                    .all(|(ran, tx)| ran.tx == *tx)
        })?;
        self.recent.remove(position).map(|(_, executed)| executed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{TxEip1559, TxEnvelope};
    use alloy_primitives::{Address, TxKind, U256};
    use ankr_types::{
        Header, RecoveredTx, Seal, SealKind,
        recovery::{address_of, sign_transaction},
    };

    fn transfer(nonce: u64) -> TxEnvelope {
        let key = secp256k1::SecretKey::from_byte_array([3; 32]).unwrap();
        sign_transaction(
            &key,
            TxEip1559 {
                chain_id: 1,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 1,
                to: TxKind::Call(Address::repeat_byte(9)),
                value: U256::from(1),
                ..Default::default()
            },
        )
    }

    fn built(header: &Header, txs: &[TxEnvelope]) -> ExecutedBlock {
        let key = secp256k1::SecretKey::from_byte_array([3; 32]).unwrap();
        ExecutedBlock {
            transactions: txs
                .iter()
                .map(|tx| RecoveredTx::new(tx.clone(), address_of(&key)))
                .collect(),
            gas_used: header.gas_used,
            ..Default::default()
        }
    }

    fn header(number: u64) -> Header {
        Header {
            parent_hash: B256::repeat_byte(1),
            beneficiary: Address::repeat_byte(2),
            state_root: B256::repeat_byte(3),
            transactions_root: B256::repeat_byte(4),
            receipts_root: B256::repeat_byte(5),
            logs_bloom: Default::default(),
            difficulty: U256::from(1_000),
            number,
            gas_limit: 30_000_000,
            gas_used: 42_000,
            timestamp: number,
            extra_data: Default::default(),
            base_fee_per_gas: 1,
            child_chains_root: B256::ZERO,
            seal: Seal {
                kind: SealKind::UsefulWork,
                proof: Default::default(),
            },
        }
    }

    #[test]
    fn a_sealed_template_is_found_once_and_only_with_its_own_transactions() {
        let mut kept = BuiltTemplates::default();
        let header = header(1);
        let txs = vec![transfer(0), transfer(1)];
        kept.keep(header.template_hash(), built(&header, &txs));

        // Sealing changes the block hash, not the template hash: still found.
        let mut sealed = Block {
            header: header.clone(),
            transactions: txs.clone(),
        };
        sealed.header.seal.proof = vec![7; 40].into();
        // The same header with other transactions is not the template.
        let mut other = sealed.clone();
        other.transactions = vec![transfer(0)];
        assert!(kept.take(&other).is_none());
        other.transactions = vec![transfer(1), transfer(0)];
        assert!(kept.take(&other).is_none());
        // Another header with the template's transactions is not either.
        let mut moved = sealed.clone();
        moved.header.timestamp += 1;
        assert!(kept.take(&moved).is_none());

        let executed = kept.take(&sealed).expect("the template built here");
        assert_eq!(executed.transactions.len(), 2);
        assert!(kept.take(&sealed).is_none(), "taken once");
    }

    #[test]
    fn only_the_last_few_templates_are_kept() {
        let mut kept = BuiltTemplates::default();
        let blocks: Vec<Block> = (1..=KEPT as u64 + 1)
            .map(|number| Block {
                header: header(number),
                transactions: vec![],
            })
            .collect();
        for block in &blocks {
            kept.keep(block.header.template_hash(), built(&block.header, &[]));
        }
        assert!(kept.take(&blocks[0]).is_none(), "the oldest made room");
        for block in &blocks[1..] {
            assert!(kept.take(block).is_some());
        }
    }
}
