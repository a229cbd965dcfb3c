//! The watcher (whitepaper §3.1, DESIGN §8): a follower of the child chain that also reads the
//! manager's commitments on the main chain and proves every committed block it finds wrong, in
//! one `proveInvalid` transaction, before the challenge window closes.
//!
//! Each committed block that is not final yet is checked in order. A block this node imported
//! as canonical was re-executed on import; its anchor, which only the main chain can judge, is
//! asked of the manager (`anchorHolds`): an anchor it never gave (an invented deposit) or one
//! that holds deposits back makes the block wrong. Any other committed block is looked up
//! where its body can be: the node's bad blocks (refused by execution on top of the head) or
//! its store (kept as a side block, not executed yet); it is then executed from a witness made
//! over the parent's state, exactly as EXECUTE will, and proven if it is wrong. A committed
//! block whose body nobody has shown stays unchecked (and is reported) until it arrives:
//! checking stops there, since every later block depends on it. After a reversal the watcher's
//! own chain drops the reverted blocks ([`crate::reversal`]).
//!
//! Data availability: a body still unseen half a challenge window after its commitment is
//! challenged on the main chain (with the manager's bond). A body the operator publishes in
//! answer is taken from the main chain and checked like any other; if none comes before the
//! challenge expires, the watcher freezes the chain and, once its last block is final, exits
//! its own account with an account proof of its balance there.

use alloy_primitives::{Address, B256, Bytes, U256};
use ankr_chain::Chain;
use ankr_client::{ClientError, Sender};
use ankr_contracts::EvmChildChain;
use ankr_execution::stateless::{self, ExecutionWitness};
use ankr_types::Block;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the watcher reads the manager.
const POLL: Duration = Duration::from_millis(500);

/// A wrong block the watcher proved, and what the proof earned.
#[derive(Clone, Debug)]
pub struct Proven {
    pub number: u64,
    pub wrong_hash: B256,
    pub reward: U256,
    /// From first reading the commitment to the proof's receipt.
    pub took: Duration,
}

/// Why a round of checking stopped short.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Main(#[from] ClientError),
    #[error("the child chain's own store: {0}")]
    Store(String),
}

/// What the watcher found at one committed block.
enum Finding {
    /// This node's canonical block: executed on import, it stands.
    Stands,
    /// A block this node holds but did not adopt, found valid by execution: not provable.
    ValidElsewhere,
    /// Wrong, with the block and its witness to prove it.
    Wrong(Box<Block>, ExecutionWitness),
    /// No body for the committed hash yet.
    Unseen,
}

/// A watcher of one manager; [`Watcher::check`] runs one round.
pub struct Watcher {
    chain: Arc<Chain>,
    prover: Sender,
    manager: Address,
    /// The highest committed block checked (0 = start at the first block still open).
    checked: u64,
    /// A committed block whose body has not been seen, and since when.
    unseen: Option<(u64, B256, Instant)>,
    /// When each open commitment was first read, for the time a reversal took.
    first_seen: std::collections::HashMap<B256, Instant>,
    /// The manager's reversals this node has followed.
    reversals: crate::reversal::Reversals,
    /// Whether the watcher's account has left a frozen chain.
    exited: bool,
}

impl Watcher {
    pub fn new(chain: Arc<Chain>, prover: Sender, manager: Address) -> Self {
        Self {
            chain,
            prover,
            manager,
            checked: 0,
            unseen: None,
            first_seen: Default::default(),
            reversals: Default::default(),
            exited: false,
        }
    }

