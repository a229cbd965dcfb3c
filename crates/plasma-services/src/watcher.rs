//! `ankr plasma watch`: a child chain's watcher for one user (the whitepaper: "every
//! participant … must run both a Plasma node and the Ankr node"). It follows the RootChain
//! (deposits, submitted roots, exits) `confirmations` deep, takes each child block from gossip
//! or the operator, checks it against the root on chain and replays it by the rules with its
//! own ledger. It challenges every exit of an output it has seen spent, with the spender's
//! confirm signature. When a block is invalid it proves so on chain (half the operator's stake
//! goes to its user) and exits its user's outputs; when a root's block cannot be had within
//! the timeout (withholding) it exits them at once. Either way it then keeps following the
//! RootChain through the mass exit (audit L-5): it checks no more blocks, but challenges
//! exits of outputs it saw spent, exits its user's new deposits, settles matured exits and
//! withdraws what its user is owed. It says what it did.
//!
//! What it checked, where its scan of the main chain stands and the confirm signatures it
//! collected live in its own redb file (`ChildStore`, as the operator's): a restart goes on
//! from there, and one after the operator has gone away still exits and challenges.

use crate::api::PlasmaApiClient;
use crate::client::{ClientError, PlasmaClient};
use crate::gossip;
use crate::logs::{RootChainLog, root_chain_logs};
use crate::store::{ChildStore, Event, StoreError, block_event};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use ankr_client::Sender;
use ankr_contracts::RootChain;
use ankr_plasma::{
    Ledger, LedgerError, MerkleTree, PlasmaTx, TxError, UtxoPos, block_root, chained_to,
};
use libp2p::Multiaddr;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How many block intervals ahead of the next block to check a watcher keeps gossiped blocks.
const GOSSIP_AHEAD: u64 = 16;

/// How many of the latest checked child blocks a watcher keeps asking for every transaction's
/// confirm signatures (senders post them once the block's root is on chain).
const CONFIRMATION_BLOCKS: usize = 16;

/// What a watcher needs.
#[derive(Clone)]
pub struct WatcherConfig {
    pub main_rpc: String,
    /// The operator's `plasma_*` JSON-RPC: blocks it does not gossip, confirm signatures.
    pub operator_rpc: String,
    /// The user whose outputs it guards (and who pays for exits, challenges and proofs).
    pub key: secp256k1::SecretKey,
    /// Where to listen for block gossip, and the operator's gossip address to dial.
    pub p2p_listen: Multiaddr,
    pub p2p_peers: Vec<Multiaddr>,
    /// How long a submitted root's block may stay unavailable before it counts as withheld.
    pub withhold_timeout: Duration,
    pub confirmations: u64,
    /// Where its redb file lives (one folder per watched chain).
    pub data_dir: PathBuf,
}

/// Why a watcher could not start or take a step.
#[derive(Debug, thiserror::Error)]
pub enum WatcherError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("watcher folder {path}: {reason}")]
    Folder { path: PathBuf, reason: String },
}

impl From<ankr_client::ClientError> for WatcherError {
    fn from(error: ankr_client::ClientError) -> Self {
        Self::Client(error.into())
    }
}

/// What the watcher concluded about its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every block so far checked out.
    Sound,
    /// Block `blknum` was invalid (proven on chain if `proven`).
    Invalid { blknum: u64, proven: bool },
    /// Block `blknum`'s contents were never published.
    Withheld { blknum: u64 },
}

