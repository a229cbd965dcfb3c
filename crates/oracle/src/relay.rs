//! The Native Oracle relay (the whitepaper's "Relay"): follows `RequestInfo` logs of the
//! `NativeOracle` contract over JSON-RPC once they have enough confirmations, hands each
//! request to the oracle enclave (which fetches over HTTPS and signs), and sends the answers
//! in `deliverBatch` transactions from its own accounts, which the fees pay back. It keeps the enclave registered
//! (a certificate from the attestation service) and its encryption key published for private
//! requests, resubmits a delivery stuck in the pool with a higher fee, expires what it could
//! not deliver once the deadline passes, and records the last block it scanned, so a restart
//! neither skips nor double-serves a request (each request's state is read before answering).

use crate::{Datagram, OracleEnclave, OracleRequest};
use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolEvent};
use ankr_client::attest::AttestationClient;
use ankr_client::{ClientError, Log, MainChain, Sender, Sent};
use ankr_contracts::genesis::{ENCLAVE_REGISTRY_ADDRESS, NATIVE_ORACLE_ADDRESS};
use ankr_contracts::{EnclaveRegistry, NativeOracle};
use futures::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Blocks a delivery may wait for a receipt before it is resent with a higher fee...
const STUCK_BLOCKS: u64 = 5;
/// ...and how long, so that a node sealing a block whenever transactions wait (blocks every few
/// milliseconds under load) does not have every batch still queued behind others resent.
const STUCK_TIME: Duration = Duration::from_secs(3);
/// Renew the enclave's registration when it ends within this many blocks.
const RENEW_MARGIN: u64 = 20;
/// Most blocks one `eth_getLogs` asks for.
const LOG_RANGE: u64 = 1_000;
/// Blocks between two reads of the enclave's registration and published key, once both hold.
const UPKEEP_BLOCKS: u64 = 10;
/// `NativeOracle.State.Pending`.
const PENDING: u8 = 1;
/// Requests answered at once (each may wait up to the fetch timeout on its source).
const CONCURRENT_ANSWERS: usize = 32;
/// Most datagrams in one `deliverBatch`: one transaction's intrinsic cost, nonce and receipt
/// shared by many deliveries is what lets a relay keep up with its sources.
const BATCH_DELIVERIES: usize = 64;
/// Most calldata in one `deliverBatch` (the pool refuses transactions above 128 KiB).
const BATCH_BYTES: usize = 96 * 1024;
/// A batch that is not full is sent once its first answer has waited this long, so that a
/// slow source delays only its own answer, never its batch's (audit item 16).
const FLUSH_AFTER: Duration = Duration::from_millis(25);
/// Most request ids in one `statesOf` read.
const STATE_READS: usize = 1024;
/// Gas a `deliverBatch` spends per datagram besides its callback and calldata: the signature
/// recovery, the hashing, the state and balance writes and the event (about 40,000 measured;
/// the rest is margin, returned unused).
const GAS_PER_DELIVERY: u64 = 60_000;
/// Gas of a batch's first registry lookup (later datagrams of the same enclave skip it).
const GAS_PER_BATCH: u64 = 30_000;

/// What a relay needs.
#[derive(Clone)]
pub struct RelayConfig {
    /// JSON-RPC of a node, e.g. `http://127.0.0.1:8545`.
    pub rpc_url: String,
    /// Pay for deliveries and receive their fees, taken in turn: a full pool guarantees a
    /// sender only 16 pending transactions (geth's account slots), so more accounts keep a
    /// busy relay's deliveries flowing.
    pub accounts: Vec<secp256k1::SecretKey>,
    pub enclave: Arc<OracleEnclave>,
    /// Registers and renews the enclave; `None` if it is registered otherwise (genesis).
    pub attestation: Option<AttestationClient>,
    /// Blocks a request waits before it is served (against reorganisations).
    pub confirmations: u64,
    /// Where the relay records the next block to scan.
    pub state_file: PathBuf,
    pub poll: Duration,
    /// What the relay has done, for `/metrics`.
    pub stats: Arc<RelayStats>,
}

