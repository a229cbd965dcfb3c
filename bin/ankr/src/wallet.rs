//! The CLI's client commands talk to a node through `ankr-client`: its typed reads and, when a
//! key is given, its [`Sender`] (local signing, the one fee rule). The node never sees a key.

use alloy_primitives::{Address, Bytes, U256, hex};
use alloy_rpc_types_eth::TransactionReceipt;
use ankr_client::main_chain::call_request;
use ankr_client::{MainChain, Sender};
use anyhow::Context;
use std::time::Duration;

/// A node's client with an optional signing account.
pub struct Wallet {
    pub chain: MainChain,
    sender: Option<Sender>,
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
    pub async fn connect(url: &str, key: Option<&str>) -> anyhow::Result<Self> {
        let chain = MainChain::connect(url).await?;
        let sender = key
            .map(parse_key)
            .transpose()?
            .map(|key| Sender::new(chain.clone(), key));
        Ok(Self { chain, sender })
    }

    fn sender(&self) -> anyhow::Result<&Sender> {
        self.sender.as_ref().context("this command needs --key")
    }

    /// The signing account.
    pub fn address(&self) -> anyhow::Result<Address> {
        Ok(self.sender()?.address())
    }

    /// `eth_call` at the latest block.
    pub async fn call(&self, to: Address, input: Vec<u8>) -> anyhow::Result<Bytes> {
        Ok(self
            .chain
            .call(call_request(None, to, input, U256::ZERO))
            .await?)
    }

    /// Signs and sends a call with `value` (gas: the node's estimate and a fifth more), then
    /// waits for its receipt; fails if it reverted.
    pub async fn send(
        &self,
        to: Address,
        value: U256,
        input: Vec<u8>,
    ) -> anyhow::Result<TransactionReceipt> {
        let sender = self.sender()?;
        let gas = self
            .chain
            .estimate_gas(call_request(
                Some(sender.address()),
                to,
                input.clone(),
                value,
            ))
            .await?;
        let sent = sender.send(Some(to), input, value, gas + gas / 5).await?;
        Ok(self.chain.wait(sent.hash, Duration::from_secs(120)).await?)
    }
}
