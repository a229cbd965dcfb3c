//! Fork choice: the branch with the most cumulative difficulty (expected instructions) wins;
//! ties keep the branch seen first (DESIGN §4.6).
//!
//! A block whose parent is known but is not the head is a *side block*: it is checked as far
//! as its branch allows without that branch's state (header rules against its parent, the
//! seal's signature and draw, its enclave live in the head state) and stored with its total
//! difficulty. When a branch becomes heavier than the canonical chain, the chain
//! reorganises: it unwinds to the common ancestor with the stored reverse changesets (one
//! write transaction), then imports the branch block by block through the full rules. If a
//! branch block breaks a rule, the old branch is imported back. Transactions of unwound
//! blocks that the new branch does not include go back to the pool.
//!
//! Bounded work for hostile peers: a block found invalid under the full rules is remembered,
//! and it and its descendants are refused at once (a peer once forced 20 unwinds of 150
//! blocks with one bad branch); a failed reorganisation keeps the valid part of the branch if
//! that alone is heavier; and no side block may fork deeper than [`MAX_REORG_DEPTH`] below
//! the head. The network strikes (and at its limit bans) a peer whose gossiped block fails.
//!
//! Every step commits whole, so a crash leaves a valid canonical chain; the reorganisation's
//! target is recorded before the first step and cleared after the last, so that the next
//! open finishes it (`Chain::open` → `resume_reorganisation`).

use crate::{Chain, ImportError};
use alloy_primitives::B256;
use ankr_execution::BlockContext;
use ankr_pouw::PouwSeal;
use ankr_storage::{StoreError, StoredBody};
use ankr_types::{Block, Header, RecoveredTx, SealKind};

/// Deepest fork a side block may open: a branch must leave the canonical chain within this
/// many blocks of the head (at 2 s blocks, about two minutes).
pub const MAX_REORG_DEPTH: u64 = 64;

/// Blocks a reorganisation may drop and still be logged as routine (info) rather than warned
/// of: miners who seal at nearly the same moment fork a block or two deep (a three-node devnet
/// does so within its first minute), while dropping more than 6 replaces a block JSON-RPC has
/// called `safe`. geth too warns only of a "large chain reorg".
const ROUTINE_REORG_DEPTH: usize = 6;

/// Hashes of blocks found invalid, the most recent [`InvalidBlocks::KEPT`], each with whether
/// it was reverted by the main chain (a child chain's block proven wrong there) rather than
/// found breaking a rule here.
#[derive(Default)]
pub(crate) struct InvalidBlocks {
    set: std::collections::HashMap<B256, bool>,
    order: std::collections::VecDeque<B256>,
}

impl InvalidBlocks {
    const KEPT: usize = 4096;

    fn insert(&mut self, hash: B256, reverted: bool) {
        if self.set.insert(hash, reverted).is_none() {
            self.order.push_back(hash);
            if self.order.len() > Self::KEPT
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
        }
    }
}

impl Chain {
    /// Whether `hash` was found invalid (or descends from a block that was).
    pub fn is_invalid(&self, hash: B256) -> bool {
        self.invalid
            .lock()
            .expect("invalid lock")
            .set
            .contains_key(&hash)
    }

    /// `Some(true)` if `hash` is invalid because the main chain reverted it (or an ancestor),
    /// `Some(false)` if it broke a rule here, `None` if it is not known invalid.
    pub(crate) fn invalidity(&self, hash: B256) -> Option<bool> {
        self.invalid
            .lock()
            .expect("invalid lock")
            .set
            .get(&hash)
            .copied()
    }

    pub(crate) fn mark_invalid(&self, hash: B256) {
        self.invalid
            .lock()
            .expect("invalid lock")
            .insert(hash, false);
    }

    /// Marks `hash` invalid because the main chain reverted it: blocks built on it are refused
    /// too, but sending one is no fault (its maker may not have seen the reversal yet).
    pub(crate) fn mark_reverted(&self, hash: B256) {
        self.invalid
            .lock()
            .expect("invalid lock")
            .insert(hash, true);
    }

