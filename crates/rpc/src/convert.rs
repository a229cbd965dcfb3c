//! Stored blocks, transactions and receipts in the JSON shapes Ethereum tools parse.

use alloy_consensus::{Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction as _, TxReceipt};
use alloy_eips::Typed2718;
use alloy_primitives::{Address, B64, B256, Bloom, Bytes, U64, U256};
use alloy_rpc_types_eth::{Log, Transaction, TransactionReceipt};
use ankr_storage::StoredBody;
use ankr_types::{Header, RecoveredTx, SealKind};
use serde::Serialize;

/// Ethereum's hash of an empty ommers list; ankr blocks have no ommers.
const EMPTY_OMMERS_HASH: B256 =
    alloy_primitives::b256!("1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347");

#[derive(Clone, Serialize)]
#[serde(untagged)]
pub enum BlockTransactions {
    Hashes(Vec<B256>),
    Full(Vec<Transaction>),
}

/// A block as `eth_getBlockBy*` returns it: Ethereum's fields (ommers, mix hash and nonce
/// fixed, since ankr has none) and ankr's own: `childChainsRoot` and the `seal`.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcBlock {
    pub hash: B256,
    pub parent_hash: B256,
    pub sha3_uncles: B256,
    pub miner: Address,
    pub state_root: B256,
    pub transactions_root: B256,
    pub receipts_root: B256,
    pub logs_bloom: Bloom,
    pub difficulty: U256,
    pub total_difficulty: U256,
    pub number: U64,
    pub gas_limit: U64,
    pub gas_used: U64,
    pub timestamp: U64,
    pub extra_data: Bytes,
    pub mix_hash: B256,
    pub nonce: B64,
    pub base_fee_per_gas: U64,
    pub size: U64,
    pub uncles: Vec<B256>,
    pub transactions: BlockTransactions,
    pub child_chains_root: B256,
    pub seal: RpcSeal,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RpcSeal {
    pub kind: &'static str,
    pub proof: Bytes,
}

/// A header as `newHeads` pushes it: alloy's RPC header, Ethereum's fields only, as geth and
/// reth send it (tools recognise a header by its keys: web3.py formats one only if 90 % of
/// them are Ethereum's). ankr's own fields (`childChainsRoot`, `seal`) are in
/// `eth_getBlockBy*`.
pub fn new_head(header: &Header) -> alloy_rpc_types_eth::Header {
    alloy_rpc_types_eth::Header {
        hash: header.hash(),
        inner: alloy_consensus::Header {
            parent_hash: header.parent_hash,
            ommers_hash: EMPTY_OMMERS_HASH,
            beneficiary: header.beneficiary,
            state_root: header.state_root,
            transactions_root: header.transactions_root,
            receipts_root: header.receipts_root,
            logs_bloom: header.logs_bloom,
            difficulty: header.difficulty,
            number: header.number,
            gas_limit: header.gas_limit,
            gas_used: header.gas_used,
            timestamp: header.timestamp,
            extra_data: header.extra_data.clone(),
            mix_hash: B256::ZERO,
            nonce: B64::ZERO,
            base_fee_per_gas: Some(header.base_fee_per_gas),
            ..Default::default()
        },
        total_difficulty: None,
        size: None,
    }
}

