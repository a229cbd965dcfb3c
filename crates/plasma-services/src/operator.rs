//! `ankr plasma operator`: one child chain's operator (the whitepaper's "Plasma node" that
//! makes blocks). It keeps its chain in its own redb file, takes transactions over JSON-RPC
//! (`plasma_*`), makes a block every interval when it has transactions, gossips it, and
//! submits its root to the RootChain, one by one. It follows the RootChain's `Deposit` and
//! `ExitStarted` logs once they are `confirmations` deep (so a main-chain reorganisation
//! cannot make it credit a deposit that vanishes), so deposits become spendable and exiting
//! outputs stop being spendable.

use crate::api::{ChainInfo, InclusionProof, PlasmaApiServer, PlasmaBlock, Utxo};
use crate::gossip;
use crate::logs::{RootChainLog, root_chain_logs};
use crate::store::{ChildStore, Event, apply, block_event};
use alloy_primitives::{Address, B256, Bytes, U256};
use ankr_client::{ClientError, MainChain, Sender};
use ankr_contracts::RootChain;
use ankr_plasma::{Ledger, PlasmaTx, TxDomain, UtxoPos};
use jsonrpsee::core::RpcResult;
use jsonrpsee::server::{Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use libp2p::Multiaddr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Most main-chain blocks one scan reads logs for.
const LOG_RANGE: u64 = 1_000;

/// What an operator needs.
#[derive(Clone)]
pub struct OperatorConfig {
    /// The main chain's JSON-RPC.
    pub main_rpc: String,
    /// The child chain's RootChain (this operator's key is its owner).
    pub root_chain: Address,
    pub key: secp256k1::SecretKey,
    /// Where the child chain's redb file lives.
    pub data_dir: PathBuf,
    /// Where `plasma_*` JSON-RPC answers.
    pub rpc_addr: SocketAddr,
    /// Where the block gossip listens.
    pub p2p_listen: Multiaddr,
    /// How often a block is made (when transactions wait).
    pub block_interval: Duration,
    /// Main-chain blocks a root-chain log must be under before it counts.
    pub confirmations: u64,
    /// Deposits since the last child block at which a block is made even with nothing
    /// pooled: the RootChain takes 999 between two child blocks, and without this anyone
    /// could fill them with tiny deposits and block everyone's deposits (audit item 15).
    pub early_block_deposits: u64,
}

/// The default of [`OperatorConfig::early_block_deposits`]: half the 999 slots.
pub const EARLY_BLOCK_DEPOSITS: u64 = 500;

/// Why an operator could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    MainChain(#[from] ClientError),
    #[error("the operator key {key} is not the owner ({owner}) of RootChain {root_chain}")]
    NotOwner {
        key: Address,
        owner: Address,
        root_chain: Address,
    },
    #[error("cannot serve plasma JSON-RPC on {addr}: {reason}")]
    Rpc { addr: SocketAddr, reason: String },
    #[error("block gossip: {0}")]
    Gossip(String),
    #[error("operator folder {path}: {reason}")]
    Folder { path: PathBuf, reason: String },
}

/// The child chain shared by the RPC, the follower and the block maker.
struct Shared {
    stats: OperatorStats,
    ledger: Mutex<Ledger>,
    /// Deposit blocks whose root on the RootChain matches the ledger's (checked once each).
    verified_deposits: Mutex<std::collections::HashSet<u64>>,
    store: ChildStore,
    root_chain: Address,
    p2p: Multiaddr,
}

/// What the operator has done since it started, for its `/metrics`.
#[derive(Default)]
struct OperatorStats {
    blocks_made: AtomicU64,
    transactions_in_blocks: AtomicU64,
    blocks_submitted: AtomicU64,
    failed_submissions: AtomicU64,
}