/// A running watcher: what it did so far, and its verdict (set once it has acted on it).
pub struct RunningWatcher {
    /// The chain it watches (from its file, or named by the operator on the first start).
    pub root_chain: Address,
    /// Where its block gossip listens.
    pub p2p_addr: Multiaddr,
    /// Gossip messages dropped for not being blocks its operator signed.
    pub gossip_rejected: Arc<AtomicU64>,
    pub actions: Arc<Mutex<Vec<String>>>,
    pub verdict: Arc<Mutex<Verdict>>,
    /// Wei it has withdrawn for its user during a mass exit.
    pub withdrawn: Arc<Mutex<U256>>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunningWatcher {
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

struct Watcher {
    config: WatcherConfig,
    client: PlasmaClient,
    ledger: Ledger,
    /// Blocks received by gossip, waiting for their root on chain.
    gossiped: HashMap<u64, Vec<Bytes>>,
    received: tokio::sync::mpsc::UnboundedReceiver<gossip::SignedBlock>,
    /// What it checked and the confirm signatures it holds.
    store: ChildStore,
    /// Checked child blocks whose confirm signatures are not all kept yet, oldest first.
    collecting: VecDeque<u64>,
    cursor: u64,
    actions: Arc<Mutex<Vec<String>>>,
    verdict: Arc<Mutex<Verdict>>,
    withdrawn: Arc<Mutex<U256>>,
    /// Outputs whose exit it started (their `ExitStarted` may not be read yet).
    exits_started: HashSet<UtxoPos>,
    user: Address,
    /// The user's account on the main chain: pays for proofs.
    sender: Sender,
}

/// Opens its file (the chain it watches, what it checked), connects to the main chain and the
/// operator, joins the block gossip, and starts watching. The operator need answer only on the
/// first start, to name its RootChain.
pub async fn start(config: WatcherConfig) -> Result<RunningWatcher, WatcherError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| WatcherError::Folder {
        path: config.data_dir.clone(),
        reason: e.to_string(),
    })?;
    let store = ChildStore::open(&config.data_dir.join("watcher.redb"))?;
    let client = match store.root_chain()? {
        Some(root_chain) => {
            PlasmaClient::for_root_chain(&config.main_rpc, &config.operator_rpc, root_chain).await?
        }
        None => {
            let client = PlasmaClient::connect(&config.main_rpc, &config.operator_rpc).await?;
            store.bind(client.root_chain)?;
            client
        }
    };
    let operator = client
        .main
        .read(client.root_chain, RootChain::ownerCall {})
        .await?;
    let ledger = store.replay(client.domain(), operator)?;
    let cursor = store.main_cursor()?;
    let (shutdown, stopped) = watch::channel(false);
    let gossip = gossip::start(
        client.root_chain,
        operator,
        config.p2p_listen.clone(),
        config.p2p_peers.clone(),
        stopped.clone(),
    )
    .await
    .map_err(ClientError::Refused)?;
    tracing::info!(root_chain = %client.root_chain, next_block = ledger.next_child_block(), main_cursor = cursor, "watcher opened its file");
    let p2p_addr = gossip.listen_addr.clone();
    let gossip_rejected = gossip.rejected.clone();
    let root_chain = client.root_chain;
    let actions = Arc::new(Mutex::new(Vec::new()));
    let verdict = Arc::new(Mutex::new(Verdict::Sound));
    let withdrawn = Arc::new(Mutex::new(U256::ZERO));
    let mut watcher = Watcher {
        user: ankr_types::recovery::address_of(&config.key),
        sender: Sender::new(client.main.clone(), config.key),
        config,
        client,
        ledger,
        gossiped: HashMap::new(),
        received: gossip.received,
        store,
        collecting: VecDeque::new(),
        cursor,
        actions: actions.clone(),
        verdict: verdict.clone(),
        withdrawn: withdrawn.clone(),
        exits_started: HashSet::new(),
    };
    let task = tokio::spawn(async move {
        let mut stopped = stopped;
        loop {
            if let Err(error) = watcher.step().await {
                tracing::warn!(%error, "watcher step failed; retrying");
            }
            tokio::select! {
                _ = stopped.changed() => return,
                _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            }
        }
    });
    Ok(RunningWatcher {
        root_chain,
        p2p_addr,
        gossip_rejected,
        actions,
        verdict,
        withdrawn,
        shutdown,
        task,
    })
}

