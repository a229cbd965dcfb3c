//! Enclaves: where useful work runs, is metered, and draws the lottery (DESIGN §2, §4.3).
//!
//! [`Enclave`] is the boundary a real SGX enclave (Gramine with DCAP quotes) would implement;
//! [`SimulatedEnclave`] is the one this repository ships. SIMULATED: its key sits in the
//! host's memory and a host that controls it can cheat; the statistical defences
//! ([`ankr_pouw::defences`]) bound how much.

use crate::metering;
use crate::runtime::{Execution, Limits, RUNTIME_VERSION, Runtime};
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::SolValue;
use ankr_pouw::signing::read_or_create;
use ankr_pouw::{Platform, PouwSeal, Quote, lottery, signing};
use secp256k1::SecretKey;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The block template a subtask is bound to before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Template {
    /// `Header::template_hash` of the block being mined.
    pub hash: B256,
    /// The block's difficulty (expected instructions per block).
    pub difficulty: U256,
}

/// One unit of useful work: a module run on an input within an instruction budget.
#[derive(Clone, Debug)]
pub struct Subtask {
    pub task_id: B256,
    /// Index within the task; an enclave runs each (task, index) at most once.
    pub index: u64,
    pub module: Arc<[u8]>,
    pub input: Arc<[u8]>,
    pub budget: u64,
}

/// What the enclave reports after running a subtask.
#[derive(Clone, Debug)]
pub struct SubtaskReport {
    pub execution: Execution,
    /// The signed report; a valid block seal when `won`.
    pub seal: PouwSeal,
    pub won: bool,
}

/// A request to sign a work result for the WorkMarket: the enclave signs only what it ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultClaim {
    pub chain_id: u64,
    pub market: Address,
    /// The market's task id; the subtask ran as task `B256::from(task)`, index 0.
    pub task: U256,
    pub payee: Address,
}

/// Why an enclave refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnclaveError {
    #[error("subtask {index} of task {task_id} was already run (one draw per subtask)")]
    SubtaskReused { task_id: B256, index: u64 },
    #[error("this enclave has not run task {0}")]
    NotRun(U256),
}

/// What the enclave remembers of a market subtask it ran, to sign its result later.
#[derive(Clone, Copy, Debug)]
struct RunRecord {
    module_hash: B256,
    input_hash: B256,
    instructions: u64,
    result_hash: B256,
    outcome: u8,
}

/// A trusted execution environment for useful work.
pub trait Enclave: Send + Sync {
    /// The enclave's address (from its key pair, made inside the enclave).
    fn address(&self) -> Address;
    /// Hash of the code the enclave runs: what the registry's allow-list names.
    fn measurement(&self) -> B256;
    /// The hardware platform it runs on: the registry allows one live enclave per platform.
    fn platform_id(&self) -> B256;
    /// A quote for the attestation service, bound to `nonce` (a recent block hash).
    fn quote(&self, nonce: B256) -> Quote;
    /// Binds `template`, runs `subtask` to completion counting instructions, and draws once.
    fn run_subtask(
        &self,
        template: &Template,
        subtask: &Subtask,
    ) -> Result<SubtaskReport, EnclaveError>;
    /// Signs the WorkMarket result of a market task this enclave ran (as task
    /// `B256::from(claim.task)`, subtask 0), for `claim.payee`.
    fn sign_result(&self, claim: &ResultClaim) -> Result<[u8; 65], EnclaveError>;
}

/// The measurement of this crate's simulated enclave with `limits`: runtime version, CPU
/// architecture (native stack use, hence where deep recursion overflows, depends on it),
/// metering policy and limits, so that two enclaves with the same measurement count the same
/// way.
pub fn simulated_measurement(limits: Limits) -> B256 {
    keccak256(
        (
            "ankr simulated enclave",
            RUNTIME_VERSION,
            std::env::consts::ARCH,
            metering::POLICY,
            U256::from(limits.max_memory),
            U256::from(limits.max_output),
            U256::from(limits.max_stack),
        )
            .abi_encode_params(),
    )
}

/// The simulated enclave: an in-process runtime with its own key and platform id.
pub struct SimulatedEnclave {
    key: SecretKey,
    address: Address,
    platform: Platform,
    measurement: B256,
    runtime: Runtime,
    /// Highest subtask index run per task: a subtask draws once, whatever the template.
    ran: Mutex<HashMap<B256, u64>>,
    /// Market subtasks (index 0) run, by task id, until their result is signed.
    records: Mutex<HashMap<B256, RunRecord>>,
}

