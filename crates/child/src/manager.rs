//! The child chain's manager on the main chain (`contracts/src/EvmChildChain.sol`): deployed
//! by the operator with its stake, the child genesis hash and the validity mode, then
//! registered in `ChildChainRegistry` with the registry's bond, so that main-chain headers
//! commit to the chain's latest standing block.

use crate::ValidityMode;
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolValue;
use ankr_client::{ClientError, MainChain, Sender};
use ankr_contracts::EvmChildChain;
use ankr_contracts::genesis::CHILD_CHAIN_REGISTRY_ADDRESS;
use ankr_types::ChainSpec;
use std::time::Duration;

/// What the operator puts on the main chain for its child chain.
#[derive(Clone, Debug)]
pub struct ManagerSettings {
    /// The name the registry lists (1 to 64 bytes).
    pub name: String,
    /// The child chain's chain id, genesis hash and per-transaction gas cap.
    pub child_chain_id: u64,
    pub genesis_hash: B256,
    pub max_tx_gas: u64,
    pub mode: ValidityMode,
    /// Optimistic chains: main-chain blocks a commitment stays open to proofs.
    pub challenge_window: u64,
    /// The operator's stake, held by the manager (and what it must keep to go on).
    pub stake: U256,
    /// Main-chain blocks between retiring the chain and taking the stake back.
    pub exit_delay: u64,
    /// The ANKR the child's genesis gives accounts other than its bridge: escrowed with the
    /// stake at deployment, so that every child ANKR is backed.
    pub genesis_supply: U256,
    /// Seconds after which a deposit must be anchored by every child block (the relay anchors
    /// within a few main blocks).
    pub anchor_deadline: u64,
}

impl ManagerSettings {
    /// Settings for the chain of `spec` (its id, genesis and gas cap).
    pub fn for_spec(spec: &ChainSpec, name: &str, mode: ValidityMode, stake: U256) -> Self {
        Self {
            name: name.into(),
            child_chain_id: spec.chain_id,
            genesis_hash: ankr_execution::genesis_header(spec).hash(),
            max_tx_gas: spec.max_tx_gas,
            mode,
            challenge_window: 40,
            stake,
            exit_delay: 40_320,
            genesis_supply: crate::bridge::genesis_supply(spec),
            anchor_deadline: 60,
        }
    }
}

/// Deploys an `EvmChildChain` owned by the sender's key (paying the stake and the genesis
/// supply's escrow) and registers it; returns its address.
pub async fn deploy(sender: &Sender, settings: &ManagerSettings) -> Result<Address, ClientError> {
    let main = sender.chain();
    let mut code = ankr_contracts::artifact("EvmChildChain")
        .expect("EvmChildChain artifact is committed")
        .bytecode
        .to_vec();
    code.extend(
        (
            U256::from(settings.child_chain_id),
            settings.genesis_hash,
            U256::from(settings.max_tx_gas),
            U256::from(settings.mode.code()),
            U256::from(settings.challenge_window),
            U256::from(settings.exit_delay),
            settings.genesis_supply,
            U256::from(settings.anchor_deadline),
        )
            .abi_encode_params(),
    );
    let value = settings.stake + settings.genesis_supply;
    let sent = sender.send(None, code, value, 4_000_000).await?;
    let receipt = main.wait(sent.hash, Duration::from_secs(120)).await?;
    let manager = receipt.contract_address.ok_or_else(|| {
        ClientError::Decode("a contract creation's receipt without its address".into())
    })?;
    // The registry holds its own bond (registering is not free, audit M-6).
    let bond = main
        .read(
            CHILD_CHAIN_REGISTRY_ADDRESS,
            ankr_contracts::ChildChainRegistry::minStakeCall {},
        )
        .await?;
    let register = ankr_contracts::ChildChainRegistry::registerCall {
        name: settings.name.clone(),
        rootChain: manager,
    };
    sender
        .transact(CHILD_CHAIN_REGISTRY_ADDRESS, &register, bond, 500_000)
        .await?;
    Ok(manager)
}

/// What the main chain holds for a child chain, as `ankr child status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerState {
    pub operator: Address,
    pub child_chain_id: u64,
    pub genesis_hash: B256,
    pub mode: Option<ValidityMode>,
    pub stake: U256,
    pub latest_number: u64,
    pub latest_hash: B256,
    pub retired_at: u64,
    /// The ANKR held for the child chain, and the deposits taken so far.
    pub escrow: U256,
    pub deposits: u64,
}

/// Reads the manager at `manager`.
pub async fn state(main: &MainChain, manager: Address) -> Result<ManagerState, ClientError> {
    let (operator, child_chain_id, genesis_hash, mode, stake, latest_number, latest_hash) = tokio::try_join!(
        main.read(manager, EvmChildChain::ownerCall {}),
        main.read(manager, EvmChildChain::childChainIdCall {}),
        main.read(manager, EvmChildChain::blockHashCall(U256::ZERO)),
        main.read(manager, EvmChildChain::modeCall {}),
        main.read(manager, EvmChildChain::stakeCall {}),
        main.read(manager, EvmChildChain::latestNumberCall {}),
        main.read(manager, EvmChildChain::latestHashCall {}),
    )?;
    let (retired_at, escrow, deposits) = tokio::try_join!(
        main.read(manager, EvmChildChain::retiredAtCall {}),
        main.read(manager, EvmChildChain::escrowCall {}),
        main.read(manager, EvmChildChain::depositCountCall {}),
    )?;
    Ok(ManagerState {
        operator,
        child_chain_id: child_chain_id.saturating_to(),
        genesis_hash,
        mode: ValidityMode::from_code(mode),
        stake,
        latest_number: latest_number.saturating_to(),
        latest_hash,
        retired_at: retired_at.saturating_to(),
        escrow,
        deposits: deposits.saturating_to(),
    })
}