impl Shared {
    /// The operator's figures in Prometheus text: served at `/metrics` on its JSON-RPC port.
    fn metrics(&self) -> String {
        let (next_block, pooled) = {
            let ledger = self.ledger.lock().expect("ledger lock");
            (ledger.next_child_block(), ledger.pool_len())
        };
        let get = |counter: &AtomicU64| counter.load(Relaxed) as f64;
        let stats = &self.stats;
        ankr_prometheus::render_samples(&[
            (
                "ankr_plasma_next_block",
                "gauge",
                "Number the next child block will carry.",
                next_block as f64,
            ),
            (
                "ankr_plasma_pool_transactions",
                "gauge",
                "Payments waiting for a child block.",
                pooled as f64,
            ),
            (
                "ankr_plasma_blocks_made_total",
                "counter",
                "Child blocks made and announced.",
                get(&stats.blocks_made),
            ),
            (
                "ankr_plasma_block_transactions_total",
                "counter",
                "Payments those blocks carried.",
                get(&stats.transactions_in_blocks),
            ),
            (
                "ankr_plasma_blocks_submitted_total",
                "counter",
                "Child block roots submitted to the RootChain.",
                get(&stats.blocks_submitted),
            ),
            (
                "ankr_plasma_failed_submissions_total",
                "counter",
                "Submission rounds that failed (retried at the next block).",
                get(&stats.failed_submissions),
            ),
        ])
    }
}

/// A running operator; [`RunningOperator::stop`] ends it.
pub struct RunningOperator {
    pub rpc_addr: SocketAddr,
    pub p2p_addr: Multiaddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    rpc: ServerHandle,
    shared: Arc<Shared>,
}

impl RunningOperator {
    /// Stops every part and returns once the child chain's file is closed (a restart in the
    /// same process can open it again).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        let _ = self.rpc.stop();
        self.rpc.stopped().await;
        // The RPC server drops its last connections' handlers, which share the store, shortly after.
        for _ in 0..100 {
            if Arc::strong_count(&self.shared) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Err(error) = self.shared.store.flush() {
            tracing::error!(%error, "the pool was not made durable");
        }
    }
}

/// A RootChain's configuration and its operator's stake.
#[derive(Clone, Copy, Debug)]
pub struct RootChainSettings {
    /// Seconds every exit stays open for challenges (also the 7-day priority floor).
    pub challenge_period: u64,
    /// Seconds after its output's block before an exit pays.
    pub maturity_period: u64,
    pub exit_bond: U256,
    pub stake: U256,
}

impl Default for RootChainSettings {
    /// Plasma MVP's one and two weeks, a 0.01 ANKR bond, a 10 ANKR stake.
    fn default() -> Self {
        let ankr = ankr_types::chain_spec::ANKR;
        Self {
            challenge_period: 7 * 86_400,
            maturity_period: 14 * 86_400,
            exit_bond: U256::from(ankr / 100),
            stake: U256::from(10 * ankr),
        }
    }
}

/// The RootChain `key` deployed first (its nonce-0 contract), deploying it and registering it
/// under `name` in ChildChainRegistry if it is not there yet: what a devnet resumes.
pub async fn ensure_child_chain(
    main: &MainChain,
    key: &secp256k1::SecretKey,
    name: &str,
    settings: RootChainSettings,
) -> Result<Address, OperatorError> {
    let operator = ankr_types::recovery::address_of(key);
    let expected = operator.create(0);
    if !main.code(expected).await?.is_empty() {
        return Ok(expected);
    }
    deploy_child_chain(main, key, name, settings).await
}

/// Deploys a RootChain owned by `key` with `settings` and registers it in ChildChainRegistry.
pub async fn deploy_child_chain(
    main: &MainChain,
    key: &secp256k1::SecretKey,
    name: &str,
    settings: RootChainSettings,
) -> Result<Address, OperatorError> {
    use alloy_sol_types::SolValue;
    let mut code = ankr_contracts::artifact("RootChain")
        .expect("RootChain artifact is committed")
        .bytecode
        .to_vec();
    code.extend(
        (
            U256::from(settings.challenge_period),
            U256::from(settings.maturity_period),
            settings.exit_bond,
        )
            .abi_encode_params(),
    );
    let sender = Sender::new(main.clone(), *key);
    let sent = sender.send(None, code, settings.stake, 6_000_000).await?;
    let receipt = main.wait(sent.hash, Duration::from_secs(120)).await?;
    let root_chain = receipt.contract_address.ok_or_else(|| {
        ClientError::Decode("a contract creation's receipt without its address".into())
    })?;
    let register = ankr_contracts::ChildChainRegistry::registerCall {
        name: name.into(),
        rootChain: root_chain,
    };
    // The registry holds a bond of its minimum stake (registering is not free, audit M-6).
    let bond = main
        .read(
            ankr_contracts::genesis::CHILD_CHAIN_REGISTRY_ADDRESS,
            ankr_contracts::ChildChainRegistry::minStakeCall {},
        )
        .await?;
    sender
        .transact(
            ankr_contracts::genesis::CHILD_CHAIN_REGISTRY_ADDRESS,
            &register,
            bond,
            500_000,
        )
        .await?;
    Ok(root_chain)
}

