//! The application profiles of the whitepaper (§3.1) as presets of a chain spec: a profile is
//! data, not code. What differs between applications is how often blocks come and how much
//! a block may hold; everything else is the main chain's rules.

use alloy_primitives::{Address, U256};
use ankr_execution::CHILD_BRIDGE_ADDRESS;
use ankr_types::{ChainSpec, GenesisAccount};
use std::collections::BTreeMap;

/// An application profile of an EVM child chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Low volume, high value (title transfers, escrow): unhurried blocks.
    RealEstate,
    /// High volume, low value (shops, payments): short blocks, a large gas limit.
    ECommerce,
    /// Real time (markets, games): sub-second blocks.
    PredictionMarket,
}

impl Profile {
    /// Every profile, in the order `ankr devnet` starts them.
    pub const ALL: [Profile; 3] = [Self::RealEstate, Self::ECommerce, Self::PredictionMarket];

    /// The profile's name as chain specs and the command line spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::RealEstate => "real-estate",
            Self::ECommerce => "e-commerce",
            Self::PredictionMarket => "prediction-market",
        }
    }

    /// Milliseconds between the operator's blocks.
    pub fn block_time_ms(self) -> u64 {
        match self {
            Self::RealEstate => 5_000,
            Self::ECommerce => 1_000,
            Self::PredictionMarket => 250,
        }
    }

    /// How the main chain checks the chain's blocks (DESIGN §8).
    pub fn validity(self) -> ValidityMode {
        match self {
            Self::RealEstate => ValidityMode::EveryBlock,
            Self::ECommerce | Self::PredictionMarket => ValidityMode::Optimistic,
        }
    }

    /// Gas a block may use.
    pub fn gas_limit(self) -> u64 {
        match self {
            Self::RealEstate => 30_000_000,
            Self::ECommerce => 150_000_000,
            Self::PredictionMarket => 30_000_000,
        }
    }

    /// The chain spec of a child chain of this profile with chain id `chain_id`, sealed by
    /// `operator`. Its genesis holds the bridge with the pre-mint, the operator's gas float
    /// ([`OPERATOR_FLOAT`], unless `alloc` funds it) and `alloc`; the manager escrows every
    /// genesis ANKR outside the bridge when it is deployed, so all of it is backed.
    pub fn spec(
        self,
        chain_id: u64,
        operator: Address,
        mut alloc: BTreeMap<Address, GenesisAccount>,
    ) -> ChainSpec {
        alloc.insert(CHILD_BRIDGE_ADDRESS, crate::bridge::genesis_bridge());
        alloc.entry(operator).or_insert_with(|| GenesisAccount {
            balance: U256::from(OPERATOR_FLOAT),
            ..Default::default()
        });
        ChainSpec {
            name: format!("ankr-child-{}-{chain_id}", self.name()),
            chain_id,
            gas_limit: self.gas_limit(),
            max_tx_gas: 16_777_216,
            // No new ANKR on a child chain: its operator earns the fees, and every ANKR there
            // is one held by the main chain.
            block_reward: U256::ZERO,
            target_block_time_ms: self.block_time_ms(),
            // Cheap by design (the whitepaper's low-value traffic); EIP-1559 moves it with load.
            initial_base_fee: 10_000_000,
            genesis_timestamp: 0,
            genesis_difficulty: U256::from(1),
            allow_dev_seal: false,
            operator: Some(operator),
            pouw: Default::default(),
            system_contracts: Default::default(),
            alloc,
        }
    }
}

/// The ANKR (in wei) the operator holds at genesis to pay for crediting deposits (1 ANKR:
/// about a million credits at the profiles' base fee). The first deposits could not be
/// credited without it.
pub const OPERATOR_FLOAT: u128 = 1_000_000_000_000_000_000;

/// How the main chain checks a child chain's blocks; fixed when its manager is deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidityMode {
    /// Each block is submitted with its witness and executed by EXECUTE before the manager
    /// takes it: a wrong block is refused and every accepted block is final at once.
    EveryBlock,
    /// Blocks are committed by hash and final after a challenge window, within which anyone
    /// proves a wrong one in one transaction (the block and later ones are reverted).
    Optimistic,
}

impl ValidityMode {
    /// The manager's `mode` byte.
    pub fn code(self) -> u8 {
        match self {
            Self::EveryBlock => 0,
            Self::Optimistic => 1,
        }
    }

    /// The mode of a manager's `mode` byte.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::EveryBlock),
            1 => Some(Self::Optimistic),
            _ => None,
        }
    }
}

impl std::str::FromStr for ValidityMode {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "every-block" => Ok(Self::EveryBlock),
            "optimistic" => Ok(Self::Optimistic),
            other => Err(format!(
                "no validity mode {other:?}: every-block or optimistic"
            )),
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                format!("no profile {name:?}: real-estate, e-commerce or prediction-market")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_makes_a_valid_operator_spec() {
        for profile in Profile::ALL {
            let spec = profile.spec(7_001, Address::repeat_byte(1), BTreeMap::new());
            spec.validate().unwrap();
            assert_eq!(spec.operator, Some(Address::repeat_byte(1)));
            assert!(!spec.allow_dev_seal);
            assert_eq!(spec.block_reward, U256::ZERO);
            assert_eq!(profile.name().parse::<Profile>(), Ok(profile));
        }
        assert!("plasma".parse::<Profile>().is_err());
    }
}
