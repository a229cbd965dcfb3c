//! The built-in miner: the whitepaper's mining loop (DESIGN §4.3).
//!
//! 1. Keep the enclave registered: when it is not live, or its registration ends within
//!    [`RENEW_MARGIN`] blocks, get a certificate from the attestation service (nonce = the
//!    head's hash) and send a registration transaction paid by the miner's account.
//! 2. The agent builds a template on the head → (template hash, difficulty).
//! 3. The useful-work client hands the enclave one subtask after another; the enclave binds
//!    the template, runs the subtask counting instructions and draws once.
//! 4. A winning report becomes the seal, and the block goes through the same import as any
//!    block from elsewhere. A new head or new transactions restart at 2.
//!
//! Enclaves are SIMULATED (DESIGN §2).

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_sol_types::SolCall;
use ankr_chain::{Chain, now_seconds};
use ankr_client::attest::AttestationClient;
use ankr_contracts::{EnclaveRegistry, WorkMarket};
use ankr_enclave::workloads::Workload;
use ankr_enclave::{Enclave, Outcome, ResultClaim, Subtask, Template};
use ankr_execution::BlockContext;
use ankr_pouw::stats::MiningStats;
use ankr_types::fees::Fees;
use ankr_types::{Block, Seal, SealKind};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod market;
use tokio::sync::watch;

/// Renew a registration when it ends within this many blocks.
pub const RENEW_MARGIN: u64 = 20;
/// Gas a registration transaction may use (it costs about 120k).
const REGISTRATION_GAS: u64 = 400_000;
/// Gas a WorkMarket delivery may use.
const DELIVERY_GAS: u64 = 300_000;

/// What a mining node needs besides its chain.
#[derive(Clone)]
pub struct MinerConfig {
    pub enclave: Arc<dyn Enclave>,
    pub attestation: AttestationClient,
    /// Pays for registration transactions.
    pub account: secp256k1::SecretKey,
    /// Receives block rewards and priority fees.
    pub beneficiary: Address,
    /// Work run when no provider has posted any (not empty).
    pub workloads: Vec<Workload>,
    /// Share of a core the built-in work may take, in (0, 1]: after each built-in subtask
    /// the miner rests so that it keeps to this share. Providers' tasks always run flat out.
    /// 1.0 takes every block the core can win; the devnet takes a few percent so that an idle
    /// laptop stays idle, with its genesis difficulty scaled to match (issue 16).
    pub builtin_duty: f64,
    pub stats: Arc<MiningStats>,
}

/// How long a template with room left keeps being mined while transactions arrive: under load
/// the pool outgrows it within a block interval, and a block sealed from a template built
/// near its start would carry a fraction of what waits (issue 16).
const ROOMY_TEMPLATE_AGE: Duration = Duration::from_millis(250);
/// The same for a full template, which only better-paying arrivals could improve.
const FULL_TEMPLATE_AGE: Duration = Duration::from_secs(1);

/// How old a template using `gas_used` of `gas_limit` may grow before new arrivals make the
/// miner rebuild it: rebuilding costs a block's execution, so a template that cannot take
/// another transfer waits longer.
fn rebuild_after(gas_used: u64, gas_limit: u64) -> Duration {
    if gas_used + 21_000 > gas_limit {
        FULL_TEMPLATE_AGE
    } else {
        ROOMY_TEMPLATE_AGE
    }
}

/// The rest after built-in work that ran for `worked` of CPU time, so that work takes `duty`
/// of a core. CPU time, not wall time: when import and RPC keep the cores busy a subtask takes
/// longer on the clock, and resting in proportion to that would shrink the miner's share
/// (and lengthen the chain's block intervals) exactly when the node has blocks to fill.
/// Capped at two seconds so that a long subtask on a slow machine does not stall the miner.
pub fn rest_after(worked: Duration, duty: f64) -> Duration {
    if !(duty > 0.0 && duty < 1.0) {
        return Duration::ZERO;
    }
    worked
        .mul_f64((1.0 - duty) / duty)
        .min(Duration::from_secs(2))
}

/// CPU time the calling thread has run: what a subtask costs whatever else wants the cores.
fn thread_cpu_time() -> Duration {
    let time = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(time.tv_sec).unwrap_or(0),
        u32::try_from(time.tv_nsec).unwrap_or(0),
    )
}