    /// Checks every commitment not checked yet; proves the first wrong one found.
    pub async fn check(&mut self) -> Result<Option<Proven>, WatchError> {
        let main = self.prover.chain();
        self.reversals
            .follow(&self.chain, main, self.manager)
            .await?;
        let (frozen, challenged) = tokio::try_join!(
            main.read(self.manager, EvmChildChain::frozenCall {}),
            main.read(self.manager, EvmChildChain::challengedBlockCall {}),
        )?;
        if frozen {
            self.exit().await?;
            return Ok(None);
        }
        if !challenged.is_zero() {
            self.freeze_if_expired().await?;
        }
        let latest: u64 = main
            .read(self.manager, EvmChildChain::latestNumberCall {})
            .await?
            .saturating_to();
        if self.checked == 0 {
            self.checked = self.first_open(latest).await?.saturating_sub(1);
        }
        // A reversal lowers the latest: what stands below it was checked.
        self.checked = self.checked.min(latest);
        while self.checked < latest {
            let number = self.checked + 1;
            let hash = main
                .read(
                    self.manager,
                    EvmChildChain::blockHashCall(U256::from(number)),
                )
                .await?;
            self.first_seen.entry(hash).or_insert_with(Instant::now);
            match self.find(number, hash).await? {
                Finding::Stands => {}
                Finding::ValidElsewhere => tracing::warn!(
                    number,
                    %hash,
                    "the manager holds a valid block this node did not adopt (the operator signed two blocks at one height)"
                ),
                Finding::Wrong(block, witness) => return self.prove(number, &block, witness).await,
                Finding::Unseen => {
                    let since = match self.unseen {
                        Some((n, h, since)) if n == number && h == hash => since,
                        _ => Instant::now(),
                    };
                    self.unseen = Some((number, hash, since));
                    tracing::warn!(
                        number,
                        %hash,
                        waiting_s = since.elapsed().as_secs(),
                        "no body seen for a committed child block: it cannot be checked"
                    );
                    if self.take_published(number, hash).await? {
                        continue;
                    }
                    if challenged.is_zero() {
                        self.challenge_if_late(number).await?;
                    }
                    return Ok(None);
                }
            }
            self.first_seen.remove(&hash);
            self.checked = number;
        }
        Ok(None)
    }

    /// Imports committed block `number` if its body was published on the main chain (the
    /// answer to an availability challenge); whether it was.
    async fn take_published(&self, number: u64, hash: B256) -> Result<bool, WatchError> {
        let main = self.prover.chain();
        let published = main
            .events::<EvmChildChain::BlockPublished>(self.manager, 0, main.head().await?)
            .await?;
        for event in published {
            if event.blockHash == hash {
                // Valid, it becomes canonical; wrong, it is kept among the bad blocks: either
                // way the next look finds it. The operator committed it, so even a seal this
                // chain refuses (signed by another key) is the operator's doing and is kept.
                let outcome = self.chain.import_raw_block(&event.block_);
                tracing::info!(number, %hash, ?outcome, "took a body published on the main chain");
                if let (Err(error), Ok(block)) = (&outcome, Block::decode_exact(&event.block_))
                    && error.is_peer_fault()
                    && self.chain.bad_block(hash).is_none()
                {
                    self.chain.keep_vouched_bad_block(block, error);
                }
                let stored = self
                    .chain
                    .reader()
                    .and_then(|reader| reader.header(hash))
                    .map_err(|e| WatchError::Store(e.to_string()))?
                    .is_some();
                return Ok(stored || self.chain.bad_block(hash).is_some());
            }
        }
        Ok(false)
    }

    /// Challenges the availability of committed block `number` once half its challenge window
    /// has passed without its body: enough time for the operator to have shown it, and enough
    /// left for the challenge to be open before the block would be final.
    async fn challenge_if_late(&self, number: u64) -> Result<(), WatchError> {
        let main = self.prover.chain();
        let (committed_at, window, head) = tokio::try_join!(
            main.read(
                self.manager,
                EvmChildChain::committedAtCall {
                    number: U256::from(number),
                }
            ),
            main.read(self.manager, EvmChildChain::challengeWindowCall {}),
            main.head(),
        )?;
        let late_at: u64 = committed_at.saturating_to::<u64>() + window.saturating_to::<u64>() / 2;
        if head < late_at {
            return Ok(());
        }
        let bond = main
            .read(self.manager, EvmChildChain::AVAILABILITY_BONDCall {})
            .await?;
        tracing::warn!(
            number,
            "challenging the availability of a committed child block nobody has shown"
        );
        self.prover
            .transact(
                self.manager,
                &EvmChildChain::challengeAvailabilityCall {
                    number: U256::from(number),
                },
                bond,
                200_000,
            )
            .await?;
        Ok(())
    }

