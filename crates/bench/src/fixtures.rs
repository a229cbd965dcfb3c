//! The benchmark chain: funded senders holding the example token, and their signed transfers.

//! `ankr bench`: the node's speed as ratios against baselines measured in the same run, because
//! these machines are noisy: raw revm for execution, parallel libsecp256k1 recovery for
//! end-to-end throughput, an in-memory HashBuilder for the state root.

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use ankr_contracts::artifact;
use ankr_types::{
    ChainSpec, GenesisAccount, TxEnvelope, chain_spec::ANKR, recovery::sign_transaction,
};

pub(crate) const CHAIN_ID: u64 = 4_242_424;
/// The ExampleToken address in the benchmark genesis.
pub(crate) const TOKEN: Address = Address::repeat_byte(0x70);
/// `balanceOf` is the token's fourth storage variable (slot 3).
const BALANCE_OF_SLOT: u64 = 3;

pub(crate) fn key(i: usize) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array(keccak256((i as u64 + 1).to_be_bytes()).0)
        .expect("keccak output is a valid key with overwhelming probability")
}

pub(crate) fn balance_slot(owner: Address) -> B256 {
    let mut preimage = [0u8; 64];
    preimage[12..32].copy_from_slice(owner.as_slice());
    preimage[56..].copy_from_slice(&BALANCE_OF_SLOT.to_be_bytes());
    keccak256(preimage)
}

/// The devnet's spec (its system contracts included: the spec names them) with `senders`
/// funded and holding the token.
pub(crate) fn spec(senders: &[Address], gas_limit: u64) -> ChainSpec {
    let devnet = ankr_node::devnet::spec();
    let mut alloc = devnet.alloc.clone();
    alloc.extend(senders.iter().map(|a| {
        (
            *a,
            GenesisAccount {
                balance: U256::from(1000 * ANKR),
                ..Default::default()
            },
        )
    }));
    let storage = senders
        .iter()
        .map(|a| (balance_slot(*a), B256::from(U256::from(ANKR))))
        .collect();
    alloc.insert(
        TOKEN,
        GenesisAccount {
            code: artifact("ExampleToken")
                .expect("committed")
                .deployed_bytecode,
            storage,
            ..Default::default()
        },
    );
    ChainSpec {
        name: "bench".into(),
        chain_id: CHAIN_ID,
        gas_limit,
        alloc,
        ..devnet
    }
}

pub(crate) fn signed(i: usize, to: TxKind, input: Bytes, gas: u64) -> TxEnvelope {
    sign_transaction(
        &key(i),
        TxEip1559 {
            chain_id: CHAIN_ID,
            nonce: 0,
            gas_limit: gas,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to,
            value: U256::from(1),
            input,
            ..Default::default()
        },
    )
}
