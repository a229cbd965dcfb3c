//! The chain spec: everything that fixes genesis and the chain's economic constants.

use crate::{Header, Seal};
use alloy_primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One ANKR, in wei.
pub const ANKR: u128 = 1_000_000_000_000_000_000;

/// Everything two nodes must agree on to have the same genesis and the same rules; a data
/// folder stores the spec it was made from and refuses another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    pub name: String,
    pub chain_id: u64,
    /// Block gas limit; constant until governance exists.
    pub gas_limit: u64,
    /// Largest gas a single transaction may ask for (EIP-7825 style cap, chosen here rather
    /// than inherited from the EVM spec).
    pub max_tx_gas: u64,
    /// New ANKR paid to the sealer of each block, in wei.
    pub block_reward: U256,
    /// The block time the difficulty retargets toward.
    pub target_block_time_ms: u64,
    /// Base fee of block 1 (EIP-1559 adjusts it from there).
    pub initial_base_fee: u64,
    /// Genesis timestamp (seconds).
    #[serde(default)]
    pub genesis_timestamp: u64,
    /// Difficulty written in genesis (expected instructions per block).
    #[serde(default = "default_difficulty")]
    pub genesis_difficulty: U256,
    /// Whether blocks sealed by the dev sealer are valid on this chain (never on a public one).
    #[serde(default)]
    pub allow_dev_seal: bool,
    /// The operator (sequencer) of an EVM child chain (DESIGN §8): when set, the chain's blocks
    /// are valid only with its signature (`SealKind::Operator`) and never by useful work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<Address>,
    /// Proof of Useful Work settings: difficulty retargeting and the compromised-enclave
    /// defences (DESIGN §4.5–4.6).
    #[serde(default)]
    pub pouw: PouwParams,
    /// Contracts the node calls into, by name; their code is in `alloc`.
    #[serde(default)]
    pub system_contracts: BTreeMap<String, Address>,
    #[serde(default)]
    pub alloc: BTreeMap<Address, GenesisAccount>,
}

fn default_difficulty() -> U256 {
    U256::from(1u64 << 20)
}

/// Proof of Useful Work settings. Integers only (ppm, ppb, thousandths): a spec is compared
/// byte for byte between nodes, and floats would make "the same spec" ambiguous.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PouwParams {
    /// ASERT half-life: how long a schedule error of one block time takes to halve.
    pub difficulty_halflife_ms: u64,
    /// Blocks over which each platform's wins are counted: longer windows tighten what a key
    /// holder gets beyond the fastest honest rate (≈ 0.05 of blocks at 500, 0.02 at 2,000).
    pub defence_window: u64,
    /// α of the rate cap, in parts per billion: the chance that a platform running at exactly
    /// `max_platform_rate` is refused a block it won.
    pub poisson_alpha_ppb: u64,
    /// Lottery tickets per second the fastest honest platform can meter: the physical ceiling
    /// a platform's wins are judged against (REM). Set from `ankr bench --only pouw`.
    pub max_platform_rate: u64,
    /// Most tickets one seal may claim: a subtask is a bounded slice of work, so no report
    /// can claim an instant win, and miners take fresh templates between slices.
    pub max_subtask_tickets: u64,
}

impl Default for PouwParams {
    fn default() -> Self {
        Self {
            difficulty_halflife_ms: 60_000,
            defence_window: 2000,
            poisson_alpha_ppb: 1_000_000,
            max_platform_rate: DEFAULT_MAX_PLATFORM_RATE,
            max_subtask_tickets: 1 << 32,
        }
    }
}

/// The fastest honest platform's metered rate assumed by default: twice the fastest module
/// kind `ankr bench --only pouw` measured on one core of the development machine (built-in
/// sha256, 12 G tickets/s; every hostile kind measured earns less), so that a CPU twice as
/// fast is not refused.
pub const DEFAULT_MAX_PLATFORM_RATE: u64 = 24_000_000_000;

/// An account as genesis creates it: balance, nonce, code and storage (system contracts
/// are placed this way).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    #[serde(default)]
    pub balance: U256,
    #[serde(default)]
    pub nonce: u64,
    #[serde(default)]
    pub code: Bytes,
    #[serde(default)]
    pub storage: BTreeMap<B256, B256>,
}