impl Watcher {
    fn say(&self, what: String) {
        tracing::info!(watcher = %self.user, "{what}");
        self.actions.lock().expect("actions lock").push(what);
    }

    /// Keeps the operator's gossiped blocks that may still be needed: child blocks from the
    /// next one to check up to `GOSSIP_AHEAD` intervals ahead (one per number, the latest).
    fn take_gossip(&mut self) {
        let next = self.ledger.next_child_block();
        let window = next..next + GOSSIP_AHEAD * ankr_plasma::CHILD_BLOCK_INTERVAL;
        while let Ok(block) = self.received.try_recv() {
            if window.contains(&block.number)
                && block.number % ankr_plasma::CHILD_BLOCK_INTERVAL == 0
            {
                self.gossiped.insert(block.number, block.transactions);
            }
        }
        self.gossiped.retain(|number, _| window.contains(number));
    }

    /// Whether it has acted on a bad or withheld block (the chain is in its mass exit).
    fn exiting(&self) -> bool {
        *self.verdict.lock().expect("verdict lock") != Verdict::Sound
    }

    /// Follows the root chain as far as it is confirmed. Each event is written once handled
    /// and the cursor once the range is done, so a range cut short is read again and what was
    /// handled is skipped. Once the chain is in its mass exit, blocks are no longer checked,
    /// and each step settles matured exits and withdraws what the user is owed.
    async fn step(&mut self) -> Result<(), WatcherError> {
        self.take_gossip();
        if self.exiting() {
            self.settle().await?;
        }
        let main = self.client.main.clone();
        let head = main.head().await?;
        let Some(safe) = head.checked_sub(self.config.confirmations) else {
            return Ok(());
        };
        if self.cursor > safe {
            return Ok(());
        }
        let to = safe.min(self.cursor + 999);
        for seen in root_chain_logs(&main, self.client.root_chain, self.cursor, to).await? {
            match seen {
                RootChainLog::Deposit {
                    blknum,
                    owner,
                    amount,
                } => {
                    if self.ledger.deposit(blknum, owner, amount).is_ok() {
                        let event = Event::Deposit {
                            blknum,
                            owner,
                            amount,
                        };
                        self.store.append(&[event], None)?;
                        if owner == self.user && self.exiting() {
                            self.exit_everything().await;
                        }
                    }
                }
                RootChainLog::Submitted { blknum, .. }
                    if blknum < self.ledger.next_child_block() || self.exiting() => {}
                RootChainLog::Submitted { blknum, root } => {
                    if !self.check_block(blknum, root).await? {
                        // The rest of this range is read again, now in the mass exit.
                        return Ok(());
                    }
                    let block = self.ledger.block(blknum).expect("just applied");
                    self.store.append(&[block_event(block)], None)?;
                    if !block.transactions.is_empty() {
                        self.collecting.push_back(blknum);
                    }
                    while self.collecting.len() > CONFIRMATION_BLOCKS {
                        self.collecting.pop_front();
                    }
                }
                RootChainLog::ExitStarted { pos, .. } if self.ledger.is_exiting(pos) => {}
                RootChainLog::ExitStarted { pos, exitor } => {
                    self.check_exit(pos, exitor).await?;
                    let event = Event::Exit {
                        position: pos.encoded(),
                    };
                    self.store.append(&[event], None)?;
                }
            }
        }
        self.store.append(&[], Some(to + 1))?;
        self.cursor = to + 1;
        self.collect_confirmations().await;
        Ok(())
    }

