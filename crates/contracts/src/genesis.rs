//! System contracts as genesis places them: runtime code plus the storage their constructor
//! would have written, computed from Solidity's storage layout.

use crate::artifact;
use alloy_primitives::{Address, B256, U256, keccak256};
use ankr_types::GenesisAccount;
use std::collections::BTreeMap;

/// Fixed address of `EnclaveRegistry` in every ankr chain spec.
pub const ENCLAVE_REGISTRY_ADDRESS: Address =
    alloy_primitives::address!("00000000000000000000000000000000000a0001");

/// Fixed address of `WorkMarket` in every ankr chain spec.
pub const WORK_MARKET_ADDRESS: Address =
    alloy_primitives::address!("00000000000000000000000000000000000a0002");
/// Name of the market in a spec's `system_contracts`.
pub const WORK_MARKET: &str = "WorkMarket";

/// The market's genesis account: runtime code only (it starts with no tasks).
pub fn work_market_genesis() -> GenesisAccount {
    GenesisAccount {
        nonce: 1,
        code: artifact("WorkMarket")
            .expect("WorkMarket artifact is committed")
            .deployed_bytecode,
        ..Default::default()
    }
}

/// `EnclaveRegistry.ROLE_USEFUL_WORK`: enclaves of the measurement seal blocks.
pub const ROLE_USEFUL_WORK: u8 = 1;
/// `EnclaveRegistry.ROLE_ORACLE`: enclaves of the measurement sign oracle datagrams.
pub const ROLE_ORACLE: u8 = 2;

/// Fixed address of `NativeOracle` in every ankr chain spec.
pub const NATIVE_ORACLE_ADDRESS: Address =
    alloy_primitives::address!("00000000000000000000000000000000000a0003");
/// Name of the oracle in a spec's `system_contracts`.
pub const NATIVE_ORACLE: &str = "NativeOracle";

/// The Native Oracle's fee settings (Town Crier's numbers by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleGenesis {
    /// P: the fixed gas price fees are counted in, in wei.
    pub gas_price: U256,
    /// Gmin: gas of a delivery besides the callback.
    pub min_gas: u64,
    /// Gcancel: gas a cancellation keeps (at most Gmin).
    pub cancel_gas: u64,
    /// Gmax: the most gas a request may pay for.
    pub max_gas: u64,
    /// Blocks after which an undelivered request may be expired.
    pub timeout_blocks: u64,
    /// Receives cancellation fees.
    pub fee_collector: Address,
}

impl Default for OracleGenesis {
    fn default() -> Self {
        Self {
            gas_price: U256::from(50_000_000_000u64),
            min_gas: 30_000,
            cancel_gas: 25_000,
            max_gas: 3_000_000,
            timeout_blocks: 100,
            fee_collector: Address::ZERO,
        }
    }
}

/// Why oracle settings cannot go into a genesis.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OracleSettingsError {
    #[error("Gcancel ({cancel}) must not exceed Gmin ({min})")]
    CancelAboveMin { cancel: u64, min: u64 },
    #[error("Gmin ({min}) must be below Gmax ({max})")]
    MinNotBelowMax { min: u64, max: u64 },
}

/// The oracle's genesis account: runtime code and `settings` in slots 0-5, as
/// `NativeOracle.sol` declares them.
pub fn native_oracle_genesis(
    settings: &OracleGenesis,
) -> Result<GenesisAccount, OracleSettingsError> {
    if settings.cancel_gas > settings.min_gas {
        return Err(OracleSettingsError::CancelAboveMin {
            cancel: settings.cancel_gas,
            min: settings.min_gas,
        });
    }
    if settings.min_gas >= settings.max_gas {
        return Err(OracleSettingsError::MinNotBelowMax {
            min: settings.min_gas,
            max: settings.max_gas,
        });
    }
    let storage = [
        settings.gas_price,
        U256::from(settings.min_gas),
        U256::from(settings.cancel_gas),
        U256::from(settings.max_gas),
        U256::from(settings.timeout_blocks),
        U256::from_be_bytes(address_word(settings.fee_collector).0),
    ]
    .into_iter()
    .enumerate()
    .filter(|(_, value)| !value.is_zero())
    .map(|(slot, value)| (B256::from(U256::from(slot)), B256::from(value)))
    .collect();
    Ok(GenesisAccount {
        nonce: 1,
        code: artifact("NativeOracle")
            .expect("NativeOracle artifact is committed")
            .deployed_bytecode,
        storage,
        ..Default::default()
    })
}

/// Name of the registry in a spec's `system_contracts`.
pub const ENCLAVE_REGISTRY: &str = "EnclaveRegistry";

/// Where every chain has Multicall3 (viem, wagmi and explorers look for it there).
pub const MULTICALL3_ADDRESS: Address =
    alloy_primitives::address!("cA11bde05977b3631167028862bE2a173976CA11");

