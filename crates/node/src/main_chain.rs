//! A client of the main chain's JSON-RPC for the services that sit beside a node (the Plasma
//! operator and watcher, the `ankr plasma` commands): read the head and logs, call contracts,
//! and send signed EIP-1559 transactions and wait for them.

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, hex};
use alloy_sol_types::{SolCall, SolEvent};
use jsonrpsee::core::{client::ClientT, params::ArrayParams};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use std::time::Duration;

/// Why talking to the main chain failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MainChainError {
    #[error("main-chain RPC {method}: {reason}")]
    Rpc { method: String, reason: String },
    #[error("unexpected answer from the main chain: {0}")]
    Decode(String),
    #[error("transaction {hash} reverted: {reason}")]
    Reverted { hash: B256, reason: String },
    #[error("transaction {0} was not mined in time")]
    NotMined(B256),
    #[error("the transaction would revert: {0}")]
    WouldRevert(String),
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

/// The main chain's JSON-RPC at one URL.
#[derive(Clone)]
pub struct MainChain {
    client: HttpClient,
    chain_id: u64,
}

/// A JSON-RPC quantity ("0x…") as a number; `None` for anything else.
pub(crate) fn parse_quantity(value: &Value) -> Option<u64> {
    value
        .as_str()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
}

fn quantity(value: &Value) -> Result<u64, MainChainError> {
    parse_quantity(value).ok_or_else(|| MainChainError::Decode(value.to_string()))
}

impl MainChain {
    /// Connects and reads the chain id.
    pub async fn connect(url: &str) -> Result<Self, MainChainError> {
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .build(url)
            .map_err(|e| MainChainError::Rpc {
                method: "connect".into(),
                reason: e.to_string(),
            })?;
        let mut chain = Self {
            client,
            chain_id: 0,
        };
        chain.chain_id = quantity(&chain.rpc("eth_chainId", json!([])).await?)?;
        Ok(chain)
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value, MainChainError> {
        request(&self.client, method, params).await
    }

    pub async fn head(&self) -> Result<u64, MainChainError> {
        quantity(&self.rpc("eth_blockNumber", json!([])).await?)
    }

    /// The latest block's timestamp: what a transaction sent now is checked against at least.
    pub async fn latest_timestamp(&self) -> Result<u64, MainChainError> {
        let block = self
            .rpc("eth_getBlockByNumber", json!(["latest", false]))
            .await?;
        quantity(&block["timestamp"])
    }

    pub async fn balance(&self, who: Address) -> Result<U256, MainChainError> {
        let answer = self.rpc("eth_getBalance", json!([who, "latest"])).await?;
        serde_json::from_value(answer).map_err(|e| MainChainError::Decode(e.to_string()))
    }

    /// `eth_call` of `call` on `to` at the head, decoded.
    pub async fn read<C: SolCall>(
        &self,
        to: Address,
        call: C,
    ) -> Result<C::Return, MainChainError> {
        let answer = self
            .rpc(
                "eth_call",
                json!([{ "to": to, "data": Bytes::from(call.abi_encode()) }, "latest"]),
            )
            .await?;
        let bytes = hex::decode(answer.as_str().unwrap_or_default())
            .map_err(|e| MainChainError::Decode(e.to_string()))?;
        C::abi_decode_returns(&bytes).map_err(|e| MainChainError::Decode(e.to_string()))
    }

    /// Logs of `address` in blocks `from..=to`.
    pub async fn logs(
        &self,
        address: Address,
        from: u64,
        to: u64,
    ) -> Result<Vec<Log>, MainChainError> {
        let answer = self
            .rpc(
                "eth_getLogs",
                json!([{ "address": address, "fromBlock": format!("0x{from:x}"), "toBlock": format!("0x{to:x}") }]),
            )
            .await?;
        let decode = |log: &Value| -> Option<Log> {
            Some(Log {
                block_number: quantity(&log["blockNumber"]).ok()?,
                topics: log["topics"]
                    .as_array()?
                    .iter()
                    .filter_map(|t| t.as_str()?.parse().ok())
                    .collect(),
                data: hex::decode(log["data"].as_str()?).ok()?,
            })
        };
        answer
            .as_array()
            .ok_or_else(|| MainChainError::Decode(answer.to_string()))?
            .iter()
            .map(|log| decode(log).ok_or_else(|| MainChainError::Decode(log.to_string())))
            .collect()
    }

    /// Signs and sends a transaction from `key` (nonce from the pending state).
    pub async fn send(
        &self,
        key: &secp256k1::SecretKey,
        to: Option<Address>,
        input: Vec<u8>,
        value: U256,
        gas_limit: u64,
    ) -> Result<B256, MainChainError> {
        let from = ankr_types::recovery::address_of(key);
        let nonce = quantity(
            &self
                .rpc("eth_getTransactionCount", json!([from, "pending"]))
                .await?,
        )?;
        let tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: 20_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: to.map_or(TxKind::Create, TxKind::Call),
            value,
            input: input.into(),
            ..Default::default()
        };
        let signed = ankr_types::recovery::sign_transaction(key, tx);
        let raw = format!("0x{}", hex::encode(signed.encoded_2718()));
        let hash = self.rpc("eth_sendRawTransaction", json!([raw])).await?;
        serde_json::from_value(hash).map_err(|e| MainChainError::Decode(e.to_string()))
    }

