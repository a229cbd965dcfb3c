//! The useful work shipped with ankr (sources and rebuild script in `workloads/`): what a miner
//! runs when no provider has posted a task, and what the benchmarks measure.

use alloy_primitives::{B256, keccak256};
use std::sync::Arc;

/// A workload and how to make the input of its i-th subtask.
#[derive(Clone, Debug)]
pub struct Workload {
    pub name: &'static str,
    pub module: Arc<[u8]>,
    /// Parameters before the per-subtask seed (little-endian u32s, see each source's header).
    pub params: u32,
}

impl Workload {
    /// Task id of this workload run by a miner for itself: the hash of the module.
    pub fn task_id(&self) -> B256 {
        keccak256(&self.module)
    }

    /// Input of subtask `index`: the parameters, then the index as the seed.
    pub fn input(&self, index: u64) -> Arc<[u8]> {
        let mut input = self.params.to_le_bytes().to_vec();
        input.extend_from_slice(&((index as u32) | 1).to_le_bytes());
        input.into()
    }
}

/// SHA-256 over a generated buffer, matrix multiply, and training a small neural network,
/// each sized to roughly 20 million instructions (about 10 ms) per subtask.
pub fn builtin() -> Vec<Workload> {
    vec![
        Workload {
            name: "sha256",
            module: include_bytes!("../../../workloads/wasm/sha256.wasm")
                .as_slice()
                .into(),
            params: 256, // KiB hashed per subtask
        },
        Workload {
            name: "matmul",
            module: include_bytes!("../../../workloads/wasm/matmul.wasm")
                .as_slice()
                .into(),
            params: 100, // n for n×n matrices
        },
        Workload {
            name: "mlp",
            module: include_bytes!("../../../workloads/wasm/mlp.wasm")
                .as_slice()
                .into(),
            params: 16, // epochs
        },
    ]
}
