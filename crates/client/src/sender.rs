//! One account sending to the main chain. The [`Sender`] owns the key, picks the nonce and
//! the fees (one rule: [`Fees::following`]); nothing else in the repository builds a
//! transaction for a node it talks to over JSON-RPC.

use crate::main_chain::{ClientError, MainChain, call_request};
use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, TxKind, U256};
use alloy_rpc_types_eth::{TransactionReceipt, TransactionRequest};
use alloy_sol_types::SolCall;
use ankr_types::fees::Fees;
use std::time::Duration;

/// How long [`Sender::transact`] waits for a receipt.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// A transaction pooled by a [`Sender`]: what it paid, to replace it if it gets stuck.
#[derive(Clone, Debug)]
pub struct Sent {
    pub hash: B256,
    pub tx: TxEip1559,
}

/// An account that signs locally and sends through a node.
pub struct Sender {
    chain: MainChain,
    key: secp256k1::SecretKey,
    address: Address,
    /// Held from reading the nonce until the node has pooled the transaction, so that two
    /// sends from the same account never take the same nonce.
    sending: tokio::sync::Mutex<()>,
}

impl Sender {
    pub fn new(chain: MainChain, key: secp256k1::SecretKey) -> Self {
        Self {
            address: ankr_types::recovery::address_of(&key),
            chain,
            key,
            sending: tokio::sync::Mutex::new(()),
        }
    }

    pub fn address(&self) -> Address {
        self.address
    }

    pub fn chain(&self) -> &MainChain {
        &self.chain
    }

    /// Signs and pools a transaction at the account's next nonce (counting its pooled ones,
    /// so a transaction the pool dropped leaves no gap) with the fees the rule asks now.
    pub async fn send(
        &self,
        to: Option<Address>,
        input: Vec<u8>,
        value: U256,
        gas_limit: u64,
    ) -> Result<Sent, ClientError> {
        let _turn = self.sending.lock().await;
        let (nonce, fees) =
            tokio::try_join!(self.chain.pending_nonce(self.address), self.chain.fees())?;
        let tx = TxEip1559 {
            chain_id: self.chain.chain_id(),
            nonce,
            gas_limit,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to: to.map_or(TxKind::Create, TxKind::Call),
            value,
            input: input.into(),
            ..Default::default()
        };
        self.pool(tx).await
    }

    /// Replaces a stuck transaction (same nonce) by one paying [`Fees::replacing`].
    pub async fn resend_faster(&self, sent: &Sent) -> Result<Sent, ClientError> {
        let old = Fees {
            max_fee_per_gas: sent.tx.max_fee_per_gas,
            max_priority_fee_per_gas: sent.tx.max_priority_fee_per_gas,
        };
        let fees = old.replacing(self.chain.fees().await?);
        let tx = TxEip1559 {
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            ..sent.tx.clone()
        };
        self.pool(tx).await
    }

    async fn pool(&self, tx: TxEip1559) -> Result<Sent, ClientError> {
        let signed = ankr_types::recovery::sign_transaction(&self.key, tx.clone());
        let hash = self.chain.send_raw(signed.encoded_2718()).await?;
        Ok(Sent { hash, tx })
    }

    /// Checks `call` with `eth_call` from this account (a revert comes back with its reason,
    /// before any fee is paid), then sends it and waits for its receipt.
    pub async fn transact<C: SolCall>(
        &self,
        to: Address,
        call: &C,
        value: U256,
        gas_limit: u64,
    ) -> Result<TransactionReceipt, ClientError> {
        let input = call.abi_encode();
        let check = TransactionRequest {
            gas: Some(gas_limit),
            ..call_request(Some(self.address), to, input.clone(), value)
        };
        if let Err(error) = self.chain.call(check).await {
            return Err(match error.node_message() {
                Some(reason) => ClientError::WouldRevert(reason.to_string()),
                None => error,
            });
        }
        let sent = self.send(Some(to), input, value, gas_limit).await?;
        self.chain.wait(sent.hash, RECEIPT_TIMEOUT).await
    }
}