/// Why a chain spec cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ChainSpecError {
    #[error("cannot read chain spec {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("chain spec is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("chain spec is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("chain spec rule broken: {0}")]
    Invalid(&'static str),
    #[error("system contract {name} at {address} has no code in alloc")]
    SystemContractWithoutCode { name: String, address: Address },
}

impl ChainSpec {
    /// Reads a spec from a `.json` or `.toml` file.
    pub fn load(path: &std::path::Path) -> Result<Self, ChainSpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| ChainSpecError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let spec: Self = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text)?
        } else {
            toml::from_str(&text)?
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the rules a spec must meet before any block is made from it.
    pub fn validate(&self) -> Result<(), ChainSpecError> {
        if self.chain_id == 0 {
            return Err(ChainSpecError::Invalid("chain_id must not be 0"));
        }
        if self.gas_limit < 21_000 || self.max_tx_gas < 21_000 || self.max_tx_gas > self.gas_limit {
            return Err(ChainSpecError::Invalid(
                "need 21000 <= max_tx_gas <= gas_limit",
            ));
        }
        if self.genesis_difficulty.is_zero() {
            return Err(ChainSpecError::Invalid(
                "genesis_difficulty must be positive",
            ));
        }
        if self.target_block_time_ms == 0 {
            return Err(ChainSpecError::Invalid(
                "target_block_time_ms must be positive",
            ));
        }
        let pouw = &self.pouw;
        if pouw.difficulty_halflife_ms == 0
            || pouw.defence_window == 0
            || pouw.poisson_alpha_ppb == 0
            || pouw.poisson_alpha_ppb >= 1_000_000_000
            || pouw.max_platform_rate == 0
            || pouw.max_subtask_tickets == 0
        {
            return Err(ChainSpecError::Invalid(
                "pouw: need positive half-life, window, platform rate and subtask tickets, and 0 < alpha < 1",
            ));
        }
        for (name, address) in &self.system_contracts {
            if self.alloc.get(address).is_none_or(|a| a.code.is_empty()) {
                return Err(ChainSpecError::SystemContractWithoutCode {
                    name: name.clone(),
                    address: *address,
                });
            }
        }
        Ok(())
    }

    /// The genesis header, given the state root of `alloc` (computed by the execution crate,
    /// which owns the trie).
    pub fn genesis_header(&self, state_root: B256) -> Header {
        Header {
            parent_hash: B256::ZERO,
            beneficiary: Address::ZERO,
            state_root,
            transactions_root: alloy_trie::EMPTY_ROOT_HASH,
            receipts_root: alloy_trie::EMPTY_ROOT_HASH,
            logs_bloom: Default::default(),
            difficulty: self.genesis_difficulty,
            number: 0,
            gas_limit: self.gas_limit,
            gas_used: 0,
            timestamp: self.genesis_timestamp,
            extra_data: Bytes::from_static(b"ankr genesis"),
            base_fee_per_gas: self.initial_base_fee,
            child_chains_root: B256::ZERO,
            seal: Seal::dev(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
        name = "test"
        chain_id = 7
        gas_limit = 30000000
        max_tx_gas = 16777216
        block_reward = "2000000000000000000"
        target_block_time_ms = 2000
        initial_base_fee = 1000000000
        [alloc.0x00000000000000000000000000000000000000aa]
        balance = "0x10"
    "#;

    #[test]
    fn parses_toml_and_rejects_unknown_fields() {
        let spec: ChainSpec = toml::from_str(SPEC).unwrap();
        spec.validate().unwrap();
        assert_eq!(spec.alloc.values().next().unwrap().balance, U256::from(16));
        assert!(toml::from_str::<ChainSpec>(&format!("{SPEC}\nbogus = 1")).is_err());
    }

    #[test]
    fn a_system_contract_needs_code() {
        let mut spec: ChainSpec = toml::from_str(SPEC).unwrap();
        spec.system_contracts
            .insert("Registry".into(), Address::repeat_byte(0xaa));
        assert!(matches!(
            spec.validate(),
            Err(ChainSpecError::SystemContractWithoutCode { .. })
        ));
    }
}