/// Opens the child chain, checks the key owns the RootChain, and starts every part.
pub async fn start(config: OperatorConfig) -> Result<RunningOperator, OperatorError> {
    let main = MainChain::connect(&config.main_rpc).await?;
    let owner = main
        .read(config.root_chain, RootChain::ownerCall {})
        .await?;
    let key_address = ankr_types::recovery::address_of(&config.key);
    if owner != key_address {
        return Err(OperatorError::NotOwner {
            key: key_address,
            owner,
            root_chain: config.root_chain,
        });
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| OperatorError::Folder {
        path: config.data_dir.clone(),
        reason: e.to_string(),
    })?;
    let store = ChildStore::open(&config.data_dir.join("child-chain.redb"))?;
    store.bind(config.root_chain)?;
    let mut ledger = store.replay(
        TxDomain::new(main.chain_id(), config.root_chain),
        ankr_types::recovery::address_of(&config.key),
    )?;
    let pooled = store.pool()?;
    let dropped = pooled
        .iter()
        .filter(|raw| {
            PlasmaTx::decode(raw)
                .map_err(|e| e.to_string())
                .and_then(|tx| ledger.add_transaction(tx).map_err(|e| e.to_string()))
                .is_err()
        })
        .count();
    tracing::info!(next_block = ledger.next_child_block(), pooled = pooled.len() - dropped, dropped, root_chain = %config.root_chain, "child chain opened");

    let (shutdown, stopped) = watch::channel(false);
    let gossip = gossip::start(
        config.root_chain,
        key_address,
        config.p2p_listen.clone(),
        Vec::new(),
        stopped.clone(),
    )
    .await
    .map_err(OperatorError::Gossip)?;
    let shared = Arc::new(Shared {
        stats: OperatorStats::default(),
        ledger: Mutex::new(ledger),
        verified_deposits: Mutex::default(),
        store,
        root_chain: config.root_chain,
        p2p: gossip.listen_addr.clone(),
    });

    let metrics_of = shared.clone();
    let metrics = ankr_prometheus::HttpPagesLayer::metrics(Arc::new(move || metrics_of.metrics()));
    let server = Server::builder()
        .set_config(
            jsonrpsee::server::ServerConfig::builder()
                .max_response_body_size(crate::MAX_BLOCK_MESSAGE_BYTES)
                .build(),
        )
        .set_http_middleware(tower::ServiceBuilder::new().layer(metrics))
        .build(config.rpc_addr)
        .await
        .map_err(|e| OperatorError::Rpc {
            addr: config.rpc_addr,
            reason: e.to_string(),
        })?;
    let rpc_addr = server.local_addr().map_err(|e| OperatorError::Rpc {
        addr: config.rpc_addr,
        reason: e.to_string(),
    })?;
    let rpc = server.start(
        PlasmaRpc {
            shared: shared.clone(),
        }
        .into_rpc(),
    );
    tracing::info!(%rpc_addr, p2p = %gossip.listen_addr, "plasma operator serving");

    let follower = tokio::spawn(follow(
        main.clone(),
        shared.clone(),
        config.confirmations,
        stopped.clone(),
    ));
    let shared_for_stop = shared.clone();
    let sender = Sender::new(main.clone(), config.key);
    let maker = tokio::spawn(make_blocks(
        main,
        sender,
        shared,
        config,
        gossip.publish,
        stopped,
    ));
    Ok(RunningOperator {
        rpc_addr,
        p2p_addr: gossip.listen_addr,
        shutdown,
        tasks: vec![follower, maker],
        rpc,
        shared: shared_for_stop,
    })
}