    /// In the mass exit: pays the exits that have matured (the queue pays in priority order,
    /// so the user's wait on everyone's) and withdraws what the user is owed.
    async fn settle(&mut self) -> Result<(), ClientError> {
        let main = &self.client.main;
        let next = main
            .read(self.client.root_chain, RootChain::nextExitCall {})
            .await?;
        if !next.utxoPos.is_zero() {
            let exit = main
                .read(self.client.root_chain, RootChain::exitsCall(next.utxoPos))
                .await?;
            if exit.exitableAt <= main.latest_timestamp().await? {
                let settled = self.client.finalize(&self.config.key).await?;
                self.say(format!("settled {settled} matured exits"));
            }
        }
        if !self.client.owed(self.user).await?.is_zero() {
            let amount = self.client.withdraw(&self.config.key).await?;
            *self.withdrawn.lock().expect("withdrawn lock") += amount;
            self.say(format!("withdrew {amount} wei for {}", self.user));
        }
        Ok(())
    }

    /// Fetches and keeps confirm signatures: of every transaction of the latest checked blocks
    /// (so it can challenge anyone's exit of an output spent there, also once the operator is
    /// gone), and of the transactions that made the user's outputs, however old.
    async fn collect_confirmations(&mut self) {
        let mut complete = Vec::new();
        for blknum in self.collecting.clone() {
            let Ok(offered) = self.client.operator().get_block_confirmations(blknum).await else {
                break; // the operator does not answer now; the next step asks again
            };
            let block = self.ledger.block(blknum).expect("a checked block");
            let kept: HashSet<u32> = self
                .store
                .block_confirmations(blknum)
                .unwrap_or_default()
                .into_iter()
                .map(|(txindex, _)| txindex)
                .collect();
            let new: Vec<(u32, Vec<u8>)> = offered
                .into_iter()
                .filter(|(txindex, _)| !kept.contains(txindex))
                .filter(|(txindex, signatures)| {
                    block.transactions.get(*txindex as usize).is_some_and(|tx| {
                        tx.check_confirmations(block.root, signatures, self.ledger.domain())
                            .is_ok()
                    })
                })
                .map(|(txindex, signatures)| (txindex, signatures.to_vec()))
                .collect();
            let total = block.transactions.len();
            if new.is_empty() {
                continue;
            }
            if let Err(error) = self.store.put_confirmations(blknum, &new) {
                tracing::warn!(%error, "could not keep confirm signatures");
                continue;
            }
            let now = kept.len() + new.len();
            self.say(format!(
                "holds the confirm signatures of {now} of {total} transactions of block {blknum}"
            ));
            if now == total {
                complete.push(blknum);
            }
        }
        self.collecting.retain(|blknum| !complete.contains(blknum));
        for (pos, _) in self.ledger.utxos_of(self.user) {
            if pos.blknum % ankr_plasma::CHILD_BLOCK_INTERVAL == 0
                && matches!(self.store.confirmation(pos.blknum, pos.txindex), Ok(None))
            {
                let _ = self.confirmation(pos.blknum, pos.txindex).await;
            }
        }
    }

    /// The confirm signatures of transaction (`blknum`, `txindex`): from the file, or asked of
    /// the operator and written to the file.
    async fn confirmation(&mut self, blknum: u64, txindex: u32) -> Option<Bytes> {
        if let Ok(Some(found)) = self.store.confirmation(blknum, txindex) {
            return Some(found.into());
        }
        let found = self
            .client
            .confirmations(blknum, txindex)
            .await
            .ok()
            .flatten()?;
        let block = self.ledger.block(blknum)?;
        let tx = block.transactions.get(txindex as usize)?;
        if let Err(error) = tx.check_confirmations(block.root, &found, self.ledger.domain()) {
            self.say(format!(
                "the operator's confirm signatures of {blknum}:{txindex} are wrong: {error}"
            ));
            return None;
        }
        match self
            .store
            .put_confirmations(blknum, &[(txindex, found.to_vec())])
        {
            Ok(()) => self.say(format!(
                "holds the confirm signatures of {blknum}:{txindex}"
            )),
            Err(error) => tracing::warn!(%error, "could not keep a confirm signature"),
        }
        Some(found)
    }