    /// Freezes the chain if the open availability challenge expired unanswered.
    async fn freeze_if_expired(&self) -> Result<(), WatchError> {
        let main = self.prover.chain();
        let (deadline, head) = tokio::try_join!(
            main.read(self.manager, EvmChildChain::challengeDeadlineCall {}),
            main.head(),
        )?;
        if U256::from(head) <= deadline {
            return Ok(());
        }
        tracing::warn!("the challenged body was withheld: freezing the child chain");
        self.prover
            .transact(
                self.manager,
                &EvmChildChain::freezeCall {},
                U256::ZERO,
                300_000,
            )
            .await?;
        Ok(())
    }

    /// On a frozen chain, exits the watcher's own account with its balance at the frozen
    /// chain's last block, once that block is final.
    async fn exit(&mut self) -> Result<(), WatchError> {
        if self.exited {
            return Ok(());
        }
        let main = self.prover.chain();
        let me = self.prover.address();
        let (last, exited) = tokio::try_join!(
            main.read(self.manager, EvmChildChain::latestNumberCall {}),
            main.read(self.manager, EvmChildChain::exitedCall(me)),
        )?;
        let is_final = main
            .read(self.manager, EvmChildChain::isFinalCall { number: last })
            .await?;
        if exited || !is_final {
            self.exited = exited;
            return Ok(());
        }
        let store = |e: ankr_storage::StoreError| WatchError::Store(e.to_string());
        let last: u64 = last.saturating_to();
        let reader = self.chain.reader().map_err(store)?;
        let header = reader
            .header_by_number(last)
            .map_err(store)?
            .ok_or_else(|| WatchError::Store(format!("the frozen chain's last block {last}")))?;
        let proof = reader
            .state_at(last)
            .and_then(|state| state.proof(me, &[]))
            .map_err(store)?;
        let balance = proof.account.map(|a| a.balance).unwrap_or_default();
        self.exited = true;
        if balance.is_zero() {
            return Ok(());
        }
        let call = EvmChildChain::exitCall {
            header: alloy_rlp::encode(&header).into(),
            accountProof: proof.account_proof,
        };
        self.prover
            .transact(self.manager, &call, U256::ZERO, 400_000)
            .await?;
        tracing::warn!(%balance, "exited the frozen child chain with our balance at its last block");
        Ok(())
    }