/// Follows the RootChain's deposits and exits, `confirmations` blocks deep.
async fn follow(
    main: MainChain,
    shared: Arc<Shared>,
    confirmations: u64,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        if let Err(error) = follow_once(&main, &shared, confirmations).await {
            tracing::warn!(%error, "operator could not read the root chain");
        }
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
    }
}

async fn follow_once(
    main: &MainChain,
    shared: &Shared,
    confirmations: u64,
) -> Result<(), OperatorError> {
    let head = main.head().await?;
    let Some(safe) = head.checked_sub(confirmations) else {
        return Ok(());
    };
    let mut cursor = shared.store.main_cursor()?;
    while cursor <= safe {
        let to = safe.min(cursor + LOG_RANGE - 1);
        let logs = root_chain_logs(main, shared.root_chain, cursor, to).await?;
        let mut ledger = shared.ledger.lock().expect("ledger lock");
        let mut applied = Vec::new();
        for log in logs {
            let event = match log {
                RootChainLog::Deposit {
                    blknum,
                    owner,
                    amount,
                } => Event::Deposit {
                    blknum,
                    owner,
                    amount,
                },
                RootChainLog::ExitStarted { pos, .. } => Event::Exit {
                    position: pos.encoded(),
                },
                RootChainLog::Submitted { .. } => continue,
            };
            // A range is read again after a failed write: what the ledger has is skipped.
            match apply(&mut ledger, event.clone()) {
                Ok(_) => tracing::info!(?event, "root chain: applied"),
                Err(error) => {
                    tracing::debug!(%error, "already recorded");
                    continue;
                }
            }
            applied.push(event);
        }
        shared.store.append(&applied, Some(to + 1))?;
        cursor = to + 1;
    }
    Ok(())
}

/// Every interval: submits what the root chain lacks, then makes a block if transactions wait.
async fn make_blocks(
    main: MainChain,
    sender: Sender,
    shared: Arc<Shared>,
    config: OperatorConfig,
    publish: tokio::sync::mpsc::UnboundedSender<gossip::SignedBlock>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(config.block_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = ticks.tick() => {}
        }
        // A stop does not wait for a submission's receipt: what was not submitted is
        // resubmitted on the next start.
        let submitted = tokio::select! {
            _ = stopped.changed() => return,
            submitted = submit_missing(&sender, &shared) => submitted,
        };
        if let Err(error) = submitted {
            tracing::warn!(%error, "could not submit child blocks");
            continue;
        }
        let deposits_full = match main
            .read(shared.root_chain, RootChain::currentDepositBlockCall {})
            .await
        {
            Ok(next) => next > U256::from(config.early_block_deposits),
            Err(error) => {
                tracing::warn!(%error, "could not read the root chain's deposit count");
                false
            }
        };
        // The last await before the block is sealed: what arrives after it is checked by the
        // next round (the seal below refuses to go ahead with an unchecked deposit).
        let checked = tokio::select! {
            _ = stopped.changed() => return,
            checked = drop_vanished_deposits(&main, &shared) => checked,
        };
        if let Err(error) = checked {
            tracing::warn!(%error, "could not check the pool's deposits against the root chain");
            continue;
        }
        let block = {
            let mut ledger = shared.ledger.lock().expect("ledger lock");
            if ledger.pool_len() == 0 && !deposits_full {
                continue;
            }
            let verified = shared.verified_deposits.lock().expect("verified lock");
            if unverified_deposits(&ledger, &verified).next().is_some() {
                continue;
            }
            drop(verified);
            if deposits_full {
                tracing::info!("the root chain's deposit slots are filling: making a block now");
            }
            let block = ledger.seal_block().clone();
            // Stored under the ledger's lock, so the file replays events in the order the
            // ledger took them, and before it is announced or submitted: a restart resubmits it.
            if let Err(error) = shared.store.seal(&block_event(&block)) {
                tracing::error!(%error, "could not store child block; stopping");
                return;
            }
            block
        };
        tracing::info!(number = block.number, txs = block.transactions.len(), root = %block.root, "child block made");
        shared.stats.blocks_made.fetch_add(1, Relaxed);
        shared
            .stats
            .transactions_in_blocks
            .fetch_add(block.transactions.len() as u64, Relaxed);
        let _ = publish.send(gossip::SignedBlock::of_block(
            shared.root_chain,
            &block,
            &config.key,
        ));
        let submitted = tokio::select! {
            _ = stopped.changed() => return,
            submitted = submit_missing(&sender, &shared) => submitted,
        };
        if let Err(error) = submitted {
            shared.stats.failed_submissions.fetch_add(1, Relaxed);
            tracing::warn!(%error, "could not submit child block");
        }
    }
}

