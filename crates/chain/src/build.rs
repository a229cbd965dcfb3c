//! Building a block from the pool, and the write path shared with import.

use crate::{Chain, ChainError, ImportError, NewBlock, next_base_fee};
use alloy_primitives::{Address, B256, Bytes, U256};
use ankr_execution::{
    BlockContext, ExecutedBlock, Mode, execute_block, receipts_root, transactions_root,
};
use ankr_storage::{StateReader, StoredBody};
use ankr_types::{Block, Header, Seal, SealKind};

/// Whether a built block may be empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contents {
    /// Interval sealing: a block every tick, empty or not.
    AnyNumber,
    /// Instant sealing: a block only when it includes a transaction.
    NonEmpty,
}

/// Who seals the blocks a node builds itself (a PoUW miner seals templates instead).
#[derive(Clone)]
pub enum Sealer {
    /// The dev sealer: no proof at all, on chains that allow it.
    Dev,
    /// The operator of an EVM child chain, with its key.
    Operator(secp256k1::SecretKey),
}

impl Sealer {
    /// The seal of `header` (whose own seal is ignored).
    fn seal(&self, chain_id: u64, header: &Header) -> Seal {
        match self {
            Self::Dev => Seal::dev(),
            Self::Operator(key) => Seal::operator(key, chain_id, header.template_hash()),
        }
    }
}

impl Chain {
    /// Builds a block on the head from the best pooled transactions, seals it with `sealer` and
    /// commits it. `timestamp` is raised to the earliest the parent allows if it is earlier.
    /// With `Contents::NonEmpty`, a block that would include nothing is not made (`Ok(None)`).
    pub fn build_block(
        &self,
        beneficiary: Address,
        timestamp: u64,
        sealer: &Sealer,
        contents: Contents,
    ) -> Result<Option<Header>, ChainError> {
        let _writing = self.writer.lock().expect("writer lock");
        let parent = self.head();
        let (context, executed, child_chains_root) =
            self.execute_pool(&parent, beneficiary, timestamp, parent.difficulty)?;
        if contents == Contents::NonEmpty && executed.transactions.is_empty() {
            return Ok(None);
        }
        let header = self
            .write_block(&parent, executed, |state_root, executed| {
                let mut header = header_for(&context, state_root, executed, Seal::dev());
                header.child_chains_root = child_chains_root;
                header.seal = sealer.seal(self.spec.chain_id, &header);
                Ok(header)
            })
            .map_err(|e| match e {
                ImportError::Internal(e) => e,
                ImportError::Execution(e) => ChainError::Execution(e),
                other => unreachable!("building checks no header rule: {other}"),
            })?;
        self.metrics.built();
        Ok(Some(header))
    }

    /// A block template for a miner: the best pooled transactions executed on the head, every
    /// root computed, nothing committed, sealed with an empty PoUW seal for the miner to fill.
    /// The difficulty is the one the chain requires of the next block.
    pub fn build_template(
        &self,
        beneficiary: Address,
        timestamp: u64,
    ) -> Result<Block, ChainError> {
        let _writing = self.writer.lock().expect("writer lock");
        let parent = self.head();
        // Build on the best parent even if its stamp is a little ahead of this clock (as
        // Bitcoin and Ethereum miners do): waiting for the clock would hand the time to
        // whoever stamped the parent ahead.
        let timestamp = timestamp.max(parent.timestamp + 1);
        let difficulty = self.next_difficulty(&parent)?;
        let (context, executed, child_chains_root) =
            self.execute_pool(&parent, beneficiary, timestamp, difficulty)?;
        let mut writer = self.store.begin_block()?;
        writer.apply_state(context.number, &executed.changes)?;
        let state_root = writer.state_root()?;
        drop(writer); // not committed: the template is only a proposal
        let seal = Seal {
            kind: SealKind::UsefulWork,
            proof: Bytes::new(),
        };
        let mut header = header_for(&context, state_root, &executed, seal);
        header.child_chains_root = child_chains_root;
        let block = Block {
            header,
            transactions: executed.transactions.iter().map(|t| t.tx.clone()).collect(),
        };
        self.built
            .lock()
            .expect("built templates lock")
            .keep(block.header.template_hash(), executed);
        Ok(block)
    }

