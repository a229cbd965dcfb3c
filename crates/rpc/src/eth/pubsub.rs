//! WebSocket subscriptions: `newHeads`, `logs`, `newPendingTransactions`.

use super::*;
use alloy_rpc_types_eth::pubsub::{Params, SubscriptionKind};

#[rpc(server, namespace = "eth")]
pub trait EthPubSubApi {
    #[subscription(name = "subscribe" => "subscription", unsubscribe = "unsubscribe", item = serde_json::Value)]
    async fn subscribe(&self, kind: SubscriptionKind, params: Option<Params>)
    -> SubscriptionResult;
}

#[jsonrpsee::core::async_trait]
impl EthPubSubApiServer for EthRpc {
    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: SubscriptionKind,
        params: Option<Params>,
    ) -> SubscriptionResult {
        let logs_filter = match (kind, params.unwrap_or_default()) {
            (SubscriptionKind::NewHeads, Params::None) => None,
            (SubscriptionKind::Logs, Params::None) => Some(Filter::default()),
            (SubscriptionKind::Logs, Params::Logs(filter)) => Some(*filter),
            (SubscriptionKind::NewPendingTransactions, Params::None) => {
                return self.pending_transactions(pending, false).await;
            }
            (SubscriptionKind::NewPendingTransactions, Params::Bool(full)) => {
                return self.pending_transactions(pending, full).await;
            }
            (
                kind @ (SubscriptionKind::NewHeads
                | SubscriptionKind::Logs
                | SubscriptionKind::NewPendingTransactions),
                params,
            ) => {
                pending
                    .reject(invalid_params(format!(
                        "{kind:?} does not take {params:?} (newHeads takes nothing, logs a filter, newPendingTransactions true or false)"
                    )))
                    .await;
                return Ok(());
            }
            (other, _) => {
                pending
                    .reject(invalid_params(format!(
                        "unsupported subscription {other:?}: use newHeads, logs or newPendingTransactions"
                    )))
                    .await;
                return Ok(());
            }
        };
        let sink = pending.accept().await?;
        let mut blocks = self.chain.subscribe();
        loop {
            let block = tokio::select! {
                _ = sink.closed() => return Ok(()),
                block = blocks.recv() => match block {
                    Ok(block) => block,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return Ok(()),
                },
            };
            let messages: Vec<serde_json::Value> = match &logs_filter {
                None => vec![serde_json::to_value(convert::new_head(&block.header))?],
                Some(filter) => {
                    let logs = convert::block_logs(
                        &block.header,
                        &block.transaction_hashes,
                        &block.receipts,
                    );
                    let mut out = Vec::new();
                    for log in logs
                        .iter()
                        .flatten()
                        .filter(|log| filter.matches(&log.inner))
                    {
                        out.push(serde_json::to_value(log)?);
                    }
                    out
                }
            };
            for message in messages {
                let raw = serde_json::value::to_raw_value(&message)?;
                if sink.send(raw).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

impl EthRpc {
    /// `newPendingTransactions`: each transaction's hash (or, with `full`, the transaction) as
    /// it enters the pool.
    async fn pending_transactions(
        &self,
        pending: PendingSubscriptionSink,
        full: bool,
    ) -> SubscriptionResult {
        let mut arrived = self.chain.subscribe_pending();
        let sink = pending.accept().await?;
        loop {
            let tx = tokio::select! {
                _ = sink.closed() => return Ok(()),
                tx = arrived.recv() => match tx {
                    Ok(tx) => tx,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return Ok(()),
                },
            };
            let message = if full {
                serde_json::to_value(convert::transaction(&tx, None))?
            } else {
                serde_json::to_value(tx.tx.tx_hash())?
            };
            let raw = serde_json::value::to_raw_value(&message)?;
            if sink.send(raw).await.is_err() {
                return Ok(());
            }
        }
    }
}
