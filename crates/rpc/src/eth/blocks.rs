//! Blocks, transactions and receipts as they are stored, and the door for new transactions.

use super::*;

#[rpc(server, namespace = "eth")]
pub trait EthBlocksApi {
    #[method(name = "blockNumber")]
    fn block_number(&self) -> RpcResult<U64>;
    #[method(name = "getBlockByNumber")]
    fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> RpcResult<Option<RpcBlock>>;
    #[method(name = "getBlockByHash")]
    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>>;
    #[method(name = "getBlockTransactionCountByNumber")]
    fn block_tx_count_by_number(&self, number: BlockNumberOrTag) -> RpcResult<Option<U64>>;
    #[method(name = "getBlockTransactionCountByHash")]
    fn block_tx_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>>;
    #[method(name = "getTransactionByHash")]
    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Transaction>>;
    #[method(name = "getTransactionByBlockNumberAndIndex")]
    fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: U64,
    ) -> RpcResult<Option<Transaction>>;
    #[method(name = "getTransactionByBlockHashAndIndex")]
    fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: U64,
    ) -> RpcResult<Option<Transaction>>;
    #[method(name = "getRawTransactionByHash")]
    fn raw_transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Bytes>>;
    #[method(name = "getTransactionReceipt")]
    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>>;
    #[method(name = "getBlockReceipts")]
    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<TransactionReceipt>>>;
    #[method(name = "sendRawTransaction")]
    fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;
}

impl EthBlocksApiServer for EthRpc {
    fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(self.chain.head().number))
    }

    fn block_by_number(&self, number: BlockNumberOrTag, full: bool) -> RpcResult<Option<RpcBlock>> {
        let reader = self.reader()?;
        match header_of(&reader, BlockId::Number(number))? {
            Some(header) => Ok(Some(self.block_rpc(&reader, header, full)?)),
            None => Ok(None),
        }
    }

    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>> {
        let reader = self.reader()?;
        match reader.header(hash).map_err(internal)? {
            Some(header) => Ok(Some(self.block_rpc(&reader, header, full)?)),
            None => Ok(None),
        }
    }

    fn block_tx_count_by_number(&self, number: BlockNumberOrTag) -> RpcResult<Option<U64>> {
        let reader = self.reader()?;
        let Some(header) = header_of(&reader, BlockId::Number(number))? else {
            return Ok(None);
        };
        let block = self.cached_block(&reader, header.hash())?;
        Ok(Some(U64::from(block.body.transactions.len())))
    }

    fn block_tx_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>> {
        let reader = self.reader()?;
        let block = self.blocks.get(&reader, hash).map_err(internal)?;
        Ok(block.map(|b| U64::from(b.body.transactions.len())))
    }

    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Transaction>> {
        let reader = self.reader()?;
        if let Some(location) = reader.tx_location(hash).map_err(internal)? {
            let block = self.cached_block(&reader, location.block_hash)?;
            let (header, body) = (&block.header, &block.body);
            let index = location.index as usize;
            let (Some(tx), Some(sender)) = (body.transactions.get(index), body.senders.get(index))
            else {
                return Err(internal("transaction index points outside its block"));
            };
            let tx = ankr_types::RecoveredTx::new(tx.clone(), *sender);
            return Ok(Some(convert::transaction(&tx, Some((header, index)))));
        }
        Ok(self
            .chain
            .pooled_transaction(&hash)
            .map(|tx| convert::transaction(&tx, None)))
    }

    fn transaction_by_block_number_and_index(
        &self,
        number: BlockNumberOrTag,
        index: U64,
    ) -> RpcResult<Option<Transaction>> {
        let reader = self.reader()?;
        let Some(header) = header_of(&reader, BlockId::Number(number))? else {
            return Ok(None);
        };
        let block = self.cached_block(&reader, header.hash())?;
        Ok(transaction_at(&header, &block, index.to()))
    }

    fn transaction_by_block_hash_and_index(
        &self,
        hash: B256,
        index: U64,
    ) -> RpcResult<Option<Transaction>> {
        let reader = self.reader()?;
        if reader.header(hash).map_err(internal)?.is_none() {
            return Ok(None);
        }
        let block = self.cached_block(&reader, hash)?;
        Ok(transaction_at(&block.header, &block, index.to()))
    }

    fn raw_transaction_by_hash(&self, hash: B256) -> RpcResult<Option<Bytes>> {
        let reader = self.reader()?;
        if let Some(location) = reader.tx_location(hash).map_err(internal)? {
            let block = self.cached_block(&reader, location.block_hash)?;
            return Ok(block
                .body
                .transactions
                .get(location.index as usize)
                .map(|tx| alloy_eips::Encodable2718::encoded_2718(tx).into()));
        }
        Ok(self
            .chain
            .pooled_transaction(&hash)
            .map(|tx| alloy_eips::Encodable2718::encoded_2718(&tx.tx).into()))
    }

    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<TransactionReceipt>> {
        let reader = self.reader()?;
        let Some(location) = reader.tx_location(hash).map_err(internal)? else {
            return Ok(None);
        };
        let block = self.cached_block(&reader, location.block_hash)?;
        let (header, body, receipts) = (&block.header, &block.body, &block.receipts);
        Ok(convert::receipt(
            header,
            body,
            receipts,
            location.index as usize,
        ))
    }

    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<TransactionReceipt>>> {
        let reader = self.reader()?;
        let Some(header) = header_of(&reader, block)? else {
            return Ok(None);
        };
        let block = self.cached_block(&reader, header.hash())?;
        let (header, body, receipts) = (&block.header, &block.body, &block.receipts);
        (0..body.transactions.len())
            .map(|index| {
                convert::receipt(header, body, receipts, index)
                    .ok_or_else(|| internal("a block's receipt is missing"))
            })
            .collect::<RpcResult<Vec<_>>>()
            .map(Some)
    }

    fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        self.chain
            .submit_raw_transaction(&raw)
            .map_err(errors::from_submit)
    }
}

/// Transaction `index` of a block, as the RPC shows it (`None` past the last one).
fn transaction_at(header: &Header, block: &CachedBlock, index: usize) -> Option<Transaction> {
    let body = &block.body;
    let (tx, sender) = body.transactions.get(index).zip(body.senders.get(index))?;
    Some(convert::transaction(
        &ankr_types::RecoveredTx::new(tx.clone(), *sender),
        Some((header, index)),
    ))
}
