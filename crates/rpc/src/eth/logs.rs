//! Logs and polling filters (`eth_getLogs`, `eth_newFilter`, `eth_getFilterChanges`, …).

use super::*;

#[rpc(server, namespace = "eth")]
pub trait EthLogsApi {
    #[method(name = "getLogs", blocking)]
    fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
    #[method(name = "newFilter")]
    fn new_filter(&self, filter: Filter) -> RpcResult<U256>;
    #[method(name = "newBlockFilter")]
    fn new_block_filter(&self) -> RpcResult<U256>;
    #[method(name = "newPendingTransactionFilter")]
    fn new_pending_transaction_filter(&self) -> RpcResult<U256>;
    #[method(name = "getFilterChanges", blocking)]
    fn filter_changes(&self, id: U256) -> RpcResult<serde_json::Value>;
    #[method(name = "getFilterLogs", blocking)]
    fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>>;
    #[method(name = "uninstallFilter")]
    fn uninstall_filter(&self, id: U256) -> RpcResult<bool>;
}

impl EthLogsApiServer for EthRpc {
    fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>> {
        self.filter_logs_now(&filter)
    }

    fn new_filter(&self, filter: Filter) -> RpcResult<U256> {
        let head = self.chain.head().number;
        // A log filter reports from its fromBlock if that is earlier than the head.
        let start = match filter.block_option.get_from_block() {
            Some(&BlockNumberOrTag::Number(n)) => n.saturating_sub(1).min(head),
            Some(&BlockNumberOrTag::Earliest) => 0,
            _ => head,
        };
        self.filters
            .install(FilterKind::Logs(Box::new(filter)), start)
            .ok_or_else(|| rpc_error(codes::LIMIT_EXCEEDED, "too many filters installed"))
    }

    fn new_block_filter(&self) -> RpcResult<U256> {
        self.filters
            .install(FilterKind::Blocks, self.chain.head().number)
            .ok_or_else(|| rpc_error(codes::LIMIT_EXCEEDED, "too many filters installed"))
    }

    fn new_pending_transaction_filter(&self) -> RpcResult<U256> {
        self.filters
            .install(FilterKind::PendingTransactions, self.chain.latest_arrival())
            .ok_or_else(|| rpc_error(codes::LIMIT_EXCEEDED, "too many filters installed"))
    }

    fn filter_changes(&self, id: U256) -> RpcResult<serde_json::Value> {
        let reader = self.reader()?;
        let head = head_of(&reader)?.number;
        if let Some(FilterKind::PendingTransactions) = self.filters.get(id).map(|f| f.kind) {
            let seen = self.filters.get(id).map_or(0, |f| f.reported_up_to);
            let (hashes, latest) = self.chain.arrivals_since(seen);
            self.filters.advance(id, latest);
            return serde_json::to_value(hashes).map_err(internal);
        }
        let filter = self
            .filters
            .poll(id, head)
            .ok_or_else(|| rpc_error(codes::SERVER, "filter not found"))?;
        let from = filter.reported_up_to + 1;
        let value = match filter.kind {
            FilterKind::Blocks => {
                let mut hashes = Vec::new();
                for n in from..=head {
                    hashes.extend(reader.canonical_hash(n).map_err(internal)?);
                }
                serde_json::to_value(hashes)
            }
            FilterKind::PendingTransactions => unreachable!("answered above"),
            FilterKind::Logs(filter) => {
                let to = match filter.block_option.get_to_block() {
                    Some(&BlockNumberOrTag::Number(n)) => n.min(head),
                    _ => head,
                };
                let logs = if from > to {
                    vec![]
                } else {
                    self.logs_in_range(&reader, &filter, from, to)?
                };
                serde_json::to_value(logs)
            }
        };
        value.map_err(internal)
    }

    fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>> {
        match self.filters.get(id).map(|f| f.kind) {
            Some(FilterKind::Logs(filter)) => self.filter_logs_now(&filter),
            Some(_) => Err(invalid_params("filter is not a log filter")),
            None => Err(rpc_error(codes::SERVER, "filter not found")),
        }
    }

    fn uninstall_filter(&self, id: U256) -> RpcResult<bool> {
        Ok(self.filters.uninstall(id))
    }
}

/// Most blocks one `eth_getLogs` may scan.
const MAX_LOG_RANGE: u64 = 10_000;

impl EthRpc {
    /// Logs matching `filter` in blocks `from..=to` of the canonical chain.
    fn logs_in_range(
        &self,
        reader: &StoreReader,
        filter: &Filter,
        from: u64,
        to: u64,
    ) -> RpcResult<Vec<Log>> {
        if to >= from && to - from >= MAX_LOG_RANGE {
            return Err(rpc_error(
                codes::LIMIT_EXCEEDED,
                format!("query exceeds max block range {MAX_LOG_RANGE}"),
            ));
        }
        let mut out = Vec::new();
        for number in from..=to {
            let Some(header) = reader.header_by_number(number).map_err(internal)? else {
                break;
            };
            self.collect_block_logs(reader, filter, &header, &mut out)?;
        }
        Ok(out)
    }

    fn collect_block_logs(
        &self,
        reader: &StoreReader,
        filter: &Filter,
        header: &Header,
        out: &mut Vec<Log>,
    ) -> RpcResult<()> {
        if !filter.matches_bloom(header.logs_bloom) {
            return Ok(());
        }
        let block = self.cached_block(reader, header.hash())?;
        let hashes: Vec<B256> = block
            .body
            .transactions
            .iter()
            .map(|t| *t.tx_hash())
            .collect();
        for logs in convert::block_logs(header, &hashes, &block.receipts) {
            out.extend(logs.into_iter().filter(|log| filter.matches(&log.inner)));
        }
        Ok(())
    }

    fn filter_logs_now(&self, filter: &Filter) -> RpcResult<Vec<Log>> {
        let reader = self.reader()?;
        match &filter.block_option {
            FilterBlockOption::AtBlockHash(hash) => {
                let header = reader
                    .header(*hash)
                    .map_err(internal)?
                    .ok_or_else(header_not_found)?;
                let mut out = Vec::new();
                self.collect_block_logs(&reader, filter, &header, &mut out)?;
                Ok(out)
            }
            FilterBlockOption::Range {
                from_block,
                to_block,
            } => {
                let head = head_of(&reader)?.number;
                let resolve = |tag: Option<BlockNumberOrTag>| -> RpcResult<u64> {
                    Ok(match tag.unwrap_or(BlockNumberOrTag::Latest) {
                        BlockNumberOrTag::Number(n) => n,
                        other => number_of(&reader, other)?.unwrap_or(head),
                    })
                };
                let (from, to) = (resolve(*from_block)?, resolve(*to_block)?.min(head));
                if from > to {
                    return Ok(vec![]);
                }
                self.logs_in_range(&reader, filter, from, to)
            }
        }
    }
}
