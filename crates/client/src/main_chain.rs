//! The main chain as the services beside a node see it (Plasma operator and watcher, oracle
//! relay, `ankr` client commands): typed reads over `EthApiClient` ([`crate::eth`]), and
//! receipts waited for.

use crate::eth::EthApiClient;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rpc_types_eth::{
    Block, BlockId, BlockNumberOrTag, Filter, TransactionInput, TransactionReceipt,
    TransactionRequest,
};
use alloy_sol_types::{SolCall, SolEvent};
use ankr_types::fees::Fees;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use std::time::Duration;

/// Why talking to the main chain failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the main chain at {url}: {source}")]
    Connect {
        url: String,
        source: jsonrpsee::core::ClientError,
    },
    /// The node answered with an error (its message carries a revert reason) or not at all.
    #[error("main-chain RPC {method}: {source}")]
    Rpc {
        method: &'static str,
        source: jsonrpsee::core::ClientError,
    },
    #[error("unexpected answer from the main chain: {0}")]
    Decode(String),
    #[error("transaction {hash} reverted")]
    Reverted { hash: B256 },
    #[error("transaction {0} was not mined in time")]
    NotMined(B256),
    #[error("the transaction would revert: {0}")]
    WouldRevert(String),
}

impl ClientError {
    /// The node's own words, when it answered with an error object (e.g. a revert reason).
    pub fn node_message(&self) -> Option<&str> {
        match self {
            Self::Rpc {
                source: jsonrpsee::core::ClientError::Call(error),
                ..
            } => Some(error.message()),
            Self::WouldRevert(reason) => Some(reason),
            _ => None,
        }
    }
}

/// Tags a failed request with its method.
pub(crate) fn rpc(
    method: &'static str,
) -> impl FnOnce(jsonrpsee::core::ClientError) -> ClientError {
    move |source| ClientError::Rpc { method, source }
}

/// A main-chain log with its place.
#[derive(Clone, Debug)]
pub struct Log {
    pub block_number: u64,
    pub topics: Vec<B256>,
    pub data: Vec<u8>,
}

impl Log {
    /// The log as event `E`, if it is one.
    pub fn decode<E: SolEvent>(&self) -> Option<E> {
        E::decode_raw_log(self.topics.iter().copied(), &self.data).ok()
    }
}

/// The logs of a receipt as events `E`.
pub fn receipt_events<E: SolEvent>(receipt: &TransactionReceipt) -> Vec<E> {
    receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| E::decode_raw_log(log.topics().iter().copied(), &log.data().data).ok())
        .collect()
}

/// A node's JSON-RPC at one URL.
#[derive(Clone)]
pub struct MainChain {
    client: HttpClient,
    chain_id: u64,
}

/// The head state: what every read here is made against.
const LATEST: BlockId = BlockId::Number(BlockNumberOrTag::Latest);

impl MainChain {
    /// Connects and reads the chain id.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        let client = HttpClientBuilder::default()
            .max_request_size(32 << 20)
            .max_response_size(32 << 20)
            .request_timeout(Duration::from_secs(30))
            .build(url)
            .map_err(|source| ClientError::Connect {
                url: url.into(),
                source,
            })?;
        let chain_id = client
            .chain_id()
            .await
            .map_err(|source| ClientError::Connect {
                url: url.into(),
                source,
            })?
            .to();
        Ok(Self { client, chain_id })
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The JSON-RPC client, for the methods a caller declares itself.
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    pub async fn head(&self) -> Result<u64, ClientError> {
        Ok(self
            .client
            .block_number()
            .await
            .map_err(rpc("eth_blockNumber"))?
            .to())
    }

    /// The latest block (transaction hashes only).
    pub async fn latest_block(&self) -> Result<Block, ClientError> {
        self.client
            .block_by_number(BlockNumberOrTag::Latest, false)
            .await
            .map_err(rpc("eth_getBlockByNumber"))?
            .ok_or_else(|| ClientError::Decode("the node has no latest block".into()))
    }

    /// The latest block's timestamp: what a transaction sent now is checked against at least.
    pub async fn latest_timestamp(&self) -> Result<u64, ClientError> {
        Ok(self.latest_block().await?.header.timestamp)
    }

    pub async fn balance(&self, who: Address) -> Result<U256, ClientError> {
        self.client
            .balance(who, LATEST)
            .await
            .map_err(rpc("eth_getBalance"))
    }

    pub async fn code(&self, address: Address) -> Result<Bytes, ClientError> {
        self.client
            .code(address, LATEST)
            .await
            .map_err(rpc("eth_getCode"))
    }