/// What a relay has done since it started: the figures its `/metrics` shows (delivery
/// latency, failures, resends), counted where they happen.
#[derive(Debug, Default)]
pub struct RelayStats {
    answered: AtomicU64,
    failed_answers: AtomicU64,
    answer_millis: AtomicU64,
    delivered: AtomicU64,
    reverted: AtomicU64,
    delivery_blocks: AtomicU64,
    resent: AtomicU64,
    expired: AtomicU64,
    in_flight: AtomicU64,
}

impl RelayStats {
    /// Stuck transactions resent with a higher fee: each one a transaction and a fee spent twice.
    pub fn resent(&self) -> u64 {
        self.resent.load(Relaxed)
    }

    /// Each figure as (Prometheus name, type, help, value).
    pub fn samples(&self) -> Vec<(&'static str, &'static str, &'static str, f64)> {
        let get = |counter: &AtomicU64| counter.load(Relaxed) as f64;
        vec![
            (
                "ankr_oracle_answers_total",
                "counter",
                "Requests the enclave answered (fetched and signed), any code.",
                get(&self.answered),
            ),
            (
                "ankr_oracle_failed_answers_total",
                "counter",
                "Answers with an error code (not OK): a bad request, or a source that failed.",
                get(&self.failed_answers),
            ),
            (
                "ankr_oracle_answer_seconds_sum",
                "counter",
                "Time the enclave took to fetch and sign, summed over answers.",
                get(&self.answer_millis) / 1000.0,
            ),
            (
                "ankr_oracle_deliveries_total",
                "counter",
                "Deliveries mined and successful.",
                get(&self.delivered),
            ),
            (
                "ankr_oracle_delivery_blocks_sum",
                "counter",
                "Blocks from each delivered request to its delivery, summed: over deliveries_total, the mean latency in blocks.",
                get(&self.delivery_blocks),
            ),
            (
                "ankr_oracle_reverted_deliveries_total",
                "counter",
                "Deliveries mined but reverted (the request is expired at its deadline).",
                get(&self.reverted),
            ),
            (
                "ankr_oracle_resent_total",
                "counter",
                "Stuck transactions resent with a higher fee.",
                get(&self.resent),
            ),
            (
                "ankr_oracle_expired_total",
                "counter",
                "Requests expired (refunded) because they could not be delivered.",
                get(&self.expired),
            ),
            (
                "ankr_oracle_in_flight",
                "gauge",
                "Transactions sent and not yet mined.",
                get(&self.in_flight),
            ),
        ]
    }
}