impl SimulatedEnclave {
    /// An enclave with the given key on the platform whose provisioning key is
    /// `platform_secret`.
    pub fn new(key: SecretKey, platform_secret: B256, limits: Limits) -> Self {
        Self::on_platform(key, Platform::from_secret(platform_secret), limits)
    }

    /// An enclave with the given key on `platform`.
    pub fn on_platform(key: SecretKey, platform: Platform, limits: Limits) -> Self {
        Self {
            address: signing::address_of(&key),
            key,
            platform,
            measurement: simulated_measurement(limits),
            runtime: Runtime::new(limits),
            ran: Mutex::new(HashMap::new()),
            records: Mutex::new(HashMap::new()),
        }
    }

    /// Opens the enclave whose sealed state is in `dir` (simulated sealing: plain files), or
    /// makes a new key and platform id there.
    pub fn open(dir: &Path, limits: Limits) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let key = read_or_create(&dir.join("enclave.key"))?;
        let platform = Platform::open(dir)?;
        let key = SecretKey::from_byte_array(key.0)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        Ok(Self::on_platform(key, platform, limits))
    }

    /// The provisioning address of the enclave's platform (what `ankr attest provision`
    /// records).
    pub fn platform_address(&self) -> Address {
        self.platform.address()
    }

    /// The runtime inside, for callers that need the limits.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }
}

impl Enclave for SimulatedEnclave {
    fn address(&self) -> Address {
        self.address
    }

    fn measurement(&self) -> B256 {
        self.measurement
    }

    fn platform_id(&self) -> B256 {
        self.platform.id()
    }

    fn quote(&self, nonce: B256) -> Quote {
        Quote::sign(&self.key, self.measurement, &self.platform, nonce)
    }

    fn run_subtask(
        &self,
        template: &Template,
        subtask: &Subtask,
    ) -> Result<SubtaskReport, EnclaveError> {
        // Bind first: once the index is consumed, no other template can draw for it.
        {
            let mut ran = self.ran.lock().expect("ran lock");
            let last = ran.get(&subtask.task_id);
            if last.is_some_and(|&last| subtask.index <= last) {
                return Err(EnclaveError::SubtaskReused {
                    task_id: subtask.task_id,
                    index: subtask.index,
                });
            }
            ran.insert(subtask.task_id, subtask.index);
        }
        let execution = self
            .runtime
            .run(&subtask.module, &subtask.input, subtask.budget);
        let instructions = execution.instructions;
        let result_hash = execution.result_hash();
        let digest = signing::seal_digest(
            template.hash,
            template.difficulty,
            subtask.task_id,
            subtask.index,
            instructions,
            result_hash,
        );
        if subtask.index == 0 {
            let mut records = self.records.lock().expect("records lock");
            if records.len() >= 10_000 {
                records.clear();
            }
            records.insert(
                subtask.task_id,
                RunRecord {
                    module_hash: keccak256(&subtask.module),
                    input_hash: keccak256(&subtask.input),
                    instructions,
                    result_hash,
                    outcome: execution.outcome.code(),
                },
            );
        }
        let seal = PouwSeal {
            enclave: self.address,
            platform_id: self.platform.id(),
            task_id: subtask.task_id,
            subtask: subtask.index,
            instructions,
            result_hash,
            signature: signing::sign(&self.key, digest).to_vec().into(),
        };
        let won = instructions > 0 && lottery::wins(seal.draw(), template.difficulty, instructions);
        Ok(SubtaskReport {
            execution,
            seal,
            won,
        })
    }

    fn sign_result(&self, claim: &ResultClaim) -> Result<[u8; 65], EnclaveError> {
        let task_id = B256::from(claim.task);
        let record = self
            .records
            .lock()
            .expect("records lock")
            .remove(&task_id)
            .ok_or(EnclaveError::NotRun(claim.task))?;
        let digest = signing::result_digest(
            claim.chain_id,
            claim.market,
            claim.task,
            record.module_hash,
            record.input_hash,
            claim.payee,
            record.result_hash,
            record.instructions,
            record.outcome,
        );
        Ok(signing::sign(&self.key, digest))
    }
}