    /// The next nonce of `who`, counting its pooled transactions.
    pub async fn pending_nonce(&self, who: Address) -> Result<u64, ClientError> {
        Ok(self
            .client
            .transaction_count(who, BlockId::Number(BlockNumberOrTag::Pending))
            .await
            .map_err(rpc("eth_getTransactionCount"))?
            .to())
    }

    /// The fees [`Fees::following`] asks for the next block: the latest base fee and the
    /// node's suggested tip.
    pub async fn fees(&self) -> Result<Fees, ClientError> {
        let (block, tip) = tokio::try_join!(self.latest_block(), async {
            self.client
                .max_priority_fee_per_gas()
                .await
                .map_err(rpc("eth_maxPriorityFeePerGas"))
        })?;
        let base_fee = block.header.base_fee_per_gas.unwrap_or_default();
        Ok(Fees::following(
            u128::from(base_fee),
            tip.try_into().unwrap_or(u128::MAX),
        ))
    }

    /// `eth_call` of `request` at the head.
    pub async fn call(&self, request: TransactionRequest) -> Result<Bytes, ClientError> {
        self.client
            .call(request, LATEST)
            .await
            .map_err(rpc("eth_call"))
    }

    /// The gas `request` needs at the head.
    pub async fn estimate_gas(&self, request: TransactionRequest) -> Result<u64, ClientError> {
        Ok(self
            .client
            .estimate_gas(request)
            .await
            .map_err(rpc("eth_estimateGas"))?
            .to())
    }

    /// `eth_call` of `call` on `to` at the head, decoded.
    pub async fn read<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, ClientError> {
        let output = self
            .call(call_request(None, to, call.abi_encode(), U256::ZERO))
            .await?;
        C::abi_decode_returns(&output).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// `eth_call` of `call` on `to` at block `number`, decoded (a bridge reads the main chain
    /// some blocks below the head, where a reorganisation is improbable).
    pub async fn read_at<C: SolCall>(
        &self,
        to: Address,
        call: C,
        number: u64,
    ) -> Result<C::Return, ClientError> {
        let request = call_request(None, to, call.abi_encode(), U256::ZERO);
        let output = self
            .client
            .call(request, BlockId::number(number))
            .await
            .map_err(rpc("eth_call"))?;
        C::abi_decode_returns(&output).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// The events `E` `address` emitted in blocks `from..=to`, in order.
    pub async fn events<E: SolEvent>(
        &self,
        address: Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<E>, ClientError> {
        let logs = self
            .logs(address, Some(E::SIGNATURE_HASH), from, to)
            .await?;
        Ok(logs.iter().filter_map(Log::decode::<E>).collect())
    }

    /// Logs of `address` in blocks `from..=to`, with `topic0` if given.
    pub async fn logs(
        &self,
        address: Address,
        topic0: Option<B256>,
        from: u64,
        to: u64,
    ) -> Result<Vec<Log>, ClientError> {
        let mut filter = Filter::new().address(address).from_block(from).to_block(to);
        if let Some(topic) = topic0 {
            filter = filter.event_signature(topic);
        }
        let logs = self.client.logs(filter).await.map_err(rpc("eth_getLogs"))?;
        logs.into_iter()
            .map(|log| {
                Ok(Log {
                    block_number: log.block_number.ok_or_else(|| {
                        ClientError::Decode("a mined log without its block number".into())
                    })?,
                    topics: log.topics().to_vec(),
                    data: log.data().data.to_vec(),
                })
            })
            .collect()
    }

    /// Pools a signed transaction (EIP-2718 bytes).
    pub async fn send_raw(&self, raw: Vec<u8>) -> Result<B256, ClientError> {
        self.client
            .send_raw_transaction(raw.into())
            .await
            .map_err(rpc("eth_sendRawTransaction"))
    }

    /// The receipt of `hash`, if mined.
    pub async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, ClientError> {
        self.client
            .transaction_receipt(hash)
            .await
            .map_err(rpc("eth_getTransactionReceipt"))
    }

    /// Waits up to `timeout` for the receipt of `hash`; a reverted transaction is an error.
    pub async fn wait(
        &self,
        hash: B256,
        timeout: Duration,
    ) -> Result<TransactionReceipt, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(receipt) = self.receipt(hash).await? {
                if !receipt.status() {
                    return Err(ClientError::Reverted { hash });
                }
                return Ok(receipt);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ClientError::NotMined(hash));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A call of `input` on `to`, from `from` if given.
pub fn call_request(
    from: Option<Address>,
    to: Address,
    input: Vec<u8>,
    value: U256,
) -> TransactionRequest {
    TransactionRequest {
        from,
        to: Some(to.into()),
        value: Some(value),
        input: TransactionInput::new(input.into()),
        ..Default::default()
    }
}