    /// The first committed block still open to proofs (commitment blocks only grow with the
    /// number, so a binary search over `committedAt` finds it in O(log n) reads).
    async fn first_open(&self, latest: u64) -> Result<u64, WatchError> {
        let main = self.prover.chain();
        let (window, head) = tokio::try_join!(
            main.read(self.manager, EvmChildChain::challengeWindowCall {}),
            main.head(),
        )?;
        let closed_before = head.saturating_sub(window.saturating_to());
        let (mut low, mut high) = (1, latest + 1);
        while low < high {
            let middle = low + (high - low) / 2;
            let at: u64 = main
                .read(
                    self.manager,
                    EvmChildChain::committedAtCall {
                        number: U256::from(middle),
                    },
                )
                .await?
                .saturating_to();
            if at >= closed_before {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        Ok(low)
    }

    /// Where this node stands on committed block `number` with hash `hash`.
    async fn find(&self, number: u64, hash: B256) -> Result<Finding, WatchError> {
        let store = |e: ankr_storage::StoreError| WatchError::Store(e.to_string());
        let reader = self.chain.reader().map_err(store)?;
        let canonical = reader.canonical_hash(number).map_err(store)? == Some(hash);
        let block = match self.chain.bad_block(hash) {
            Some(bad) => (*bad.block).clone(),
            None => match (reader.header(hash), reader.body(hash)) {
                (Ok(Some(header)), Ok(Some(body))) => Block {
                    header,
                    transactions: body.transactions,
                },
                _ => return Ok(Finding::Unseen),
            },
        };
        // Execution and header rules are checked on import (canonical) or here; the sealer,
        // the time and the anchor, which only the main chain can judge, are asked of the
        // manager for every block.
        let parent = reader
            .header(block.header.parent_hash)
            .map_err(store)?
            .ok_or_else(|| WatchError::Store(format!("parent of block {number}")))?;
        let sealer = block
            .header
            .seal
            .operator_signer(self.chain.spec().chain_id, block.header.template_hash())
            .unwrap_or_default();
        let header_holds = self
            .prover
            .chain()
            .read(
                self.manager,
                EvmChildChain::headerHoldsCall {
                    number: U256::from(number),
                    anchor: block.header.child_chains_root,
                    parentAnchor: parent.child_chains_root,
                    timestamp: U256::from(block.header.timestamp),
                    sealer,
                },
            )
            .await?;
        let config = self.chain.execution_config();
        let witness = || {
            stateless::make_witness(&reader, config, &block)
                .map_err(|e| WatchError::Store(format!("witness of block {number}: {e}")))
        };
        if canonical {
            return Ok(if header_holds {
                Finding::Stands
            } else {
                let witness = witness()?;
                Finding::Wrong(Box::new(block), witness)
            });
        }
        let witness = witness()?;
        let misplaced = block.header.number != number;
        match stateless::verify(config, &block, &witness) {
            Ok(_) if !misplaced && header_holds => Ok(Finding::ValidElsewhere),
            _ => Ok(Finding::Wrong(Box::new(block), witness)),
        }
    }

    /// Sends the proof that committed block `number` is wrong.
    async fn prove(
        &mut self,
        number: u64,
        block: &Block,
        witness: ExecutionWitness,
    ) -> Result<Option<Proven>, WatchError> {
        let hash = block.header.hash();
        let raw = Bytes::from(alloy_rlp::encode(block));
        let size = raw.len() + witness.size();
        let gas = 300_000 + stateless::execute_gas(block.header.gas_used, size) + 40 * size as u64;
        tracing::warn!(number, %hash, "committed child block is wrong: proving it on the main chain");
        let call = EvmChildChain::proveInvalidCall {
            number: U256::from(number),
            block_: raw,
            state: witness.state,
            codes: witness.codes,
            headers: witness.headers,
        };
        let receipt = self
            .prover
            .transact(self.manager, &call, U256::ZERO, gas)
            .await?;
        let reward =
            ankr_client::main_chain::receipt_events::<EvmChildChain::BlocksReverted>(&receipt)
                .first()
                .map(|event| event.reward)
                .unwrap_or_default();
        let took = self
            .first_seen
            .remove(&hash)
            .map(|since| since.elapsed())
            .unwrap_or_default();
        tracing::warn!(number, %hash, %reward, took_ms = took.as_millis() as u64, "wrong child block reverted on the main chain");
        self.checked = number - 1;
        self.reversals
            .follow(&self.chain, self.prover.chain(), self.manager)
            .await?;
        Ok(Some(Proven {
            number,
            wrong_hash: hash,
            reward,
            took,
        }))
    }
}

/// Runs `watcher` until `stop` turns true; each proof is also sent to `proven`.
pub async fn run(
    mut watcher: Watcher,
    proven: Option<tokio::sync::mpsc::UnboundedSender<Proven>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        match watcher.check().await {
            Ok(Some(proof)) => {
                if let Some(proven) = &proven {
                    let _ = proven.send(proof);
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "watching the manager failed; retrying"),
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}
