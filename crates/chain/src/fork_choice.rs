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
//! Every step commits whole, so a crash leaves a valid canonical chain (possibly the common
//! ancestor, until the branch arrives again).

use crate::{Chain, ImportError};
use alloy_primitives::B256;
use ankr_execution::BlockContext;
use ankr_pouw::PouwSeal;
use ankr_storage::{StoreError, StoredBody};
use ankr_types::{Block, Header, RecoveredTx, SealKind};

impl Chain {
    /// Checks and stores a block that does not extend the head; reorganises if its branch is
    /// now the heaviest. Caller holds the writer.
    pub(crate) fn import_side_block(
        &self,
        head: &Header,
        parent: &Header,
        block: Block,
    ) -> Result<B256, ImportError> {
        self.check_header_on(parent, &block.header)?;
        match block.header.seal.kind {
            SealKind::Dev if !self.spec.allow_dev_seal => {
                return Err(ImportError::DevSealNotAllowed);
            }
            SealKind::Dev => {}
            SealKind::UsefulWork => {
                let seal = PouwSeal::decode(&block.header.seal.proof)?;
                seal.verify(block.header.template_hash(), block.header.difficulty)?;
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
        if total > head_td {
            self.reorganise_to(hash)?;
        }
        Ok(hash)
    }

    /// Makes the branch ending at `tip` canonical. Caller holds the writer.
    fn reorganise_to(&self, tip: B256) -> Result<(), ImportError> {
        let reader = self.reader()?;
        let mut branch = Vec::new();
        let mut cursor = load_block(self, tip)?.0;
        while reader.canonical_hash(cursor.number)? != Some(cursor.hash()) {
            let parent = cursor.parent_hash;
            branch.push(cursor.hash());
            cursor = load_block(self, parent)?.0;
        }
        let ancestor = cursor;
        branch.reverse();
        drop(reader);

        let unwound = self.unwind_to(&ancestor)?;
        tracing::warn!(
            ancestor = ancestor.number,
            dropped = unwound.len(),
            adopted = branch.len(),
            "reorganising onto a heavier branch"
        );
        let mut failure = None;
        for hash in &branch {
            let (header, body) = load_block(self, *hash)?;
            let head = self.head();
            if let Err(error) = self.extend_head(
                &head,
                Block {
                    header,
                    transactions: body.transactions,
                },
            ) {
                failure = Some((*hash, error));
                break;
            }
        }
        if let Some((block, error)) = failure {
            tracing::warn!(%block, %error, "branch block invalid; restoring the previous branch");
            self.unwind_to(&ancestor)?;
            for (header, body) in unwound.into_iter().rev() {
                let head = self.head();
                self.extend_head(
                    &head,
                    Block {
                        header,
                        transactions: body.transactions,
                    },
                )?;
            }
            return Err(ImportError::InvalidBranch {
                block,
                source: Box::new(error),
            });
        }
        // Transactions only the old branch had go back to the pool (those now stale are
        // refused by the pool's own rules).
        let reader = self.reader()?;
        for (_, body) in unwound {
            for (tx, sender) in body.transactions.into_iter().zip(body.senders) {
                if reader.tx_location(*tx.tx_hash())?.is_none() {
                    let size = alloy_eips::Encodable2718::encode_2718_len(&tx);
                    let _ = self.add_to_pool(RecoveredTx::new(tx, sender), size);
                }
            }
        }
        Ok(())
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
