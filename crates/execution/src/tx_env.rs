//! An alloy transaction as revm's `TxEnv`.

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::Typed2718;
use alloy_primitives::Address;
use revm::{context::TxEnv, context_interface::either::Either};

/// The EVM input of a transaction whose sender is already recovered.
pub fn tx_env(tx: &TxEnvelope, sender: Address) -> TxEnv {
    let mut env = TxEnv {
        tx_type: tx.ty(),
        caller: sender,
        gas_limit: tx.gas_limit(),
        gas_price: tx.max_fee_per_gas(),
        kind: tx.kind(),
        value: tx.value(),
        data: tx.input().clone(),
        nonce: tx.nonce(),
        chain_id: tx.chain_id(),
        access_list: tx.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: tx.max_priority_fee_per_gas(),
        ..Default::default()
    };
    if let Some(authorizations) = tx.authorization_list() {
        env.authorization_list = authorizations.iter().cloned().map(Either::Left).collect();
    }
    env
}
