//! The EVM settings of a chain and of one block.

use alloy_primitives::{Address, B256, U256};
use ankr_types::{ChainSpec, Header};
use revm::{
    context::{BlockEnv, CfgEnv},
    context_interface::block::BlobExcessGasAndPrice,
    primitives::hardfork::SpecId,
};

/// The EVM rules ankr runs. Prague: the newest spec whose per-transaction gas cap we choose
/// ourselves (`ChainSpec::max_tx_gas`) instead of inheriting Osaka's EIP-7825 cap.
pub const EVM_SPEC: SpecId = SpecId::PRAGUE;

/// Where every EVM child chain keeps its bridge (`contracts/src/ChildBridge.sol`, in its
/// genesis): each block's anchor is written there by a system call before the block's
/// transactions run (EIP-8079's anchoring, after EIP-4788), and deposits are credited and
/// withdrawals recorded there. ankr's child-chain predeploys live at 0x…0a03xx.
pub const CHILD_BRIDGE_ADDRESS: Address =
    alloy_primitives::address!("00000000000000000000000000000000000a0300");

/// The precompiles every ankr EVM carries: Ethereum's and EXECUTE (`stateless::precompile`).
/// Set on each EVM right after it is built, before any transaction warms them.
pub(crate) fn ankr_precompiles() -> revm::handler::EthPrecompiles {
    revm::handler::EthPrecompiles {
        precompiles: crate::stateless::precompile::precompiles(),
        spec: EVM_SPEC,
    }
}

/// Chain-wide execution settings, derived once from the chain spec.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    pub chain_id: u64,
    pub max_tx_gas: u64,
    pub block_reward: U256,
    /// A child chain (its spec names an operator): each block begins with the anchor system
    /// call into [`CHILD_BRIDGE_ADDRESS`].
    pub anchored: bool,
}

impl From<&ChainSpec> for ChainConfig {
    fn from(spec: &ChainSpec) -> Self {
        Self {
            chain_id: spec.chain_id,
            max_tx_gas: spec.max_tx_gas,
            block_reward: spec.block_reward,
            anchored: spec.operator.is_some(),
        }
    }
}

impl ChainConfig {
    /// revm's configuration for this chain: spec, chain id and the per-transaction gas cap.
    pub fn cfg_env(&self) -> CfgEnv {
        let mut cfg = CfgEnv::new_with_spec(EVM_SPEC);
        cfg.chain_id = self.chain_id;
        cfg.tx_gas_limit_cap = Some(self.max_tx_gas);
        cfg
    }
}

/// What a block's transactions can see of the block.
#[derive(Clone, Debug)]
pub struct BlockContext {
    pub number: u64,
    pub timestamp: u64,
    pub beneficiary: Address,
    pub gas_limit: u64,
    pub base_fee: u64,
    pub difficulty: U256,
    /// PREVRANDAO. ankr has no beacon randomness; the parent hash is what a contract gets.
    pub prevrandao: B256,
    /// A child chain's anchor (its header's `child_chains_root`), written into its bridge
    /// before the transactions run; unused on the main chain.
    pub anchor: B256,
}

impl BlockContext {
    /// The context of `header` (its seal does not matter to execution).
    pub fn of(header: &Header) -> Self {
        Self {
            number: header.number,
            timestamp: header.timestamp,
            beneficiary: header.beneficiary,
            gas_limit: header.gas_limit,
            base_fee: header.base_fee_per_gas,
            difficulty: header.difficulty,
            prevrandao: header.parent_hash,
            anchor: header.child_chains_root,
        }
    }

    /// revm's view of this block.
    pub fn block_env(&self) -> BlockEnv {
        BlockEnv {
            number: U256::from(self.number),
            beneficiary: self.beneficiary,
            timestamp: U256::from(self.timestamp),
            gas_limit: self.gas_limit,
            basefee: self.base_fee,
            difficulty: self.difficulty,
            prevrandao: Some(self.prevrandao),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new_with_spec(0, EVM_SPEC)),
            ..Default::default()
        }
    }
}
