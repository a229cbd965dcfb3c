//! The devnet chain: what `ankr devnet` runs and tests start from.

use alloy_primitives::{Address, B256, U256};
use ankr_contracts::genesis::{
    CHILD_CHAIN_REGISTRY, CHILD_CHAIN_REGISTRY_ADDRESS, ENCLAVE_REGISTRY, ENCLAVE_REGISTRY_ADDRESS,
    NATIVE_ORACLE, NATIVE_ORACLE_ADDRESS, OracleGenesis, RegistryGenesis, WORK_MARKET,
    WORK_MARKET_ADDRESS, child_chain_registry_genesis, enclave_registry_genesis,
    native_oracle_genesis, work_market_genesis,
};
use ankr_types::{
    ChainSpec, GenesisAccount,
    chain_spec::ANKR,
    dev_accounts::{DevAccount, TEST_MNEMONIC, derive},
};

/// The devnet's chain id.
pub const DEVNET_CHAIN_ID: u64 = 42424;
/// How many dev accounts are funded.
pub const DEV_ACCOUNTS: u32 = 10;
/// The balance, in whole ANKR, of each funded dev account.
pub const DEV_BALANCE_ANKR: u128 = 10_000;

/// The funded dev accounts (the anvil/Hardhat ones). Derived once per process: a BIP-32
/// derivation (PBKDF2, 2,048 rounds) per call cost tests ~10 ms per key lookup.
pub fn accounts() -> Vec<DevAccount> {
    static ACCOUNTS: std::sync::OnceLock<Vec<DevAccount>> = std::sync::OnceLock::new();
    ACCOUNTS
        .get_or_init(|| derive(TEST_MNEMONIC, DEV_ACCOUNTS))
        .clone()
}

/// The least stake (wei) a devnet child chain's operator posts to register it: 1 ANKR.
pub const DEVNET_CHILD_CHAIN_MIN_STAKE: u128 = ANKR;

/// Most mining nodes a devnet runs.
pub const MAX_DEVNET_NODES: u32 = 8;

/// The account of the devnet's miner `node` (the mnemonic's index 10 + node, funded too): it
/// receives block rewards and pays enclave registrations and work deliveries, so that its
/// transactions never race a developer's for a nonce.
pub fn miner_account(node: u32) -> DevAccount {
    derive(TEST_MNEMONIC, DEV_ACCOUNTS + node + 1)
        .pop()
        .expect("derive returns the accounts asked for")
}

/// The account of the devnet's oracle relay: pays deliveries, earns their fees.
pub fn relay_account() -> DevAccount {
    derive(TEST_MNEMONIC, DEV_ACCOUNTS + MAX_DEVNET_NODES + 1)
        .pop()
        .expect("derive returns the accounts asked for")
}

/// The account the devnet's oracle demonstration asks from (never a developer's nonce).
pub fn oracle_demo_account() -> DevAccount {
    derive(TEST_MNEMONIC, DEV_ACCOUNTS + MAX_DEVNET_NODES + 2)
        .pop()
        .expect("derive returns the accounts asked for")
}

/// The account of the devnet's child chain `i`'s operator (owner of its RootChain), funded.
pub fn plasma_operator_account(i: u32) -> DevAccount {
    derive(TEST_MNEMONIC, DEV_ACCOUNTS + MAX_DEVNET_NODES + 3 + i)
        .pop()
        .expect("derive returns the accounts asked for")
}

/// Child chains `ankr devnet` runs.
pub const DEVNET_CHILD_CHAINS: u32 = 2;

/// EVM child chains `ankr devnet` runs: one per application profile.
pub const DEVNET_EVM_CHILD_CHAINS: u32 = 3;

/// The main-chain account of the devnet's EVM child chain `i`'s operator (owns its manager,
/// pays its commitments and the deposits that fund the dev accounts there), funded.
pub fn evm_child_operator_account(i: u32) -> DevAccount {
    derive(
        TEST_MNEMONIC,
        DEV_ACCOUNTS + MAX_DEVNET_NODES + 3 + DEVNET_CHILD_CHAINS + i,
    )
    .pop()
    .expect("derive returns the accounts asked for")
}

/// Where the devnet's example oracle consumer (`PriceConsumer.sol`) lives from genesis.
pub const PRICE_CONSUMER_ADDRESS: Address =
    alloy_primitives::address!("00000000000000000000000000000000000a0100");

/// Blocks an enclave registration lasts on the devnet (about 20 minutes at 2 s blocks).
pub const DEVNET_REGISTRATION_PERIOD: u64 = 600;
/// The main chain's block gas limit: 60M, the default EIP-7935 gave Ethereum's clients at
/// Fusaka. With EIP-7623's calldata floor (10 gas a byte) a full block stays under 6 MB,
/// inside the network's 8 MiB gossip limit.
pub const DEVNET_GAS_LIMIT: u64 = 60_000_000;
/// Genesis difficulty of the PoUW devnet: about a second of one core's useful work (the
/// built-in workloads run near 10^10 wasm instructions per second here), so the first blocks
/// come quickly and ASERT settles the block time within a few minutes.
pub const DEVNET_POUW_DIFFICULTY: u64 = 10_000_000_000;

/// The devnet chain spec sealed by the dev sealer (instant or interval blocks, no proof of
/// work): for contract tests that want a block per transaction. The registry is present but
/// trusts no attestation root. Deterministic, so the same `--dir` resumes the same chain.
pub fn spec() -> ChainSpec {
    let mut spec = base_spec(RegistryGenesis::default());
    spec.allow_dev_seal = true;
    spec.genesis_difficulty = U256::from(1u64 << 20);
    spec
}

