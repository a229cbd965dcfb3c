//! The devnet chain: what `ankr devnet` runs and tests start from.

use alloy_primitives::U256;
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

/// The funded dev accounts (the anvil/Hardhat ones).
pub fn accounts() -> Vec<DevAccount> {
    derive(TEST_MNEMONIC, DEV_ACCOUNTS)
}

/// The devnet chain spec. Deterministic, so the same `--dir` resumes the same chain.
pub fn spec() -> ChainSpec {
    let alloc = accounts()
        .into_iter()
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
    ChainSpec {
        name: "ankr-devnet".into(),
        chain_id: DEVNET_CHAIN_ID,
        gas_limit: 30_000_000,
        max_tx_gas: 16_777_216,
        block_reward: U256::from(2 * ANKR),
        target_block_time_ms: 2_000,
        initial_base_fee: 1_000_000_000,
        genesis_timestamp: 0,
        genesis_difficulty: U256::from(1u64 << 20),
        allow_dev_seal: true,
        system_contracts: Default::default(),
        alloc,
    }
}