/// Drops pooled spends of deposits the root chain no longer holds as the ledger recorded them:
/// a main-chain reorganisation deeper than `confirmations` removed (or replaced) them, and a
/// block spending them would be provably invalid and cost the operator its stake (audit item
/// 15). The outputs become unspendable here; a replacing deposit's owner exits on the root
/// chain.
async fn drop_vanished_deposits(main: &MainChain, shared: &Shared) -> Result<(), OperatorError> {
    let deposits: Vec<(UtxoPos, B256)> = {
        let ledger = shared.ledger.lock().expect("ledger lock");
        let verified = shared.verified_deposits.lock().expect("verified lock");
        unverified_deposits(&ledger, &verified)
            .filter_map(|pos| Some((pos, ledger.block(pos.blknum)?.root)))
            .collect()
    };
    for (pos, root) in deposits {
        let on_chain = main
            .read(
                shared.root_chain,
                RootChain::blocksCall(U256::from(pos.blknum)),
            )
            .await?
            .root;
        if on_chain == root {
            shared
                .verified_deposits
                .lock()
                .expect("verified lock")
                .insert(pos.blknum);
        } else {
            tracing::error!(deposit = pos.blknum, %root, %on_chain, "a deposit the operator credited is not on the root chain (a main-chain reorganisation deeper than --confirmations): its spends are dropped and it cannot be spent here");
            shared.ledger.lock().expect("ledger lock").mark_exiting(pos);
        }
    }
    Ok(())
}

/// The deposit outputs the pool spends that have not been checked against the RootChain.
fn unverified_deposits<'a>(
    ledger: &'a Ledger,
    verified: &'a std::collections::HashSet<u64>,
) -> impl Iterator<Item = UtxoPos> + 'a {
    ledger.pooled_inputs().filter(move |pos| {
        !pos.blknum.is_multiple_of(ankr_plasma::CHILD_BLOCK_INTERVAL)
            && !verified.contains(&pos.blknum)
    })
}

/// Submits, in order, every block the RootChain does not have yet.
async fn submit_missing(sender: &Sender, shared: &Shared) -> Result<(), OperatorError> {
    loop {
        let on_chain: u64 = sender
            .chain()
            .read(shared.root_chain, RootChain::currentChildBlockCall {})
            .await?
            .to();
        let root = {
            let ledger = shared.ledger.lock().expect("ledger lock");
            match ledger.block(on_chain) {
                Some(block) => block.root,
                None => return Ok(()),
            }
        };
        let receipt = sender
            .transact(
                shared.root_chain,
                &RootChain::submitBlockCall { root },
                U256::ZERO,
                300_000,
            )
            .await?;
        tracing::info!(number = on_chain, tx = %receipt.transaction_hash, "child block root submitted");
        shared.stats.blocks_submitted.fetch_add(1, Relaxed);
    }
}

/// The `plasma_*` methods over the operator's shared child chain.
pub struct PlasmaRpc {
    shared: Arc<Shared>,
}

fn invalid(message: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, message.to_string(), None::<()>)
}

fn internal(message: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32603, message.to_string(), None::<()>)
}