/// Why a relay step failed (it is retried on the next poll).
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    MainChain(#[from] ClientError),
    #[error("unexpected answer: {0}")]
    Decode(String),
    #[error(transparent)]
    Attestation(#[from] ankr_client::attest::AttestError),
    #[error("state file: {0}")]
    State(#[from] std::io::Error),
}

/// A transaction the relay sends: to whom, what, with how much gas.
struct OracleCall {
    to: Address,
    input: Vec<u8>,
    gas_limit: u64,
}

/// A transaction the relay sent and has not seen mined.
struct InFlight {
    /// The requests it answers (with the block each was asked in) or expires (no block);
    /// empty for the enclave's upkeep.
    requests: Vec<(u64, Option<u64>)>,
    /// Index of the sending account.
    account: usize,
    sent: Sent,
    sent_at: SentAt,
}

/// When a delivery was last sent: the head then, and the instant.
struct SentAt {
    block: u64,
    when: Instant,
}

impl SentAt {
    fn now(head: u64) -> Self {
        Self {
            block: head,
            when: Instant::now(),
        }
    }

    fn stuck(&self, head: u64) -> bool {
        stuck(self.block, self.when.elapsed(), head)
    }
}

/// Whether a transaction sent at block `sent_at`, `waited` ago, is stuck at block `head`: both
/// bounds must pass, the blocks (a congested chain) and the time (a chain whose blocks come
/// every few milliseconds mines a queued batch soon without a higher fee).
fn stuck(sent_at: u64, waited: Duration, head: u64) -> bool {
    head >= sent_at + STUCK_BLOCKS && waited >= STUCK_TIME
}

/// A request the relay will answer, and the account its answer is signed for.
struct Asked {
    info: NativeOracle::RequestInfo,
    request: OracleRequest,
    account: usize,
    asked_at: u64,
}

/// An answered request waiting to be sent in its account's next batch.
struct Answered {
    info: NativeOracle::RequestInfo,
    datagram: Datagram,
    asked_at: u64,
}

/// The answers one account has gathered for its next `deliverBatch`.
struct OpenBatch {
    opened: Instant,
    answers: Vec<Answered>,
}

struct Relay {
    config: RelayConfig,
    main: MainChain,
    senders: Vec<Sender>,
    /// The account that sends next.
    turn: usize,
    in_flight: Vec<InFlight>,
    /// Requests whose delivery failed, by deadline: expired once it passes.
    undelivered: HashMap<u64, u64>,
    registration_sent_at: Option<u64>,
    key_sent_at: Option<u64>,
    /// The registration and the published key are read again from this block on (both
    /// change rarely; reading them every poll would double the relay's RPC traffic).
    next_upkeep: u64,
}

/// Runs the relay until `stopped` changes; errors are logged and retried.
pub async fn run(config: RelayConfig, mut stopped: watch::Receiver<bool>) {
    let main = loop {
        match MainChain::connect(&config.rpc_url).await {
            Ok(main) => break main,
            Err(error) => tracing::warn!(%error, "oracle relay: no node yet; retrying"),
        }
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tokio::time::sleep(config.poll) => {}
        }
    };
    tracing::info!(
        enclave = %config.enclave.address(),
        measurement = %config.enclave.measurement(),
        "oracle relay started; its enclave is SIMULATED"
    );
    let mut relay = Relay {
        senders: config
            .accounts
            .iter()
            .map(|key| Sender::new(main.clone(), *key))
            .collect(),
        turn: 0,
        config,
        main,
        in_flight: Vec::new(),
        undelivered: HashMap::new(),
        registration_sent_at: None,
        key_sent_at: None,
        next_upkeep: 0,
    };
    let mut ticks = tokio::time::interval(relay.config.poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = ticks.tick() => {
                if let Err(error) = relay.step().await {
                    tracing::warn!(%error, "oracle relay step failed; retrying");
                }
            }
        }
    }
}

impl Relay {
    async fn step(&mut self) -> Result<(), RelayError> {
        let head = self.main.head().await?;
        if head >= self.next_upkeep {
            let registered = self.keep_registered(head).await?;
            let published = self.publish_encryption_key(head).await?;
            if registered && published {
                self.next_upkeep = head + UPKEEP_BLOCKS;
            }
        }
        self.watch_in_flight(head).await?;
        self.expire_overdue(head).await?;
        let Some(confirmed) = head.checked_sub(self.config.confirmations) else {
            return Ok(());
        };
        let mut next = self.load_next_block()?;
        while next <= confirmed {
            let to = confirmed.min(next + LOG_RANGE - 1);
            let logs = self
                .main
                .logs(
                    NATIVE_ORACLE_ADDRESS,
                    Some(NativeOracle::RequestInfo::SIGNATURE_HASH),
                    next,
                    to,
                )
                .await?;
            self.serve(&logs, head).await?;
            next = to + 1;
            self.save_next_block(next)?;
        }
        Ok(())
    }

