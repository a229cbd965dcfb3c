//! ankr's Solidity contracts: sources in `contracts/src`, compiled by the pinned npm `solc`
//! (`contracts/build.mjs`) into the committed `artifacts/`, bound here with alloy's `sol!`.
//! CI recompiles and fails when an artifact no longer matches its source.

use alloy_primitives::Bytes;

alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    ExampleToken,
    "artifacts/ExampleToken.json"
);
alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    Greeter,
    "artifacts/Greeter.json"
);
alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    ParallelProbe,
    "artifacts/ParallelProbe.json"
);
alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    EnclaveRegistry,
    "artifacts/EnclaveRegistry.json"
);

alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    #[allow(clippy::too_many_arguments)]
    WorkMarket,
    "artifacts/WorkMarket.json"
);

alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    #[allow(clippy::too_many_arguments)]
    NativeOracle,
    "artifacts/NativeOracle.json"
);
alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    PriceConsumer,
    "artifacts/PriceConsumer.json"
);
alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    HostileConsumer,
    "artifacts/HostileConsumer.json"
);

alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    #[allow(clippy::too_many_arguments)]
    RootChain,
    "artifacts/RootChain.json"
);

alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    ChildChainRegistry,
    "artifacts/ChildChainRegistry.json"
);
alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    FakeRootChainFactory,
    "artifacts/FakeRootChainFactory.json"
);
alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    #[allow(clippy::too_many_arguments)]
    EvmChildChain,
    "artifacts/EvmChildChain.json"
);
alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    ChildBridge,
    "artifacts/ChildBridge.json"
);
alloy_sol_types::sol!(
    #[derive(Debug, PartialEq, Eq)]
    Multicall3,
    "artifacts/Multicall3.json"
);

pub mod genesis;

/// A compiled contract as committed in `artifacts/`.
#[derive(Clone, Debug)]
pub struct Artifact {
    pub name: &'static str,
    /// Creation code: what a deployment transaction carries.
    pub bytecode: Bytes,
    /// Runtime code: what genesis places at a system contract's address.
    pub deployed_bytecode: Bytes,
    /// The contract's ABI as solc wrote it: the explorer decodes calls and logs with it.
    pub abi: serde_json::Value,
}

macro_rules! artifacts {
    ($($name:literal),* $(,)?) => {
        /// Every committed artifact, by contract name.
        pub fn all() -> Vec<Artifact> {
            vec![$(parse($name, include_str!(concat!("../artifacts/", $name, ".json")))),*]
        }
    };
}
artifacts!(
    "ChildBridge",
    "ChildChainRegistry",
    "EnclaveRegistry",
    "EvmChildChain",
    "ExampleToken",
    "FakeRootChainFactory",
    "Greeter",
    "HostileConsumer",
    "Multicall3",
    "NativeOracle",
    "ParallelProbe",
    "PriceConsumer",
    "RootChain",
    "WorkMarket"
);

fn parse(name: &'static str, json: &str) -> Artifact {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Raw {
        bytecode: Bytes,
        deployed_bytecode: Bytes,
        abi: serde_json::Value,
    }
    let raw: Raw = serde_json::from_str(json).expect("committed artifacts are valid JSON");
    Artifact {
        name,
        bytecode: raw.bytecode,
        deployed_bytecode: raw.deployed_bytecode,
        abi: raw.abi,
    }
}

/// The artifact of contract `name`.
pub fn artifact(name: &str) -> Option<Artifact> {
    all().into_iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn artifacts_embed_code() {
        let token = super::artifact("ExampleToken").unwrap();
        assert!(token.bytecode.len() > token.deployed_bytecode.len());
        assert!(!super::all().is_empty());
    }
}