impl PlasmaApiServer for PlasmaRpc {
    fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        let tx = PlasmaTx::decode(&raw).map_err(invalid)?;
        // Spend only outputs whose transaction its senders confirmed: otherwise a sender who
        // never confirms can still exit the input it spent (no confirmation, no challenge)
        // while the output's spender exits too, and the chain pays twice (audit C-1).
        for input in tx.inputs.iter().filter(|input| !input.is_empty()) {
            let from_child_block = input
                .blknum
                .is_multiple_of(ankr_plasma::CHILD_BLOCK_INTERVAL);
            if from_child_block
                && self
                    .shared
                    .store
                    .confirmation(input.blknum, input.txindex)
                    .map_err(internal)?
                    .is_none()
            {
                return Err(invalid(format!(
                    "input {} is an output of a transaction its senders have not confirmed: \
                     the operator takes it once they post their confirm signatures (plasma_confirm)",
                    input.utxo()
                )));
            }
        }
        let mut ledger = self.shared.ledger.lock().expect("ledger lock");
        ledger.add_transaction(tx).map_err(invalid)?;
        // Under the ledger's lock, so the file's pool and the next block agree.
        if let Err(error) = self.shared.store.pool_put(&raw) {
            tracing::error!(%error, "a pooled transaction was not written; a restart loses it");
        }
        Ok(tx.hash())
    }

    fn get_block(&self, blknum: u64) -> RpcResult<Option<PlasmaBlock>> {
        let ledger = self.shared.ledger.lock().expect("ledger lock");
        Ok(ledger.block(blknum).map(|b| PlasmaBlock {
            number: b.number,
            root: b.root,
            merkle_root: b.merkle_root(),
            transactions: b.transactions.iter().map(|t| t.encode().into()).collect(),
        }))
    }

    fn get_utxos(&self, owner: Address) -> RpcResult<Vec<Utxo>> {
        let ledger = self.shared.ledger.lock().expect("ledger lock");
        Ok(ledger
            .utxos_of(owner)
            .into_iter()
            .map(|(p, o)| Utxo {
                blknum: p.blknum,
                txindex: p.txindex,
                oindex: p.oindex,
                position: p.encoded(),
                owner: o.owner,
                denom: o.denom,
            })
            .collect())
    }

    fn get_proof(&self, blknum: u64, txindex: u32) -> RpcResult<InclusionProof> {
        let ledger = self.shared.ledger.lock().expect("ledger lock");
        let block = ledger
            .block(blknum)
            .ok_or_else(|| invalid(format!("no child block {blknum}")))?;
        let tx = block
            .transactions
            .get(txindex as usize)
            .ok_or_else(|| invalid(format!("block {blknum} has no transaction {txindex}")))?;
        Ok(InclusionProof {
            blknum,
            txindex,
            transaction: tx.encode().into(),
            proof: block.proof(txindex).into(),
            root: block.root,
        })
    }

    fn get_balance(&self, owner: Address) -> RpcResult<U256> {
        Ok(self
            .shared
            .ledger
            .lock()
            .expect("ledger lock")
            .balance_of(owner))
    }

    fn get_transaction_position(&self, hash: B256) -> RpcResult<Option<(u64, u32)>> {
        Ok(self
            .shared
            .ledger
            .lock()
            .expect("ledger lock")
            .position_of(hash))
    }

    fn confirm(&self, blknum: u64, txindex: u32, signatures: Bytes) -> RpcResult<bool> {
        let (tx, root, domain) = {
            let ledger = self.shared.ledger.lock().expect("ledger lock");
            let block = ledger
                .block(blknum)
                .ok_or_else(|| invalid(format!("no child block {blknum}")))?;
            let tx = *block
                .transactions
                .get(txindex as usize)
                .ok_or_else(|| invalid("no such transaction"))?;
            (tx, block.root, ledger.domain())
        };
        tx.check_confirmations(root, &signatures, domain)
            .map_err(invalid)?;
        self.shared
            .store
            .put_confirmation(blknum, txindex, &signatures)
            .map_err(internal)?;
        Ok(true)
    }

    fn get_block_confirmations(&self, blknum: u64) -> RpcResult<Vec<(u32, Bytes)>> {
        Ok(self
            .shared
            .store
            .block_confirmations(blknum)
            .map_err(internal)?
            .into_iter()
            .map(|(txindex, signatures)| (txindex, Bytes::from(signatures)))
            .collect())
    }

    fn get_confirmations(&self, blknum: u64, txindex: u32) -> RpcResult<Option<Bytes>> {
        Ok(self
            .shared
            .store
            .confirmation(blknum, txindex)
            .map_err(internal)?
            .map(Bytes::from))
    }

    fn chain_info(&self) -> RpcResult<ChainInfo> {
        let ledger = self.shared.ledger.lock().expect("ledger lock");
        Ok(ChainInfo {
            root_chain: self.shared.root_chain,
            next_child_block: ledger.next_child_block(),
            p2p: self.shared.p2p.to_string(),
            pooled: ledger.pool_len(),
        })
    }
}