    /// Answers the requests of `logs` (`RequestInfo`) that are still pending, many at once: a
    /// slow source delays only its own answer, never the others' (audit item 16: six slow
    /// sources used to hold an honest request back 56 s). Answers are signed for one account
    /// per [`BATCH_DELIVERIES`] requests and sent in batches from it as they become ready.
    async fn serve(&mut self, logs: &[Log], head: u64) -> Result<(), RelayError> {
        let mut candidates = Vec::new();
        for log in logs {
            let info = log
                .decode::<NativeOracle::RequestInfo>()
                .ok_or_else(|| RelayError::Decode(format!("not a RequestInfo log: {log:?}")))?;
            let request = OracleRequest {
                chain_id: self.main.chain_id(),
                oracle: NATIVE_ORACLE_ADDRESS,
                id: info.id,
                requester: info.requester,
                kind: info.kind,
                params: info.params.to_vec(),
            };
            // A private request sealed to another oracle enclave is that enclave's to answer.
            if self.config.enclave.serves(&request) {
                candidates.push((info, request, log.block_number));
            }
        }
        let ids: Vec<u64> = candidates.iter().map(|(info, _, _)| info.id).collect();
        let states = self.states(&ids).await?;
        let mut asked = Vec::new();
        let mut account = 0;
        for ((info, request, asked_at), state) in candidates.into_iter().zip(states) {
            if state != PENDING {
                continue;
            }
            // The enclave signs the answer for the account that will send it: only that
            // account can deliver it (audit M-3).
            if asked.len() % BATCH_DELIVERIES == 0 {
                account = self.next_account();
            }
            asked.push(Asked {
                info,
                request,
                account,
                asked_at,
            });
        }
        // The answers are fetched beside the batching below, not inside it, so that sending a
        // batch (a few round trips to the node) never pauses the fetches in flight.
        let enclave = self.config.enclave.clone();
        let senders: Vec<Address> = self.senders.iter().map(Sender::address).collect();
        let stats = self.config.stats.clone();
        let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
        let answering = futures::stream::iter(asked)
            .map(move |asked| {
                let enclave = enclave.clone();
                let stats = stats.clone();
                let relay = senders[asked.account];
                async move {
                    let started = Instant::now();
                    let datagram = enclave.answer(&asked.request, relay).await;
                    stats.answered.fetch_add(1, Relaxed);
                    stats
                        .answer_millis
                        .fetch_add(started.elapsed().as_millis() as u64, Relaxed);
                    if datagram.code != crate::datagram::code::OK {
                        stats.failed_answers.fetch_add(1, Relaxed);
                    }
                    tracing::debug!(
                        id = asked.info.id,
                        code = datagram.code,
                        bytes = datagram.data.len(),
                        "oracle request answered"
                    );
                    (
                        asked.account,
                        Answered {
                            info: asked.info,
                            datagram,
                            asked_at: asked.asked_at,
                        },
                    )
                }
            })
            .buffer_unordered(CONCURRENT_ANSWERS)
            .for_each(move |answer| {
                let _ = answered.send(answer);
                async {}
            });
        let batching = async {
            let mut open: HashMap<usize, OpenBatch> = HashMap::new();
            loop {
                let next = tokio::time::timeout(FLUSH_AFTER, answers.recv()).await;
                let finished = matches!(next, Ok(None));
                if let Ok(Some((account, answer))) = next {
                    let batch = open.entry(account).or_insert_with(|| OpenBatch {
                        opened: Instant::now(),
                        answers: Vec::new(),
                    });
                    batch.answers.push(answer);
                    if batch.answers.len() >= BATCH_DELIVERIES
                        && let Some(full) = open.remove(&account)
                    {
                        self.deliver(account, full.answers, head).await;
                    }
                }
                let due: Vec<usize> = open
                    .iter()
                    .filter(|(_, batch)| finished || batch.opened.elapsed() >= FLUSH_AFTER)
                    .map(|(account, _)| *account)
                    .collect();
                for account in due {
                    if let Some(batch) = open.remove(&account) {
                        self.deliver(account, batch.answers, head).await;
                    }
                }
                if finished {
                    return;
                }
            }
        };
        tokio::join!(answering, batching);
        Ok(())
    }

    /// Sends `answers` from `account` in as few `deliverBatch` transactions as their size
    /// allows. A batch the node refuses is recorded, not retried at every poll: the scan moves
    /// on, and its requests are expired (refunded) at their deadlines (audit M-5: a refused
    /// delivery made the relay fetch the same range again and again).
    async fn deliver(&mut self, account: usize, answers: Vec<Answered>, head: u64) {
        let mut rest = answers.into_iter().peekable();
        while rest.peek().is_some() {
            let mut deliveries = Vec::new();
            let mut requests = Vec::new();
            let mut callback_gas = Vec::new();
            let mut bytes = 0;
            while let Some(answer) = rest.next_if(|answer| {
                deliveries.is_empty() || bytes + delivery_bytes(&answer.datagram) <= BATCH_BYTES
            }) {
                bytes += delivery_bytes(&answer.datagram);
                self.undelivered
                    .insert(answer.info.id, answer.info.deadline);
                requests.push((answer.info.id, Some(answer.asked_at)));
                callback_gas.push(answer.info.callbackGas);
                let datagram = answer.datagram;
                deliveries.push(NativeOracle::Delivery {
                    id: datagram.id,
                    paramsHash: datagram.params_hash,
                    code: datagram.code,
                    data: datagram.data.into(),
                    enclaveSig: datagram.signature.to_vec().into(),
                });
            }
            let input = NativeOracle::deliverBatchCall { deliveries }.abi_encode();
            let call = OracleCall {
                to: NATIVE_ORACLE_ADDRESS,
                gas_limit: batch_gas(&callback_gas, &input),
                input,
            };
            let first = requests[0].0;
            let count = requests.len();
            match self.send_from(account, requests, call, head).await {
                Ok(()) => tracing::info!(first, count, "oracle answers sent"),
                Err(error) => {
                    tracing::warn!(first, count, %error, "a batch of deliveries was not sent; its requests will be expired at their deadlines")
                }
            }
        }
    }