/// The devnet chain spec sealed only by Proof of Useful Work: the registry trusts
/// `attestation_root`, admits this build's simulated enclave measurement, and has the
/// `bootstrap_enclaves` (enclave, platform id) registered at genesis so that they can seal
/// block 1. The dev sealer is refused.
pub fn pouw_spec(attestation_root: Address, bootstrap_enclaves: Vec<(Address, B256)>) -> ChainSpec {
    pouw_spec_with_period(
        attestation_root,
        bootstrap_enclaves,
        DEVNET_REGISTRATION_PERIOD,
    )
}

/// [`pouw_spec`] with registrations lasting `registration_period` blocks (tests renew often).
pub fn pouw_spec_with_period(
    attestation_root: Address,
    bootstrap_enclaves: Vec<(Address, B256)>,
    registration_period: u64,
) -> ChainSpec {
    let mut spec = base_spec(RegistryGenesis {
        attestation_root,
        registration_period,
        allowed_measurements: vec![ankr_enclave::simulated_measurement(
            ankr_enclave::Limits::default(),
        )],
        oracle_measurements: vec![ankr_oracle::oracle_measurement(
            ankr_oracle::FetchLimits::default(),
        )],
        bootstrap_enclaves,
        bootstrap_oracles: vec![],
    });
    spec.allow_dev_seal = false;
    spec.genesis_difficulty = U256::from(DEVNET_POUW_DIFFICULTY);
    spec
}

/// The devnet's Native Oracle: Town Crier's fees (P = 5·10^10 wei, Gmin 30,000, Gcancel
/// 25,000, Gmax 3,000,000), requests expire after 100 blocks, cancellation fees go to the
/// first miner's account.
pub fn devnet_oracle() -> OracleGenesis {
    OracleGenesis {
        timeout_blocks: 100,
        fee_collector: miner_account(0).address,
        ..Default::default()
    }
}

fn base_spec(registry: RegistryGenesis) -> ChainSpec {
    let mut alloc: std::collections::BTreeMap<_, _> = accounts()
        .into_iter()
        .chain((0..MAX_DEVNET_NODES).map(miner_account))
        .chain([relay_account(), oracle_demo_account()])
        .chain((0..DEVNET_CHILD_CHAINS).map(plasma_operator_account))
        .chain((0..DEVNET_EVM_CHILD_CHAINS).map(evm_child_operator_account))
        .map(|a| {
            let balance = U256::from(DEV_BALANCE_ANKR * ANKR);
            (
                a.address,
                GenesisAccount {
                    balance,
                    ..Default::default()
                },
            )
        })
        .collect();
    alloc.insert(
        ENCLAVE_REGISTRY_ADDRESS,
        enclave_registry_genesis(&registry),
    );
    alloc.insert(WORK_MARKET_ADDRESS, work_market_genesis());
    alloc.insert(
        PRICE_CONSUMER_ADDRESS,
        GenesisAccount {
            nonce: 1,
            code: ankr_contracts::artifact("PriceConsumer")
                .expect("PriceConsumer artifact is committed")
                .deployed_bytecode,
            ..Default::default()
        },
    );
    alloc.insert(
        NATIVE_ORACLE_ADDRESS,
        native_oracle_genesis(&devnet_oracle()).expect("the devnet's oracle settings are valid"),
    );
    alloc.insert(
        CHILD_CHAIN_REGISTRY_ADDRESS,
        child_chain_registry_genesis(U256::from(DEVNET_CHILD_CHAIN_MIN_STAKE)),
    );
    alloc.insert(
        ankr_contracts::genesis::MULTICALL3_ADDRESS,
        ankr_contracts::genesis::multicall3_genesis(),
    );
    ChainSpec {
        name: "ankr-devnet".into(),
        chain_id: DEVNET_CHAIN_ID,
        gas_limit: DEVNET_GAS_LIMIT,
        max_tx_gas: 16_777_216,
        block_reward: U256::from(2 * ANKR),
        target_block_time_ms: 2_000,
        initial_base_fee: 1_000_000_000,
        genesis_timestamp: 0,
        genesis_difficulty: U256::from(1u64 << 20),
        allow_dev_seal: true,
        operator: None,
        pouw: Default::default(),
        system_contracts: [
            (ENCLAVE_REGISTRY.to_string(), ENCLAVE_REGISTRY_ADDRESS),
            (WORK_MARKET.to_string(), WORK_MARKET_ADDRESS),
            (NATIVE_ORACLE.to_string(), NATIVE_ORACLE_ADDRESS),
            (
                CHILD_CHAIN_REGISTRY.to_string(),
                CHILD_CHAIN_REGISTRY_ADDRESS,
            ),
        ]
        .into(),
        alloc,
    }
}

/// Registers `oracle` in `spec`'s EnclaveRegistry at genesis, live in the oracle role for
/// `registration_period` blocks: what oracle tests and benchmarks start from, without an
/// attestation service.
pub fn bootstrap_oracle(spec: &mut ChainSpec, oracle: Address, registration_period: u64) {
    spec.alloc.insert(
        ENCLAVE_REGISTRY_ADDRESS,
        enclave_registry_genesis(&RegistryGenesis {
            registration_period,
            bootstrap_oracles: vec![oracle],
            ..Default::default()
        }),
    );
}

#[cfg(test)]
mod tests {
    /// Precompiles answer before any code: an account of the devnet's genesis at a precompile's
    /// address would never run (the EXECUTE precompile once took the example consumer's).
    #[test]
    fn no_genesis_account_sits_on_a_precompile() {
        let precompiles = ankr_execution::stateless::precompile::precompiles();
        for address in super::spec().alloc.keys() {
            assert!(
                !precompiles.contains(address),
                "genesis account {address} is a precompile's address"
            );
        }
    }
}