    /// Executes the best pooled transactions on `parent` (the head), dropping from the pool
    /// those that cannot run; also returns the block's `child_chains_root`.
    fn execute_pool(
        &self,
        parent: &Header,
        beneficiary: Address,
        timestamp: u64,
        difficulty: U256,
    ) -> Result<(BlockContext, ExecutedBlock, B256), ChainError> {
        let reader = self.reader()?;
        let state = reader.state()?;
        let mut context = BlockContext {
            number: parent.number + 1,
            timestamp: timestamp.max(self.earliest_timestamp(parent)),
            beneficiary,
            gas_limit: self.spec.gas_limit,
            base_fee: next_base_fee(parent),
            difficulty,
            prevrandao: parent.hash(),
            anchor: B256::ZERO,
        };
        let candidates = self
            .pool
            .lock()
            .expect("pool lock")
            .best(context.base_fee, |sender| state_nonce(&state, sender));
        // A child chain's header carries its anchor where the main chain's commits to its
        // children.
        let child_chains_root = if self.config.anchored {
            context.anchor = self.anchor();
            context.anchor
        } else {
            self.commit_child_chains(&state, &context)?
        };
        let executed = execute_block(
            &state,
            &self.config,
            &context,
            candidates,
            Mode::Build,
            &self.two_threads,
        )?;
        self.metrics.executed(&executed);
        if !executed.skipped.is_empty() {
            let mut pool = self.pool.lock().expect("pool lock");
            for (hash, reason) in &executed.skipped {
                tracing::debug!(%hash, %reason, "dropping transaction that cannot run");
                pool.remove(hash);
            }
        }
        Ok((context, executed, child_chains_root))
    }

    /// Writes an executed block in one transaction: state, then the header `finish` makes from
    /// the state root (and may reject), then body, receipts and head. Caller holds the writer.
    pub(crate) fn write_block(
        &self,
        parent: &Header,
        executed: ExecutedBlock,
        finish: impl FnOnce(B256, &ExecutedBlock) -> Result<Header, ImportError>,
    ) -> Result<Header, ImportError> {
        let parent_hash = parent.hash();
        let parent_td = self
            .reader()?
            .total_difficulty(parent_hash)?
            .unwrap_or_default();
        let mut writer = self.store.begin_block()?;
        writer.apply_state(parent.number + 1, &executed.changes)?;
        let header = finish(writer.state_root()?, &executed)?;
        let body = StoredBody {
            transactions: executed.transactions.iter().map(|t| t.tx.clone()).collect(),
            senders: executed.transactions.iter().map(|t| t.sender).collect(),
        };
        let hash = writer.insert_canonical_block(
            &header,
            &body,
            &executed.receipts,
            parent_td + header.difficulty,
        )?;
        writer.commit()?;

        let state = self.reader()?.state()?;
        self.pool
            .lock()
            .expect("pool lock")
            .prune(|sender| state_nonce(&state, sender));
        tracing::info!(
            number = header.number,
            %hash,
            txs = body.transactions.len(),
            gas_used = header.gas_used,
            "new head"
        );
        self.set_head(NewBlock {
            header: header.clone(),
            hash,
            transaction_hashes: executed.transactions.iter().map(|t| t.hash).collect(),
            receipts: executed.receipts,
        });
        Ok(header)
    }
}

/// The header of a block executed in `context` with `state_root`.
fn header_for(
    context: &BlockContext,
    state_root: B256,
    executed: &ExecutedBlock,
    seal: Seal,
) -> Header {
    Header {
        parent_hash: context.prevrandao,
        beneficiary: context.beneficiary,
        state_root,
        transactions_root: transactions_root(&executed.transactions),
        receipts_root: receipts_root(&executed.receipts),
        logs_bloom: executed.logs_bloom,
        difficulty: context.difficulty,
        number: context.number,
        gas_limit: context.gas_limit,
        gas_used: executed.gas_used,
        timestamp: context.timestamp,
        extra_data: Bytes::new(),
        base_fee_per_gas: context.base_fee,
        child_chains_root: B256::ZERO,
        seal,
    }
}

/// A sender's nonce in `state`, for ordering and pruning the pool. A read failure counts as
/// nonce 0: the pool then offers nothing of that sender and prunes nothing of it, and execution,
/// which reads the same state, reports the failure itself.
fn state_nonce(state: &StateReader, sender: Address) -> u64 {
    state.account(sender).ok().flatten().map_or(0, |a| a.nonce)
}
