//! A minimal JSON-RPC wallet for the CLI's client commands: signs locally, sends raw
//! transactions, waits for receipts. The node never sees a key.

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, hex};
use anyhow::{Context, bail};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A JSON-RPC client with an optional signing key.
pub struct Wallet {
    pub client: HttpClient,
    key: Option<secp256k1::SecretKey>,
}

/// A quantity (`0x…`) from a JSON-RPC answer.
pub fn quantity(value: &Value) -> anyhow::Result<U256> {
    let text = value.as_str().context("expected a hex quantity")?;
    Ok(U256::from_str_radix(text.trim_start_matches("0x"), 16)?)
}

/// A secret key given as 32 bytes of hex (`--key`, `ANKR_KEY`).
pub fn parse_key(hex_key: &str) -> anyhow::Result<secp256k1::SecretKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim())?
        .try_into()
        .map_err(|_| anyhow::anyhow!("a key is 32 bytes of hex"))?;
    Ok(secp256k1::SecretKey::from_byte_array(bytes)?)
}

impl Wallet {
    /// Connects to `url`; `key` is a hex secret key, needed only to send transactions.
    pub fn new(url: &str, key: Option<&str>) -> anyhow::Result<Self> {
        let client = HttpClientBuilder::default()
            .max_request_size(32 << 20)
            .max_response_size(32 << 20)
            .request_timeout(Duration::from_secs(30))
            .build(url)?;
        let key = key.map(parse_key).transpose()?;
        Ok(Self { client, key })
    }

    /// The signing account.
    pub fn address(&self) -> anyhow::Result<Address> {
        Ok(ankr_types::recovery::address_of(
            self.key.as_ref().context("this command needs --key")?,
        ))
    }

    /// A JSON-RPC request with positional parameters.
    pub async fn request(&self, method: &str, params: Value) -> anyhow::Result<Value> {
        let mut array = jsonrpsee::core::params::ArrayParams::new();
        for p in params.as_array().context("params are an array")? {
            array.insert(p)?;
        }
        self.client
            .request(method, array)
            .await
            .with_context(|| format!("{method} failed"))
    }

    /// `eth_call` at the latest block.
    pub async fn call(&self, to: Address, input: Vec<u8>) -> anyhow::Result<Bytes> {
        let answer = self
            .request(
                "eth_call",
                json!([{ "to": to, "data": Bytes::from(input) }, "latest"]),
            )
            .await?;
        Ok(hex::decode(answer.as_str().context("eth_call answer")?)?.into())
    }

    /// Signs and sends a call with `value`, then waits for its receipt; fails if it reverted.
    pub async fn send(&self, to: Address, value: U256, input: Vec<u8>) -> anyhow::Result<Value> {
        let key = self.key.as_ref().context("this command needs --key")?;
        let from = self.address()?;
        let input = Bytes::from(input);
        let chain_id = quantity(&self.request("eth_chainId", json!([])).await?)?.to::<u64>();
        let nonce = quantity(
            &self
                .request("eth_getTransactionCount", json!([from, "pending"]))
                .await?,
        )?
        .to::<u64>();
        let gas = quantity(
            &self
                .request(
                    "eth_estimateGas",
                    json!([{ "from": from, "to": to, "value": value, "data": input }]),
                )
                .await?,
        )?
        .to::<u64>();
        let price = quantity(&self.request("eth_gasPrice", json!([])).await?)?.to::<u128>();
        let tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: gas + gas / 5,
            max_fee_per_gas: price * 2,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(to),
            value,
            input,
            ..Default::default()
        };
        let signed = ankr_types::recovery::sign_transaction(key, tx);
        let raw = Bytes::from(signed.encoded_2718());
        let hash = self.request("eth_sendRawTransaction", json!([raw])).await?;
        let hash: B256 = serde_json::from_value(hash)?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let receipt = self
                .request("eth_getTransactionReceipt", json!([hash]))
                .await?;
            if !receipt.is_null() {
                if receipt["status"] != "0x1" {
                    bail!("transaction {hash} reverted");
                }
                return Ok(receipt);
            }
            if Instant::now() > deadline {
                bail!("transaction {hash} not mined within 2 minutes");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
