//! `txpool_`: the pool as geth shows it (tools and explorers read it to show what waits).
//! Pending transactions can run now (the consecutive run from their sender's nonce); queued
//! ones wait behind a gap.

use crate::convert;
use alloy_consensus::Transaction as _;
use alloy_primitives::{Address, U64};
use alloy_rpc_types_eth::Transaction;
use ankr_chain::Chain;
use ankr_types::RecoveredTx;
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

#[rpc(server, namespace = "txpool")]
pub trait TxpoolRpc {
    /// How many transactions are pending and queued.
    #[method(name = "status")]
    fn status(&self) -> RpcResult<Status>;
    /// Every pooled transaction, by sender and nonce.
    #[method(name = "content")]
    fn content(&self) -> RpcResult<Content<Transaction>>;
    /// One sender's pooled transactions, by nonce.
    #[method(name = "contentFrom")]
    fn content_from(&self, sender: Address) -> RpcResult<ContentFrom>;
    /// Every pooled transaction summarised in one line, by sender and nonce.
    #[method(name = "inspect")]
    fn inspect(&self) -> RpcResult<Content<String>>;
}

#[derive(Clone, Serialize)]
pub struct Status {
    pub pending: U64,
    pub queued: U64,
}

/// Sender (checksummed, as geth's `Address.Hex()` keys it) → nonce (decimal) → item.
type BySender<T> = BTreeMap<String, BTreeMap<String, T>>;

#[derive(Clone, Serialize)]
pub struct Content<T> {
    pub pending: BySender<T>,
    pub queued: BySender<T>,
}

#[derive(Clone, Serialize)]
pub struct ContentFrom {
    pub pending: BTreeMap<String, Transaction>,
    pub queued: BTreeMap<String, Transaction>,
}

pub struct TxpoolRpc {
    chain: Arc<Chain>,
}

impl TxpoolRpc {
    pub fn new(chain: Arc<Chain>) -> Self {
        Self { chain }
    }
}

/// `nonce → f(tx)` for one sender's transactions.
fn by_nonce<T>(txs: &[RecoveredTx], f: impl Fn(&RecoveredTx) -> T) -> BTreeMap<String, T> {
    txs.iter()
        .map(|tx| (tx.tx.nonce().to_string(), f(tx)))
        .collect()
}

/// `sender → nonce → f(tx)` for one side of the pool.
fn by_sender<T>(
    side: BTreeMap<Address, Vec<RecoveredTx>>,
    f: impl Fn(&RecoveredTx) -> T,
) -> BySender<T> {
    side.into_iter()
        .map(|(sender, txs)| (sender.to_checksum(None), by_nonce(&txs, &f)))
        .collect()
}

/// geth's one-line summary: `to: value wei + gas gas × price wei`.
fn summary(tx: &RecoveredTx) -> String {
    let to = match tx.tx.to() {
        Some(to) => to.to_string(),
        None => "contract creation".to_string(),
    };
    format!(
        "{to}: {} wei + {} gas × {} wei",
        tx.tx.value(),
        tx.tx.gas_limit(),
        tx.tx.max_fee_per_gas()
    )
}

impl TxpoolRpcServer for TxpoolRpc {
    fn status(&self) -> RpcResult<Status> {
        let content = self.chain.pool_content();
        let count = |side: &BTreeMap<Address, Vec<RecoveredTx>>| {
            U64::from(side.values().map(Vec::len).sum::<usize>())
        };
        Ok(Status {
            pending: count(&content.pending),
            queued: count(&content.queued),
        })
    }

    fn content(&self) -> RpcResult<Content<Transaction>> {
        let content = self.chain.pool_content();
        let full = |tx: &RecoveredTx| convert::transaction(tx, None);
        Ok(Content {
            pending: by_sender(content.pending, full),
            queued: by_sender(content.queued, full),
        })
    }

    fn content_from(&self, sender: Address) -> RpcResult<ContentFrom> {
        // Only this sender's transactions are converted.
        let content = self.chain.pool_content();
        let full = |tx: &RecoveredTx| convert::transaction(tx, None);
        let of_sender = |side: &BTreeMap<Address, Vec<RecoveredTx>>| {
            by_nonce(side.get(&sender).map_or(&[][..], Vec::as_slice), full)
        };
        Ok(ContentFrom {
            pending: of_sender(&content.pending),
            queued: of_sender(&content.queued),
        })
    }

    fn inspect(&self) -> RpcResult<Content<String>> {
        let content = self.chain.pool_content();
        Ok(Content {
            pending: by_sender(content.pending, summary),
            queued: by_sender(content.queued, summary),
        })
    }
}