    /// Marks `bad` and every stored block from it up to `tip` invalid, so that blocks built on
    /// any of them are refused at once.
    fn mark_branch_invalid(&self, tip: B256, bad: B256) -> Result<(), ImportError> {
        let reader = self.reader()?;
        let mut cursor = tip;
        for _ in 0..=MAX_REORG_DEPTH * 2 {
            self.mark_invalid(cursor);
            if cursor == bad {
                break;
            }
            match reader.header(cursor)? {
                Some(header) => cursor = header.parent_hash,
                None => break,
            }
        }
        self.mark_invalid(bad);
        Ok(())
    }

    /// How far below the head `parent`'s branch leaves the canonical chain, walking back at
    /// most [`MAX_REORG_DEPTH`] + 1 blocks.
    fn fork_depth(&self, head: &Header, parent: &Header) -> Result<u64, ImportError> {
        let reader = self.reader()?;
        let mut cursor = parent.clone();
        for _ in 0..=MAX_REORG_DEPTH + 1 {
            if reader.canonical_hash(cursor.number)? == Some(cursor.hash()) {
                return Ok(head.number.saturating_sub(cursor.number));
            }
            cursor = reader
                .header(cursor.parent_hash)?
                .ok_or(StoreError::MissingBlock(cursor.parent_hash))?;
        }
        Ok(head.number.saturating_sub(cursor.number))
    }

    /// Checks and stores a block that does not extend the head; reorganises if its branch is
    /// now the heaviest. Caller holds the writer.
    pub(crate) fn import_side_block(
        &self,
        head: &Header,
        parent: &Header,
        block: Block,
    ) -> Result<B256, ImportError> {
        let depth = self.fork_depth(head, parent)?;
        if depth > MAX_REORG_DEPTH {
            return Err(ImportError::ForkTooDeep {
                depth,
                max: MAX_REORG_DEPTH,
            });
        }
        self.check_seal_kind(&block.header)?;
        self.check_header_on(parent, &block.header)?;
        match block.header.seal.kind {
            SealKind::Dev | SealKind::Operator => {}
            SealKind::UsefulWork => {
                let seal = PouwSeal::decode(&block.header.seal.proof)?;
                seal.verify_within(
                    block.header.template_hash(),
                    block.header.difficulty,
                    self.spec.pouw.max_subtask_tickets,
                )?;
                // The branch's own state is not at hand; an enclave unknown to the head's
                // registry would only make us unwind for nothing.
                let state = self.reader()?.state()?;
                let status =
                    self.enclave_status(&state, &BlockContext::of(&block.header), seal.enclave)?;
                if !status.live {
                    return Err(ImportError::EnclaveNotLive {
                        enclave: seal.enclave,
                        expires_at: status.expires_at,
                    });
                }
                // The rate cap over the block's own branch: a key holder cannot grow side
                // branches faster than it could grow the canonical chain.
                self.check_rate_cap(seal.platform_id, &block.header)?;
            }
        }
        let senders = ankr_types::recover_senders(&block.transactions);
        let mut body = StoredBody::default();
        for (index, (tx, sender)) in block.transactions.into_iter().zip(senders).enumerate() {
            let sender = sender.map_err(|source| ImportError::BadSignature { index, source })?;
            body.transactions.push(tx);
            body.senders.push(sender);
        }
        let reader = self.reader()?;
        let parent_td = reader.total_difficulty(parent.hash())?.unwrap_or_default();
        let total = parent_td + block.header.difficulty;
        let mut writer = self.store.begin_block()?;
        let hash = writer.insert_side_block(&block.header, &body, total)?;
        writer.commit()?;
        let head_td = reader.total_difficulty(head.hash())?.unwrap_or_default();
        tracing::info!(number = block.header.number, %hash, heavier = total > head_td, "side block");
        self.record_fork(crate::ForkEvent::SideBlock {
            number: block.header.number,
            hash,
            parent_hash: block.header.parent_hash,
            heavier: total > head_td,
            seen_at: crate::now_seconds(),
        });
        if total > head_td {
            self.reorganise_to(hash)?;
        }
        Ok(hash)
    }