    /// The transactions of child block `blknum` that hash to `root` (with their tree): from
    /// gossip, else from the operator, until the withholding timeout. Anything offered that does
    /// not hash to the root on chain is ignored.
    async fn fetch_block(&mut self, blknum: u64, root: B256) -> Option<(Vec<Bytes>, MerkleTree)> {
        let previous = self
            .ledger
            .block(chained_to(blknum))
            .map(|b| b.root)
            .unwrap_or_default();
        let matches = |txs: &[Bytes]| {
            let tree = MerkleTree::new(txs.iter().map(keccak256).collect()).ok()?;
            (block_root(tree.root(), previous) == root).then_some(tree)
        };
        let deadline = tokio::time::Instant::now() + self.config.withhold_timeout;
        loop {
            self.take_gossip();
            if let Some(txs) = self.gossiped.remove(&blknum)
                && let Some(tree) = matches(&txs)
            {
                return Some((txs, tree));
            }
            if let Ok(Some(block)) = self.client.operator().get_block(blknum).await
                && let Some(tree) = matches(&block.transactions)
            {
                return Some((block.transactions, tree));
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Checks submitted block `blknum`; false if it was withheld or invalid (and acted upon:
    /// the watcher is then in the mass exit).
    async fn check_block(&mut self, blknum: u64, root: B256) -> Result<bool, WatcherError> {
        let Some((raw, tree)) = self.fetch_block(blknum, root).await else {
            self.say(format!("block {blknum}'s root is on chain but its block was withheld for {:?}: exiting every output of {}", self.config.withhold_timeout, self.user));
            self.exit_everything().await;
            *self.verdict.lock().expect("verdict lock") = Verdict::Withheld { blknum };
            return Ok(false);
        };
        let decoded: Result<Vec<PlasmaTx>, usize> = raw
            .iter()
            .enumerate()
            .map(|(i, r)| PlasmaTx::decode(r).map_err(|_| i))
            .collect();
        let outcome = match decoded {
            Err(txindex) => Err((txindex as u32, None)),
            Ok(txs) => match self.ledger.apply_block(blknum, txs.clone()) {
                Ok(_) => Ok(()),
                Err(invalid) => Err((invalid.txindex.unwrap_or(0), Some((invalid.error, txs)))),
            },
        };
        let Err((txindex, reason)) = outcome else {
            self.say(format!(
                "block {blknum} checks out ({} transactions)",
                raw.len()
            ));
            return Ok(true);
        };
        let what = reason
            .as_ref()
            .map(|(e, _)| e.to_string())
            .unwrap_or_else(|| "does not decode".into());
        self.say(format!(
            "block {blknum} is invalid: transaction {txindex} {what}"
        ));
        let proven = match self.prove(blknum, txindex, &raw, &tree, reason).await {
            Ok(Some(kind)) => {
                self.say(format!("proved block {blknum} invalid on chain ({kind}): the operator's stake is {}'s to withdraw", self.user));
                true
            }
            Ok(None) => {
                self.say(format!("block {blknum}'s fault cannot be proven on chain"));
                false
            }
            Err(error) => {
                self.say(format!("could not prove block {blknum} invalid: {error}"));
                false
            }
        };
        self.exit_everything().await;
        *self.verdict.lock().expect("verdict lock") = Verdict::Invalid { blknum, proven };
        Ok(false)
    }

    /// Sends a fraud proof from the user's account.
    async fn submit_proof<C: alloy_sol_types::SolCall>(&self, call: &C) -> Result<(), ClientError> {
        self.sender
            .transact(self.client.root_chain, call, U256::ZERO, 2_000_000)
            .await?;
        Ok(())
    }

    /// Proves transaction `txindex` of block `blknum` breaks a rule; the kind proven, if any.
    async fn prove(
        &self,
        blknum: u64,
        txindex: u32,
        raw: &[Bytes],
        tree: &MerkleTree,
        reason: Option<(LedgerError, Vec<PlasmaTx>)>,
    ) -> Result<Option<&'static str>, ClientError> {
        let proof_of = |i: u32| -> Bytes { tree.proof_bytes(i as usize).into() };
        let Some((error, txs)) = reason else {
            let call = RootChain::proveMalformedCall {
                blknum: U256::from(blknum),
                txindex: U256::from(txindex),
                txBytes: raw[txindex as usize].clone(),
                proof: proof_of(txindex),
            };
            self.submit_proof(&call).await?;
            return Ok(Some("a transaction that does not decode"));
        };
        let tx = txs[txindex as usize];
        let spend =
            |blk: u64, index: u32, input: usize, bytes: Bytes, proof: Bytes| RootChain::Spend {
                blknum: U256::from(blk),
                txindex: U256::from(index),
                txBytes: bytes,
                proof,
                input: U256::from(input),
            };
        let this = |input: usize| {
            spend(
                blknum,
                txindex,
                input,
                raw[txindex as usize].clone(),
                proof_of(txindex),
            )
        };
        let input_of = |pos: UtxoPos| {
            tx.inputs
                .iter()
                .position(|i| !i.is_empty() && i.utxo() == pos)
                .unwrap_or(0)
        };
        let created = |pos: UtxoPos| -> (Bytes, Bytes) {
            match self.ledger.block(pos.blknum) {
                Some(block) => (
                    block
                        .transactions
                        .get(pos.txindex as usize)
                        .map(|t| Bytes::from(t.encode()))
                        .unwrap_or_default(),
                    block.proof(pos.txindex).into(),
                ),
                None => (Bytes::new(), Bytes::new()),
            }
        };
        match error {
            LedgerError::NotUnspent(pos) if self.ledger.spender_of(pos).is_some() => {
                let (b, t, k) = self.ledger.spender_of(pos).expect("checked");
                let earlier_block = self.ledger.block(b).expect("spent in a known block");
                let earlier = spend(
                    b,
                    t,
                    k,
                    earlier_block.transactions[t as usize].encode().into(),
                    earlier_block.proof(t).into(),
                );
                let call = RootChain::proveDoubleSpendCall {
                    later: this(input_of(pos)),
                    earlier,
                };
                self.submit_proof(&call).await?;
                Ok(Some("an output spent twice"))
            }
            LedgerError::SpentInPool(pos) => {
                let j = txs[..txindex as usize]
                    .iter()
                    .position(|t| t.inputs.iter().any(|i| !i.is_empty() && i.utxo() == pos))
                    .expect("spent earlier in the same block") as u32;
                let k = txs[j as usize]
                    .inputs
                    .iter()
                    .position(|i| !i.is_empty() && i.utxo() == pos)
                    .expect("found");
                let earlier = spend(blknum, j, k, raw[j as usize].clone(), proof_of(j));
                let call = RootChain::proveDoubleSpendCall {
                    later: this(input_of(pos)),
                    earlier,
                };
                self.submit_proof(&call).await?;
                Ok(Some("an output spent twice in one block"))
            }
            LedgerError::Transaction(TxError::SameInputTwice) => {
                let call = RootChain::proveDoubleSpendCall {
                    later: this(1),
                    earlier: this(0),
                };
                self.submit_proof(&call).await?;
                Ok(Some("one output spent by both inputs"))
            }
            LedgerError::Transaction(TxError::BadSignature(k)) => {
                let (input_tx, input_proof) = created(tx.inputs[k].utxo());
                let call = RootChain::proveBadSignatureCall {
                    blknum: U256::from(blknum),
                    txindex: U256::from(txindex),
                    txBytes: raw[txindex as usize].clone(),
                    proof: proof_of(txindex),
                    k: U256::from(k),
                    inputTx: input_tx,
                    inputProof: input_proof,
                };
                self.submit_proof(&call).await?;
                Ok(Some("a signature not by the input's owner"))
            }
            LedgerError::Transaction(TxError::Unbalanced { .. })
            | LedgerError::NotUnspent(_)
            | LedgerError::NoInputs => {
                let mut input_txs = [Bytes::new(), Bytes::new()];
                let mut input_proofs = [Bytes::new(), Bytes::new()];
                for (k, input) in tx.inputs.iter().enumerate().filter(|(_, i)| !i.is_empty()) {
                    (input_txs[k], input_proofs[k]) = created(input.utxo());
                }
                let call = RootChain::proveOverspendCall {
                    blknum: U256::from(blknum),
                    txindex: U256::from(txindex),
                    txBytes: raw[txindex as usize].clone(),
                    proof: proof_of(txindex),
                    inputTxs: input_txs,
                    inputProofs: input_proofs,
                };
                self.submit_proof(&call).await?;
                Ok(Some("outputs and fee above its inputs"))
            }
            _ => Ok(None),
        }
    }

    /// Challenges an exit of an output this watcher has seen spent.
    async fn check_exit(&mut self, pos: UtxoPos, exitor: Address) -> Result<(), ClientError> {
        let spender = self.ledger.spender_of(pos);
        self.ledger.mark_exiting(pos);
        let Some((blknum, txindex, input)) = spender else {
            return Ok(());
        };
        let block = self
            .ledger
            .block(blknum)
            .expect("a spend is in a known block")
            .clone();
        let tx = block.transactions[txindex as usize];
        let Some(signatures) = self.confirmation(blknum, txindex).await else {
            self.say(format!("{exitor} exits {pos}, spent at {blknum}:{txindex}, but no confirm signature is known: cannot challenge"));
            return Ok(());
        };
        let slot = tx.inputs[..input].iter().filter(|i| !i.is_empty()).count();
        let Some(confirm_sig) = signatures.get(65 * slot..65 * (slot + 1)) else {
            return Ok(());
        };
        match self
            .client
            .challenge_with(&self.config.key, pos, blknum, txindex, input, tx.encode().into(), block.proof(txindex).into(), confirm_sig.to_vec().into())
            .await
        {
            Ok(_) => self.say(format!("challenged {exitor}'s exit of {pos}: spent at {blknum}:{txindex}; the bond is {}'s", self.user)),
            Err(error) => self.say(format!("could not challenge the exit of {pos}: {error}")),
        }
        Ok(())
    }

    /// Starts the exit of every output of the user the ledger holds (blocks up to the last
    /// valid one) that is not exiting yet, each with the confirm signatures posted for its
    /// transaction.
    async fn exit_everything(&mut self) {
        for (pos, output) in self.ledger.utxos_of(self.user) {
            if self.ledger.is_exiting(pos) || self.exits_started.contains(&pos) {
                continue;
            }
            let block = self
                .ledger
                .block(pos.blknum)
                .expect("an output is in a known block")
                .clone();
            let tx = block.transactions[pos.txindex as usize];
            let confirm_sig = if tx.is_deposit() {
                Some(Bytes::new())
            } else {
                self.confirmation(pos.blknum, pos.txindex).await
            };
            let Some(confirm_sig) = confirm_sig else {
                self.say(format!(
                    "cannot exit {pos} ({} wei): no confirm signature for its transaction",
                    output.denom
                ));
                continue;
            };
            match self
                .client
                .start_exit(
                    &self.config.key,
                    pos,
                    tx.encode().into(),
                    block.proof(pos.txindex).into(),
                    confirm_sig,
                )
                .await
            {
                Ok(_) => {
                    self.exits_started.insert(pos);
                    self.say(format!("started the exit of {pos} ({} wei)", output.denom))
                }
                Err(error) => self.say(format!("could not exit {pos}: {error}")),
            }
        }
    }
}