    /// Waits up to `timeout` for the receipt of `hash`; a reverted transaction is an error.
    pub async fn wait(&self, hash: B256, timeout: Duration) -> Result<Value, MainChainError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let receipt = self.rpc("eth_getTransactionReceipt", json!([hash])).await?;
            if !receipt.is_null() {
                if receipt["status"] != "0x1" {
                    return Err(MainChainError::Reverted {
                        hash,
                        reason: "status 0".into(),
                    });
                }
                return Ok(receipt);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(MainChainError::NotMined(hash));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Checks `call` with `eth_call` (a revert comes back with its reason), then sends it and
    /// waits for its receipt.
    pub async fn transact<C: SolCall>(
        &self,
        key: &secp256k1::SecretKey,
        to: Address,
        call: &C,
        value: U256,
        gas_limit: u64,
    ) -> Result<Value, MainChainError> {
        let from = ankr_types::recovery::address_of(key);
        let input = call.abi_encode();
        self.rpc(
            "eth_call",
            json!([{ "from": from, "to": to, "data": Bytes::from(input.clone()), "value": value, "gas": format!("0x{gas_limit:x}") }, "latest"]),
        )
        .await
        .map_err(|e| match e {
            MainChainError::Rpc { reason, .. } => MainChainError::WouldRevert(reason),
            other => other,
        })?;
        let hash = self.send(key, Some(to), input, value, gas_limit).await?;
        self.wait(hash, Duration::from_secs(60)).await
    }
}

/// One JSON-RPC request with positional `params` (a JSON array).
pub async fn request(
    client: &HttpClient,
    method: &str,
    params: Value,
) -> Result<Value, MainChainError> {
    let mut array = ArrayParams::new();
    for p in params.as_array().into_iter().flatten() {
        array
            .insert(p)
            .map_err(|e| MainChainError::Decode(e.to_string()))?;
    }
    client
        .request::<Value, _>(method, array)
        .await
        .map_err(|e| MainChainError::Rpc {
            method: method.into(),
            reason: e.to_string(),
        })
}

/// The logs of a receipt as events `E`.
pub fn receipt_events<E: SolEvent>(receipt: &Value) -> Vec<E> {
    receipt["logs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|log| {
            let topics: Vec<B256> = log["topics"]
                .as_array()?
                .iter()
                .filter_map(|t| t.as_str()?.parse().ok())
                .collect();
            let data = hex::decode(log["data"].as_str()?).ok()?;
            E::decode_raw_log(topics, &data).ok()
        })
        .collect()
}