    /// Makes the branch ending at `tip` canonical. Caller holds the writer.
    fn reorganise_to(&self, tip: B256) -> Result<(), ImportError> {
        self.reorganise(tip, self.head().hash())
    }

    /// Finishes a reorganisation that a crash interrupted (recorded in the store), before the
    /// node serves anything: to its tip, or back to the head it left if the tip's branch
    /// turns out invalid.
    pub(crate) fn resume_reorganisation(&self) -> Result<(), ImportError> {
        let Some((tip, previous)) = self.reader()?.reorg_target()? else {
            return Ok(());
        };
        let _writing = self.writer.lock().expect("writer lock");
        tracing::warn!(%tip, %previous, head = self.head().number, "finishing a reorganisation interrupted by a crash");
        match self.reorganise(tip, previous) {
            Ok(()) | Err(ImportError::InvalidBranch { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Moves the canonical chain from `previous` (the head, or the head a crash interrupted)
    /// to `tip`; if a block of `tip`'s branch breaks a rule, back to `previous`. The move is
    /// recorded in the store first and cleared last, so that a crash in between is finished
    /// on the next open. Transactions only the old branch had go back to the pool.
    fn reorganise(&self, tip: B256, previous: B256) -> Result<(), ImportError> {
        self.record_reorganisation(Some((tip, previous)))?;
        let result = match self.switch_branch(tip) {
            Ok(unwound) => {
                self.metrics.reorganised(unwound.len());
                self.record_fork(crate::ForkEvent::Reorganisation {
                    from: previous,
                    to: tip,
                    number: self.head().number,
                    unwound: unwound.len(),
                    seen_at: crate::now_seconds(),
                });
                self.return_to_pool(unwound)?;
                Ok(())
            }
            // This node failed, not the branch: nothing is marked invalid, and the recorded
            // move is finished on the next open.
            Err(failure) if !failure.1.is_peer_fault() => return Err(failure.1),
            Err(failure) => {
                let (block, error) = *failure;
                self.mark_branch_invalid(tip, block)?;
                self.failed_reorganisations
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                // The branch's valid part is now canonical: keep it if it alone outweighs the
                // previous head, as the fork choice would have chosen it without the bad block.
                let reader = self.reader()?;
                let reached = reader
                    .total_difficulty(self.head().hash())?
                    .unwrap_or_default();
                let before = reader.total_difficulty(previous)?.unwrap_or_default();
                drop(reader);
                if reached > before {
                    tracing::warn!(%block, %error, head = self.head().number, "branch block invalid; keeping the branch's heavier valid part");
                } else {
                    tracing::warn!(%block, %error, "branch block invalid; restoring the previous branch");
                    self.switch_branch(previous).map_err(|failure| failure.1)?;
                }
                Err(ImportError::InvalidBranch {
                    block,
                    source: Box::new(error),
                })
            }
        };
        self.record_reorganisation(None)?;
        result
    }

    fn record_reorganisation(&self, target: Option<(B256, B256)>) -> Result<(), ImportError> {
        let mut writer = self.store.begin_block()?;
        writer.set_reorg_target(target)?;
        writer.commit()?;
        Ok(())
    }

    /// Unwinds to the common ancestor of the head and `tip`, then imports `tip`'s branch block
    /// by block through the full rules. Returns the blocks unwound, or the first block that
    /// failed and why (the chain then ends below it).
    fn switch_branch(&self, tip: B256) -> Result<Vec<(Header, StoredBody)>, BranchFailure> {
        let fail = |error: ImportError| failed_at(tip, error);
        let reader = self.reader().map_err(|e| fail(e.into()))?;
        let mut branch = Vec::new();
        let mut cursor = load_block(self, tip).map_err(|e| fail(e.into()))?.0;
        while reader
            .canonical_hash(cursor.number)
            .map_err(|e| fail(e.into()))?
            != Some(cursor.hash())
        {
            let parent = cursor.parent_hash;
            branch.push(cursor.hash());
            cursor = load_block(self, parent).map_err(|e| fail(e.into()))?.0;
        }
        let ancestor = cursor;
        branch.reverse();
        drop(reader);

        let unwound = self.unwind_to(&ancestor).map_err(fail)?;
        if !branch.is_empty() {
            if unwound.len() > ROUTINE_REORG_DEPTH {
                tracing::warn!(
                    ancestor = ancestor.number,
                    dropped = unwound.len(),
                    adopted = branch.len(),
                    "deep reorganisation onto a heavier branch"
                );
            } else {
                tracing::info!(
                    ancestor = ancestor.number,
                    dropped = unwound.len(),
                    adopted = branch.len(),
                    "reorganising onto a heavier branch"
                );
            }
        }
        for hash in branch {
            let (header, body) = load_block(self, hash).map_err(|e| failed_at(hash, e.into()))?;
            let head = self.head();
            self.extend_head(
                &head,
                Block {
                    header,
                    transactions: body.transactions,
                },
            )
            .map_err(|error| failed_at(hash, error))?;
        }
        Ok(unwound)
    }

    /// Transactions of `unwound` blocks that the new branch does not include go back to the
    /// pool (those now stale are refused by the pool's own rules).
    fn return_to_pool(&self, unwound: Vec<(Header, StoredBody)>) -> Result<(), ImportError> {
        let reader = self.reader()?;
        for (_, body) in unwound {
            for (tx, sender) in body.transactions.into_iter().zip(body.senders) {
                if reader.tx_location(*tx.tx_hash())?.is_none() {
                    let size = alloy_eips::Encodable2718::encode_2718_len(&tx);
                    let _ = self.add_to_pool(RecoveredTx::new(tx, sender), size, false);
                }
            }
        }
        Ok(())
    }

    /// Drops every canonical block above `number` because a higher authority found the first
    /// of them wrong (a child chain's manager reverted it on the main chain): they are marked
    /// invalid, so no peer can bring them back, and their transactions return to the pool to
    /// be sequenced again. Returns the hashes dropped, oldest first. One write transaction:
    /// a crash leaves the chain before or after, never between.
    pub fn revert_above(&self, number: u64) -> Result<Vec<B256>, ImportError> {
        let _writing = self.writer.lock().expect("writer lock");
        if self.head().number <= number {
            return Ok(Vec::new());
        }
        let ancestor = self
            .reader()?
            .header_by_number(number)?
            .ok_or(StoreError::MissingBlock(B256::ZERO))?;
        let unwound = self.unwind_to(&ancestor)?;
        let dropped: Vec<B256> = unwound.iter().rev().map(|(h, _)| h.hash()).collect();
        for hash in &dropped {
            self.mark_reverted(*hash);
        }
        tracing::warn!(
            kept = number,
            dropped = dropped.len(),
            "reverted blocks the main chain found wrong"
        );
        self.return_to_pool(unwound)?;
        Ok(dropped)
    }

    /// Unwinds canonical blocks down to `ancestor` in one write transaction; returns them,
    /// newest first.
    fn unwind_to(&self, ancestor: &Header) -> Result<Vec<(Header, StoredBody)>, ImportError> {
        let mut writer = self.store.begin_block()?;
        let mut unwound = Vec::new();
        let mut head = self.head();
        while head.number > ancestor.number {
            let (header, body) = writer.unwind_head()?;
            unwound.push((header, body));
            head = self
                .reader()?
                .header(unwound.last().expect("just pushed").0.parent_hash)?
                .ok_or(StoreError::MissingBlock(head.parent_hash))?;
        }
        writer.commit()?;
        *self.head.write().expect("head lock") = head;
        Ok(unwound)
    }
}

/// A stored block (canonical or side) by hash.
fn load_block(chain: &Chain, hash: B256) -> Result<(Header, StoredBody), StoreError> {
    let reader = chain.reader()?;
    let header = reader.header(hash)?.ok_or(StoreError::MissingBlock(hash))?;
    let body = reader.body(hash)?.ok_or(StoreError::MissingBlock(hash))?;
    Ok((header, body))
}

/// The block of a branch that could not be adopted, and why (boxed: an `ImportError` is large).
type BranchFailure = Box<(B256, ImportError)>;

fn failed_at(block: B256, error: ImportError) -> BranchFailure {
    Box::new((block, error))
}