pub fn block(header: &Header, body: &StoredBody, total_difficulty: U256, full: bool) -> RpcBlock {
    let hash = header.hash();
    let transactions = if full {
        BlockTransactions::Full(
            body.transactions
                .iter()
                .zip(&body.senders)
                .enumerate()
                .map(|(i, (tx, sender))| {
                    transaction(&RecoveredTx::new(tx.clone(), *sender), Some((header, i)))
                })
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(body.transactions.iter().map(|t| *t.tx_hash()).collect())
    };
    let size = alloy_rlp::Encodable::length(header)
        + body
            .transactions
            .iter()
            .map(alloy_rlp::Encodable::length)
            .sum::<usize>();
    RpcBlock {
        hash,
        parent_hash: header.parent_hash,
        sha3_uncles: EMPTY_OMMERS_HASH,
        miner: header.beneficiary,
        state_root: header.state_root,
        transactions_root: header.transactions_root,
        receipts_root: header.receipts_root,
        logs_bloom: header.logs_bloom,
        difficulty: header.difficulty,
        total_difficulty,
        number: U64::from(header.number),
        gas_limit: U64::from(header.gas_limit),
        gas_used: U64::from(header.gas_used),
        timestamp: U64::from(header.timestamp),
        extra_data: header.extra_data.clone(),
        mix_hash: B256::ZERO,
        nonce: B64::ZERO,
        base_fee_per_gas: U64::from(header.base_fee_per_gas),
        size: U64::from(size),
        uncles: vec![],
        transactions,
        child_chains_root: header.child_chains_root,
        seal: RpcSeal {
            kind: match header.seal.kind {
                SealKind::Dev => "dev",
                SealKind::UsefulWork => "usefulWork",
                SealKind::Operator => "operator",
            },
            proof: header.seal.proof.clone(),
        },
    }
}

/// A transaction, mined (`at` = its block and index) or pending.
pub fn transaction(tx: &RecoveredTx, at: Option<(&Header, usize)>) -> Transaction {
    let effective_gas_price = at.map(|(h, _)| tx.tx.effective_gas_price(Some(h.base_fee_per_gas)));
    Transaction {
        inner: alloy_consensus::transaction::Recovered::new_unchecked(tx.tx.clone(), tx.sender),
        block_hash: at.map(|(h, _)| h.hash()),
        block_number: at.map(|(h, _)| h.number),
        transaction_index: at.map(|(_, i)| i as u64),
        effective_gas_price,
        block_timestamp: at.map(|(h, _)| h.timestamp),
    }
}

/// The RPC logs of a block's receipts, with block-wide log indices.
pub fn block_logs(
    header: &Header,
    tx_hashes: &[B256],
    receipts: &[ReceiptEnvelope],
) -> Vec<Vec<Log>> {
    let hash = header.hash();
    let mut log_index = 0u64;
    receipts
        .iter()
        .enumerate()
        .map(|(tx_index, receipt)| {
            receipt
                .logs()
                .iter()
                .map(|inner| {
                    let log = Log {
                        inner: inner.clone(),
                        block_hash: Some(hash),
                        block_number: Some(header.number),
                        block_timestamp: Some(header.timestamp),
                        transaction_hash: tx_hashes.get(tx_index).copied(),
                        transaction_index: Some(tx_index as u64),
                        log_index: Some(log_index),
                        removed: false,
                    };
                    log_index += 1;
                    log
                })
                .collect()
        })
        .collect()
}

/// The receipt of transaction `index` of a block.
pub fn receipt(
    header: &Header,
    body: &StoredBody,
    receipts: &[ReceiptEnvelope],
    index: usize,
) -> Option<TransactionReceipt> {
    let stored = receipts.get(index)?;
    let tx = body.transactions.get(index)?;
    let sender = *body.senders.get(index)?;
    let first_log_index: usize = receipts[..index].iter().map(|r| r.logs().len()).sum();
    let hash = header.hash();
    let logs = stored
        .logs()
        .iter()
        .enumerate()
        .map(|(i, inner)| Log {
            inner: inner.clone(),
            block_hash: Some(hash),
            block_number: Some(header.number),
            block_timestamp: Some(header.timestamp),
            transaction_hash: Some(*tx.tx_hash()),
            transaction_index: Some(index as u64),
            log_index: Some((first_log_index + i) as u64),
            removed: false,
        })
        .collect();
    let previous_cumulative = index
        .checked_sub(1)
        .map_or(0, |i| receipts[i].cumulative_gas_used());
    let with_bloom = ReceiptWithBloom {
        receipt: Receipt {
            status: stored.status().into(),
            cumulative_gas_used: stored.cumulative_gas_used(),
            logs,
        },
        logs_bloom: stored.bloom(),
    };
    let ty = alloy_consensus::TxType::try_from(tx.ty()).ok()?;
    Some(TransactionReceipt {
        inner: ReceiptEnvelope::from_typed(ty, with_bloom),
        transaction_hash: *tx.tx_hash(),
        transaction_index: Some(index as u64),
        block_hash: Some(hash),
        block_number: Some(header.number),
        gas_used: stored.cumulative_gas_used() - previous_cumulative,
        effective_gas_price: tx.effective_gas_price(Some(header.base_fee_per_gas)),
        blob_gas_used: None,
        blob_gas_price: None,
        from: sender,
        to: tx.to(),
        contract_address: tx.kind().is_create().then(|| sender.create(tx.nonce())),
    })
}