    /// The state of each request of `ids`, read in a few calls.
    async fn states(&self, ids: &[u64]) -> Result<Vec<u8>, RelayError> {
        let mut states = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(STATE_READS) {
            let read = self
                .main
                .read(
                    NATIVE_ORACLE_ADDRESS,
                    NativeOracle::statesOfCall {
                        ids: chunk.to_vec(),
                    },
                )
                .await?;
            if read.len() != chunk.len() {
                return Err(RelayError::Decode(format!(
                    "statesOf answered {} states for {} ids",
                    read.len(),
                    chunk.len()
                )));
            }
            states.extend(read);
        }
        Ok(states)
    }

    /// The account whose turn it is to send.
    fn next_account(&mut self) -> usize {
        let account = self.turn % self.senders.len();
        self.turn += 1;
        account
    }

    async fn send(
        &mut self,
        id: u64,
        to: Address,
        input: Vec<u8>,
        gas_limit: u64,
        head: u64,
    ) -> Result<(), RelayError> {
        let account = self.next_account();
        let call = OracleCall {
            to,
            input,
            gas_limit,
        };
        let requests = if id == 0 {
            Vec::new()
        } else {
            vec![(id, None)]
        };
        self.send_from(account, requests, call, head).await
    }

    async fn send_from(
        &mut self,
        account: usize,
        requests: Vec<(u64, Option<u64>)>,
        call: OracleCall,
        head: u64,
    ) -> Result<(), RelayError> {
        let sent = self.senders[account]
            .send(Some(call.to), call.input, U256::ZERO, call.gas_limit)
            .await?;
        self.in_flight.push(InFlight {
            requests,
            account,
            sent,
            sent_at: SentAt::now(head),
        });
        self.config.stats.in_flight.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Settles mined deliveries and resends the stuck ones with higher fees.
    async fn watch_in_flight(&mut self, head: u64) -> Result<(), RelayError> {
        let receipts = futures::future::try_join_all(
            self.in_flight
                .iter()
                .map(|flight| self.main.receipt(flight.sent.hash)),
        )
        .await?;
        let mut still = Vec::new();
        for (mut flight, receipt) in std::mem::take(&mut self.in_flight)
            .into_iter()
            .zip(receipts)
        {
            if let Some(receipt) = receipt {
                let stats = &self.config.stats;
                stats.in_flight.fetch_sub(1, Relaxed);
                if receipt.status() {
                    // A batch skips a request someone settled first: only its Delivered logs
                    // count as this relay's deliveries.
                    let delivered: Vec<u64> = receipt
                        .inner
                        .logs()
                        .iter()
                        .filter(|log| {
                            log.address() == NATIVE_ORACLE_ADDRESS
                                && log.topics().first()
                                    == Some(&NativeOracle::Delivered::SIGNATURE_HASH)
                        })
                        .filter_map(|log| log.topics().get(1))
                        .map(|id| U256::from_be_bytes(id.0).saturating_to::<u64>())
                        .collect();
                    for (id, asked_at) in &flight.requests {
                        self.undelivered.remove(id);
                        if let (Some(asked_at), Some(mined_at)) = (asked_at, receipt.block_number)
                            && delivered.contains(id)
                        {
                            stats.delivered.fetch_add(1, Relaxed);
                            stats
                                .delivery_blocks
                                .fetch_add(mined_at.saturating_sub(*asked_at), Relaxed);
                        }
                    }
                } else {
                    stats
                        .reverted
                        .fetch_add(flight.requests.len().max(1) as u64, Relaxed);
                    tracing::warn!(requests = flight.requests.len(), hash = %flight.sent.hash, "oracle transaction reverted; its requests will be expired at their deadlines");
                }
                continue;
            }
            if flight.sent_at.stuck(head) {
                match self.senders[flight.account]
                    .resend_faster(&flight.sent)
                    .await
                {
                    Ok(sent) => {
                        flight.sent = sent;
                        flight.sent_at = SentAt::now(head);
                        self.config.stats.resent.fetch_add(1, Relaxed);
                        tracing::info!(requests = flight.requests.len(), hash = %flight.sent.hash, "resent a stuck oracle transaction with a higher fee");
                    }
                    Err(error) => {
                        // Its nonce is taken: an earlier version of it was mined (a block took
                        // the first while the pool swapped in the resend), or the node refuses
                        // it. Either way it is no longer watched; its requests that are still
                        // pending are expired at their deadlines. The others stay watched.
                        self.config.stats.in_flight.fetch_sub(1, Relaxed);
                        tracing::warn!(requests = flight.requests.len(), hash = %flight.sent.hash, %error, "a stuck oracle transaction could not be resent");
                        continue;
                    }
                }
            }
            still.push(flight);
        }
        self.in_flight = still;
        Ok(())
    }

    /// Expires requests the relay could not deliver, once their deadline has passed.
    async fn expire_overdue(&mut self, head: u64) -> Result<(), RelayError> {
        let overdue: Vec<u64> = self
            .undelivered
            .iter()
            .filter(|(id, deadline)| {
                head > **deadline
                    && !self
                        .in_flight
                        .iter()
                        .any(|f| f.requests.iter().any(|(r, _)| r == *id))
            })
            .map(|(id, _)| *id)
            .collect();
        for id in overdue {
            self.undelivered.remove(&id);
            if self.states(&[id]).await?.first() == Some(&PENDING) {
                tracing::info!(id, "expiring an oracle request that could not be delivered");
                self.config.stats.expired.fetch_add(1, Relaxed);
                let call = NativeOracle::expireCall { id }.abi_encode();
                self.send(id, NATIVE_ORACLE_ADDRESS, call, 120_000, head)
                    .await?;
            }
        }
        Ok(())
    }

    /// Registers the enclave (or renews its registration) when it lapses within
    /// [`RENEW_MARGIN`] + [`UPKEEP_BLOCKS`] blocks; `true` if it needs nothing now.
    async fn keep_registered(&mut self, head: u64) -> Result<bool, RelayError> {
        let Some(attestation) = self.config.attestation.clone() else {
            return Ok(true);
        };
        let enclave = self.config.enclave.address();
        let expires = self
            .main
            .read(
                ENCLAVE_REGISTRY_ADDRESS,
                EnclaveRegistry::oracleExpiresAtCall(enclave),
            )
            .await?;
        if expires > U256::from(head + RENEW_MARGIN + UPKEEP_BLOCKS) {
            return Ok(true);
        }
        if self
            .registration_sent_at
            .is_some_and(|sent| head < sent + 8)
        {
            return Ok(false);
        }
        let nonce = self.main.latest_block().await?.header.hash;
        let root = self
            .main
            .read(
                ENCLAVE_REGISTRY_ADDRESS,
                EnclaveRegistry::attestationRootCall {},
            )
            .await?;
        let quote = self.config.enclave.quote(nonce);
        let certificate = attestation.certify(&quote, root).await?;
        let call = ankr_client::attest::register_call(&certificate);
        tracing::info!(%enclave, "registering the oracle enclave (SIMULATED attestation)");
        self.send(0, ENCLAVE_REGISTRY_ADDRESS, call, 400_000, head)
            .await?;
        self.registration_sent_at = Some(head);
        Ok(false)
    }

    /// Publishes the enclave's encryption key once it is live and the contract holds another;
    /// `true` if the contract holds it.
    async fn publish_encryption_key(&mut self, head: u64) -> Result<bool, RelayError> {
        let enclave = self.config.enclave.address();
        let key = self.config.enclave.encryption_key();
        let published = self
            .main
            .read(
                NATIVE_ORACLE_ADDRESS,
                NativeOracle::encryptionKeyOfCall(enclave),
            )
            .await?;
        if published == key {
            return Ok(true);
        }
        if self.key_sent_at.is_some_and(|sent| head < sent + 8) {
            return Ok(false);
        }
        let live = self
            .main
            .read(
                ENCLAVE_REGISTRY_ADDRESS,
                EnclaveRegistry::isLiveOracleCall { enclave },
            )
            .await?;
        if !live {
            return Ok(false);
        }
        let call = NativeOracle::publishEncryptionKeyCall {
            enclave,
            key,
            enclaveSig: self
                .config
                .enclave
                .sign_encryption_key(self.main.chain_id(), NATIVE_ORACLE_ADDRESS)
                .to_vec()
                .into(),
        };
        tracing::info!(%enclave, %key, "publishing the oracle enclave's encryption key");
        self.send(0, NATIVE_ORACLE_ADDRESS, call.abi_encode(), 100_000, head)
            .await?;
        self.key_sent_at = Some(head);
        Ok(false)
    }

    fn load_next_block(&self) -> Result<u64, RelayError> {
        match std::fs::read_to_string(&self.config.state_file) {
            Ok(text) => text
                .trim()
                .parse()
                .map_err(|_| RelayError::Decode(format!("state file holds {text:?}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(1),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the next block to scan, atomically (write then rename).
    fn save_next_block(&self, next: u64) -> Result<(), RelayError> {
        let path = &self.config.state_file;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, next.to_string())?;
        std::fs::rename(&temporary, path)?;
        Ok(())
    }
}

/// Gas for a `deliverBatch` whose calldata is `input` and whose datagrams' callbacks ask for
/// `callback_gas`: each callback's gas (EIP-150 keeps 1/64 back), the contract's own work per
/// datagram and for copying the data, and the calldata at the standard rate — or the EIP-7623
/// floor, 10 gas per token, if that is higher, as it is for documents of a few KB (a limit
/// without it was refused as "intrinsic gas too low").
pub fn batch_gas(callback_gas: &[u32], input: &[u8]) -> u64 {
    let tokens = ankr_txpool::calldata_tokens(input);
    let callbacks: u64 = callback_gas
        .iter()
        .map(|gas| u64::from(*gas) * 64 / 63 + GAS_PER_DELIVERY)
        .sum();
    let execution = GAS_PER_BATCH + callbacks + 8 * input.len() as u64;
    let standard = 21_000 + 4 * tokens + execution;
    let floor = 21_000 + 10 * tokens;
    standard.max(floor)
}

/// About what a datagram adds to a batch's calldata (its data, signature and ABI words).
fn delivery_bytes(datagram: &Datagram) -> usize {
    datagram.data.len() + datagram.signature.len() + 10 * 32
}

#[cfg(test)]
mod tests {
    use super::{STUCK_BLOCKS, STUCK_TIME, batch_gas, stuck};
    use std::time::Duration;

    #[test]
    fn a_transaction_is_stuck_only_after_enough_blocks_and_enough_time() {
        let long = STUCK_TIME + Duration::from_millis(1);
        // An instant-sealing node under load: many blocks within milliseconds.
        assert!(!stuck(100, Duration::from_millis(40), 100 + 50));
        // A slow chain: the time has passed but not the blocks.
        assert!(!stuck(100, long, 100 + STUCK_BLOCKS - 1));
        assert!(stuck(100, long, 100 + STUCK_BLOCKS));
        assert!(stuck(100, STUCK_TIME, 100 + STUCK_BLOCKS));
    }

    #[test]
    fn a_large_document_gets_at_least_the_calldata_floor() {
        let document = vec![0x61u8; 9 * 1024];
        let gas = batch_gas(&[20_000], &document);
        let floor = 21_000 + 10 * 4 * document.len() as u64;
        assert!(gas >= floor, "{gas} < floor {floor}");
        // The old rule (callback + 150,000 + 16 per byte of data) fell below the floor.
        assert!(20_000 * 64 / 63 + 150_000 + 16 * (document.len() as u64) < floor);
    }

    #[test]
    fn every_callback_of_a_batch_gets_its_whole_gas() {
        let one = batch_gas(&[0], &[]);
        let batch = batch_gas(&[100_000, 0, 300_000], &[]);
        assert!(batch >= one + (100_000 + 300_000) * 64 / 63 + 2 * 40_000);
    }
}