/// Multicall3's genesis account: runtime code only (it keeps no state).
pub fn multicall3_genesis() -> GenesisAccount {
    GenesisAccount {
        nonce: 1,
        code: artifact("Multicall3")
            .expect("Multicall3 artifact is committed")
            .deployed_bytecode,
        ..Default::default()
    }
}

/// Fixed address of `ChildChainRegistry` (RootChain reports its boundaries there).
pub const CHILD_CHAIN_REGISTRY_ADDRESS: Address =
    alloy_primitives::address!("00000000000000000000000000000000000a0004");
/// Name of the child-chain registry in a spec's `system_contracts`.
pub const CHILD_CHAIN_REGISTRY: &str = "ChildChainRegistry";

/// The child-chain registry's genesis account: runtime code and `minStake` (slot 0), the
/// least a RootChain's operator must have staked to register the chain.
pub fn child_chain_registry_genesis(min_stake: U256) -> GenesisAccount {
    let mut storage = BTreeMap::new();
    if !min_stake.is_zero() {
        storage.insert(B256::ZERO, B256::from(min_stake));
    }
    GenesisAccount {
        nonce: 1,
        code: artifact("ChildChainRegistry")
            .expect("ChildChainRegistry artifact is committed")
            .deployed_bytecode,
        storage,
        ..Default::default()
    }
}

/// Slot of `mapping[key]` for a mapping declared at `slot`: keccak(key ‖ slot).
fn mapping_slot(key: B256, slot: u64) -> U256 {
    let mut bytes = [0u8; 64];
    bytes[..32].copy_from_slice(key.as_slice());
    bytes[32..].copy_from_slice(&U256::from(slot).to_be_bytes::<32>());
    U256::from_be_bytes(keccak256(bytes).0)
}

fn address_word(address: Address) -> B256 {
    address.into_word()
}

/// The settings of `EnclaveRegistry` at genesis.
#[derive(Clone, Debug, Default)]
pub struct RegistryGenesis {
    /// The attestation service's root address.
    pub attestation_root: Address,
    /// K: blocks a registration stays valid.
    pub registration_period: u64,
    /// Measurements whose enclaves are admitted to seal blocks (role 1).
    pub allowed_measurements: Vec<B256>,
    /// Measurements whose enclaves are admitted as Native Oracle enclaves (role 2).
    pub oracle_measurements: Vec<B256>,
    /// Oracle enclaves registered at block 0 (their registration ends at the period).
    pub bootstrap_oracles: Vec<Address>,
    /// Enclaves registered at block 0, as (enclave, platform id): the first sealers of a chain,
    /// which no one could otherwise register (registering takes a block).
    pub bootstrap_enclaves: Vec<(Address, B256)>,
}

/// The registry's genesis account: its runtime code and the storage of `settings`, laid out
/// as `EnclaveRegistry.sol` declares (slots 0–8).
pub fn enclave_registry_genesis(settings: &RegistryGenesis) -> GenesisAccount {
    let mut storage = BTreeMap::new();
    let mut set = |slot: U256, value: U256| {
        storage.insert(B256::from(slot), B256::from(value));
    };
    set(
        U256::ZERO,
        U256::from_be_bytes(address_word(settings.attestation_root).0),
    );
    set(U256::from(1), U256::from(settings.registration_period));
    for measurement in &settings.allowed_measurements {
        set(mapping_slot(*measurement, 2), U256::from(ROLE_USEFUL_WORK));
    }
    for measurement in &settings.oracle_measurements {
        set(mapping_slot(*measurement, 2), U256::from(ROLE_ORACLE));
    }
    for oracle in &settings.bootstrap_oracles {
        set(
            mapping_slot(address_word(*oracle), 8),
            U256::from(settings.registration_period),
        );
    }
    let array_start = U256::from_be_bytes(keccak256(U256::from(6).to_be_bytes::<32>()).0);
    let mut platforms = Vec::new();
    for (enclave, platform) in &settings.bootstrap_enclaves {
        set(
            mapping_slot(address_word(*enclave), 3),
            U256::from_be_bytes(platform.0),
        );
        // registeredAt = 0 is the default value of slot 4.
        set(
            mapping_slot(*platform, 5),
            U256::from_be_bytes(address_word(*enclave).0),
        );
        if !platforms.contains(platform) {
            set(
                array_start + U256::from(platforms.len()),
                U256::from_be_bytes(platform.0),
            );
            set(mapping_slot(*platform, 7), U256::from(1));
            platforms.push(*platform);
        }
    }
    set(U256::from(6), U256::from(platforms.len()));
    storage.retain(|_, value| !value.is_zero());
    GenesisAccount {
        balance: U256::ZERO,
        nonce: 1,
        code: artifact("EnclaveRegistry")
            .expect("EnclaveRegistry artifact is committed")
            .deployed_bytecode,
        storage,
    }
}