impl std::fmt::Debug for MinerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinerConfig")
            .field("enclave", &self.enclave.address())
            .field("beneficiary", &self.beneficiary)
            .field("workloads", &self.workloads.len())
            .field("builtin_duty", &self.builtin_duty)
            .finish_non_exhaustive()
    }
}

/// Why the miner could not (re)register its enclave this time round.
#[derive(Debug, thiserror::Error)]
enum RegistrationError {
    #[error(transparent)]
    Attestation(#[from] ankr_client::attest::AttestError),
    #[error(transparent)]
    Import(#[from] ankr_chain::ImportError),
    #[error(transparent)]
    Submit(#[from] ankr_chain::SubmitError),
    #[error(transparent)]
    Chain(#[from] ankr_chain::ChainError),
    #[error(transparent)]
    Store(#[from] ankr_storage::StoreError),
}

struct Miner {
    chain: Arc<Chain>,
    config: MinerConfig,
    /// The last registration sent: head number then, and the expiry it was meant to extend.
    registration_sent: Option<(u64, u64)>,
    next_subtask: u64,
    market: market::MarketScanner,
}

/// Runs the mining loop until `stopped` changes.
pub async fn run(chain: Arc<Chain>, config: MinerConfig, mut stopped: watch::Receiver<bool>) {
    assert!(!config.workloads.is_empty(), "a miner needs built-in work");
    assert!(
        config.builtin_duty > 0.0 && config.builtin_duty <= 1.0,
        "the built-in work's duty is a share of time in (0, 1]"
    );
    tracing::info!(
        enclave = %config.enclave.address(),
        platform = %config.enclave.platform_id(),
        measurement = %config.enclave.measurement(),
        "mining by Proof of Useful Work in a SIMULATED enclave"
    );
    let mut miner = Miner {
        chain,
        config,
        registration_sent: None,
        next_subtask: 0,
        market: Default::default(),
    };
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = miner.round() => {}
        }
    }
}

impl Miner {
    /// One round: registration, then mining on one template until a win or a new head.
    async fn round(&mut self) {
        match self.ensure_registered().await {
            Ok(true) => {}
            Ok(false) => return tokio::time::sleep(Duration::from_millis(500)).await,
            Err(error) => {
                tracing::warn!(%error, "cannot register the enclave yet");
                return tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        // Timestamps are seconds and must increase: the template is stamped
        // max(now, parent + 1), as long as that stays within the allowed drift.
        let head = self.chain.head();
        if !ankr_chain::can_build_on(&head) {
            tokio::time::sleep(Duration::from_millis(250)).await;
            return;
        }
        let chain = self.chain.clone();
        let beneficiary = self.config.beneficiary;
        let arrivals = self.chain.latest_arrival();
        let built =
            tokio::task::spawn_blocking(move || chain.build_template(beneficiary, now_seconds()))
                .await
                .expect("building a template does not panic");
        let mut block = match built {
            Ok(block) => block,
            Err(error) => {
                tracing::error!(%error, "cannot build a block template");
                return tokio::time::sleep(Duration::from_secs(1)).await;
            }
        };
        let template = Template {
            hash: block.header.template_hash(),
            difficulty: block.header.difficulty,
        };
        let started = Instant::now();
        loop {
            let Some(report) = self.run_subtask(template).await else {
                return;
            };
            if report.won {
                block.header.seal = Seal {
                    kind: SealKind::UsefulWork,
                    proof: report.seal.encode(),
                };
                self.seal(block).await;
                return;
            }
            let stale = self.chain.head().hash() != block.header.parent_hash
                || (started.elapsed()
                    > rebuild_after(block.header.gas_used, block.header.gas_limit)
                    && self.chain.latest_arrival() != arrivals);
            if stale {
                return;
            }
        }
    }

    /// Runs the next subtask in the enclave: an open WorkMarket task if there is one (then
    /// delivers its result), else the next piece of built-in work.
    async fn run_subtask(&mut self, template: Template) -> Option<ankr_enclave::SubtaskReport> {
        let (subtask, name, market_task) = match self.market.next_task(&self.chain) {
            Some(task) => {
                let name = format!("market task {}", task.id);
                (task.subtask(), name, Some(task))
            }
            None => {
                let workloads = &self.config.workloads;
                let workload = &workloads[(self.next_subtask % workloads.len() as u64) as usize];
                let index = self.next_subtask / workloads.len() as u64;
                self.next_subtask += 1;
                let subtask = Subtask {
                    task_id: workload.task_id(),
                    index,
                    module: workload.module.clone(),
                    input: workload.input(index),
                    budget: self.chain.spec().pouw.max_subtask_tickets,
                };
                (subtask, workload.name.to_string(), None)
            }
        };
        let (report, worked) = self.run_in_enclave(template, subtask, &name).await?;
        match market_task {
            Some(task) => self.deliver(&task, &report).await,
            None if !report.won => {
                tokio::time::sleep(rest_after(worked, self.config.builtin_duty)).await
            }
            None => {}
        }
        Some(report)
    }

    async fn run_in_enclave(
        &mut self,
        template: Template,
        subtask: Subtask,
        name: &str,
    ) -> Option<(ankr_enclave::SubtaskReport, Duration)> {
        let enclave = self.config.enclave.clone();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            let before = thread_cpu_time();
            let report = enclave.run_subtask(&template, &subtask);
            (report, thread_cpu_time().saturating_sub(before))
        })
        .await;
        let (report, worked) = match result {
            Ok((Ok(report), worked)) => (report, worked),
            Ok((Err(error), _)) => {
                tracing::warn!(%error, "enclave refused a subtask");
                return None;
            }
            Err(panic) => {
                tracing::error!(%panic, "subtask panicked");
                return None;
            }
        };
        let failure = match &report.execution.outcome {
            Outcome::Completed => None,
            other => Some(format!("{name}: {other:?}")),
        };
        if let Some(failure) = &failure {
            tracing::warn!(%failure, "useful-work task failed; carrying on");
        }
        self.config.stats.record(
            report.execution.instructions,
            started.elapsed().as_nanos() as u64,
            report.won,
            failure,
        );
        Some((report, worked))
    }

    /// Stores the result blob, has the enclave sign the result for this miner's account and
    /// sends `WorkMarket.deliver`.
    async fn deliver(&mut self, task: &market::OpenTask, report: &ankr_enclave::SubtaskReport) {
        let mut blob = vec![report.execution.outcome.code()];
        blob.extend_from_slice(&report.execution.output);
        let payee = ankr_types::recovery::address_of(&self.config.account);
        let result = (|| -> Result<_, String> {
            self.chain.put_blob(&blob).map_err(|e| e.to_string())?;
            let signature = self
                .config
                .enclave
                .sign_result(&ResultClaim {
                    chain_id: self.chain.spec().chain_id,
                    market: task.market,
                    task: U256::from(task.id),
                    payee,
                })
                .map_err(|e| e.to_string())?;
            let call = WorkMarket::deliverCall {
                id: U256::from(task.id),
                resultHash: report.execution.result_hash(),
                instructions: report.execution.instructions,
                outcome: report.execution.outcome.code(),
                enclave: self.config.enclave.address(),
                enclaveSig: signature.to_vec().into(),
            };
            self.send(task.market, call.abi_encode(), DELIVERY_GAS)
                .map_err(|e| e.to_string())
        })();
        match result {
            Ok(hash) => tracing::info!(
                task = task.id,
                %hash,
                instructions = report.execution.instructions,
                outcome = ?report.execution.outcome,
                "delivered a WorkMarket result"
            ),
            Err(error) => {
                tracing::warn!(task = task.id, %error, "cannot deliver a WorkMarket result")
            }
        }
    }

    /// Signs and submits a call from the miner's account to the local pool.
    fn send(
        &self,
        to: Address,
        input: Vec<u8>,
        gas_limit: u64,
    ) -> Result<alloy_primitives::B256, RegistrationError> {
        let sender = ankr_types::recovery::address_of(&self.config.account);
        let nonce = self.chain.pending_nonce(sender)?;
        let fees = Fees::following(
            ankr_chain::next_base_fee(&self.chain.head()).into(),
            ankr_types::fees::DEFAULT_TIP,
        );
        let tx = TxEip1559 {
            chain_id: self.chain.spec().chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            to: TxKind::Call(to),
            value: U256::ZERO,
            input: Bytes::from(input),
            ..Default::default()
        };
        let signed = ankr_types::recovery::sign_transaction(&self.config.account, tx);
        Ok(self
            .chain
            .submit_local_transaction(&signed.encoded_2718())?)
    }

    /// Imports a sealed block through the same validation as any other.
    async fn seal(&self, block: Block) {
        let chain = self.chain.clone();
        let number = block.header.number;
        match tokio::task::spawn_blocking(move || chain.import_block(block)).await {
            Ok(Ok(hash)) => tracing::info!(number, %hash, "sealed a block by useful work"),
            Ok(Err(error)) => tracing::warn!(number, %error, "own block refused"),
            Err(panic) => tracing::error!(%panic, "import panicked"),
        }
    }

    /// Whether the enclave may seal the next block; sends a (re)registration when needed.
    async fn ensure_registered(&mut self) -> Result<bool, RegistrationError> {
        let head = self.chain.head();
        let next = head.number + 1;
        let enclave = self.config.enclave.address();
        let state = self.chain.reader()?.state()?;
        let mut context = BlockContext::of(&head);
        context.number = next;
        let status = self.chain.enclave_status(&state, &context, enclave)?;
        if status.live && status.expires_at > next + RENEW_MARGIN {
            return Ok(true);
        }
        // A sent registration is pending until the expiry moves or its nonce (the head's hash
        // then) leaves the registry's window of the last 10 block hashes.
        if self
            .registration_sent
            .is_some_and(|(sent, expiry)| status.expires_at == expiry && head.number < sent + 8)
        {
            return Ok(status.live);
        }
        let Some(registry) = self.chain.enclave_registry() else {
            return Err(ankr_chain::ImportError::NoEnclaveRegistry.into());
        };
        let root = self.attestation_root(&state, &context, registry)?;
        let quote = self.config.enclave.quote(head.hash());
        let certificate = self.config.attestation.certify(&quote, root).await?;
        let call = ankr_client::attest::register_call(&certificate);
        let hash = self.send(registry, call, REGISTRATION_GAS)?;
        self.registration_sent = Some((head.number, status.expires_at));
        tracing::info!(
            %enclave,
            %hash,
            live = status.live,
            expires_at = status.expires_at,
            "sent enclave registration (SIMULATED attestation)"
        );
        Ok(status.live)
    }

    fn attestation_root(
        &self,
        state: &ankr_storage::StateReader,
        context: &BlockContext,
        registry: Address,
    ) -> Result<Address, RegistrationError> {
        let output = ankr_execution::system_call(
            state,
            self.chain.execution_config(),
            context,
            registry,
            EnclaveRegistry::attestationRootCall {}.abi_encode().into(),
        )
        .map_err(|e| ankr_chain::ChainError::system_call("EnclaveRegistry")(e.into()))?;
        Ok(
            EnclaveRegistry::attestationRootCall::abi_decode_returns(&output)
                .map_err(|e| ankr_chain::ChainError::system_call("EnclaveRegistry")(e.into()))?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{FULL_TEMPLATE_AGE, ROOMY_TEMPLATE_AGE, rebuild_after, rest_after};
    use std::time::Duration;

    #[test]
    fn a_template_with_room_for_a_transfer_is_rebuilt_sooner_than_a_full_one() {
        assert_eq!(rebuild_after(0, 60_000_000), ROOMY_TEMPLATE_AGE);
        assert_eq!(rebuild_after(59_979_000, 60_000_000), ROOMY_TEMPLATE_AGE);
        assert_eq!(rebuild_after(59_979_001, 60_000_000), FULL_TEMPLATE_AGE);
        assert!(ROOMY_TEMPLATE_AGE < FULL_TEMPLATE_AGE);
    }

    #[test]
    fn the_rest_keeps_built_in_work_to_its_share_of_the_time() {
        let worked = Duration::from_millis(10);
        assert_eq!(rest_after(worked, 1.0), Duration::ZERO);
        assert_eq!(rest_after(worked, 0.5), worked);
        let rest = rest_after(worked, 0.05);
        let share = worked.as_secs_f64() / (worked + rest).as_secs_f64();
        assert!((share - 0.05).abs() < 1e-9, "{share}");
        assert_eq!(
            rest_after(Duration::from_secs(1), 0.01),
            Duration::from_secs(2)
        );
    }
}
