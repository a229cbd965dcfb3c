//! Importing a block made elsewhere: every rule checked, nothing written unless all hold.

use crate::{Chain, ImportError, rules};
use alloy_primitives::B256;
use ankr_execution::{BlockContext, Mode, execute_block, receipts_root, transactions_root};
use ankr_types::{Block, Header, RecoveredTx, SealKind, header_rules, recover_senders};

impl Chain {
    /// Decodes and imports a raw RLP block.
    pub fn import_raw_block(&self, raw: &[u8]) -> Result<B256, ImportError> {
        let block = Block::decode_exact(raw).map_err(ImportError::Decode)?;
        self.import_block(block)
    }

    /// Imports `block`. On the head, every rule is checked and it becomes the new head. On
    /// another known block, it is checked as far as its branch allows and kept as a side
    /// block; if its branch then has more cumulative difficulty (expected instructions) than
    /// the head's, the chain reorganises onto it (fork choice, DESIGN §4.6; ties keep the
    /// branch seen first).
    pub fn import_block(&self, block: Block) -> Result<B256, ImportError> {
        let started = std::time::Instant::now();
        let result = self.import_block_counted(block);
        match &result {
            Ok(_) => self.metrics.imported(started.elapsed()),
            Err(error) if error.is_peer_fault() => self.metrics.refused(),
            Err(_) => {}
        }
        result
    }

    fn import_block_counted(&self, block: Block) -> Result<B256, ImportError> {
        let _writing = self.writer.lock().expect("writer lock");
        let hash = block.header.hash();
        let reader = self.reader()?;
        if reader.header(hash)?.is_some() {
            return Err(ImportError::AlreadyKnown(hash));
        }
        match self.invalidity(block.header.parent_hash) {
            Some(true) => {
                self.mark_reverted(hash);
                return Err(ImportError::RevertedAncestor(block.header.parent_hash));
            }
            Some(false) => {
                self.mark_invalid(hash);
                return Err(ImportError::InvalidAncestor(block.header.parent_hash));
            }
            None => {}
        }
        let head = self.head();
        if block.header.parent_hash == head.hash() {
            // A copy to keep if execution refuses it: a memory copy, small beside executing.
            let copy = block.clone();
            return self.extend_head(&head, block).inspect_err(|error| {
                if self.keeps_as_bad(error) {
                    self.mark_invalid(hash);
                    self.keep_bad_block(copy, error);
                }
            });
        }
        let Some(parent) = reader.header(block.header.parent_hash)? else {
            return Err(ImportError::UnknownParent(block.header.parent_hash));
        };
        self.import_side_block(&head, &parent, block)
    }

    /// Validates `block` on `parent`, the head, and makes it the new head. Caller holds the
    /// writer.
    pub(crate) fn extend_head(&self, parent: &Header, block: Block) -> Result<B256, ImportError> {
        let hash = block.header.hash();
        self.check_header(parent, &block.header)?;
        let built_here = self
            .built
            .lock()
            .expect("built templates lock")
            .take(&block);
        if let Some(executed) = built_here {
            // Its transactions, gas, receipts and bloom are the template's, built on this
            // parent; the state root is still computed from what is written.
            self.metrics.template_reused();
            self.write_block(parent, executed, |state_root, _| {
                check_state_root(state_root, block.header)
            })?;
            return Ok(hash);
        }

        let senders = recover_senders(&block.transactions);
        let mut txs = Vec::with_capacity(block.transactions.len());
        for (index, (tx, sender)) in block.transactions.into_iter().zip(senders).enumerate() {
            let sender = sender.map_err(|source| ImportError::BadSignature { index, source })?;
            txs.push(RecoveredTx::new(tx, sender));
        }
        let expected = transactions_root(&txs);
        if expected != block.header.transactions_root {
            return Err(ImportError::WrongTransactionsRoot {
                expected,
                got: block.header.transactions_root,
            });
        }

        let state = self.reader()?.state()?;
        let context = BlockContext::of(&block.header);
        // On a child chain the field is the block's anchor, which execution writes into the
        // bridge; whether it is one the main chain gave is the manager's to check.
        if !self.config.anchored {
            let expected = self.commit_child_chains(&state, &context)?;
            if expected != block.header.child_chains_root {
                return Err(ImportError::WrongChildChainsRoot {
                    expected,
                    got: block.header.child_chains_root,
                });
            }
        }
        let executed = execute_block(
            &state,
            &self.config,
            &context,
            txs,
            Mode::Import,
            &self.two_threads,
        )?;
        self.metrics.executed(&executed);
        let header = block.header;
        if executed.gas_used != header.gas_used {
            return Err(ImportError::WrongGasUsed {
                expected: executed.gas_used,
                got: header.gas_used,
            });
        }
        let expected = receipts_root(&executed.receipts);
        if expected != header.receipts_root {
            return Err(ImportError::WrongReceiptsRoot {
                expected,
                got: header.receipts_root,
            });
        }
        if executed.logs_bloom != header.logs_bloom {
            return Err(ImportError::WrongLogsBloom);
        }
        self.write_block(parent, executed, |state_root, _| {
            check_state_root(state_root, header)
        })?;
        Ok(hash)
    }

    /// The rules a header must meet given its parent, the head (seal, registry, defences).
    fn check_header(&self, parent: &Header, header: &Header) -> Result<(), ImportError> {
        // The seal's kind first: a seal this chain never takes is refused by that rule, not by
        // a difficulty or time rule of another consensus.
        self.check_seal_kind(header)?;
        self.check_header_on(parent, header)?;
        match header.seal.kind {
            SealKind::Dev | SealKind::Operator => Ok(()),
            SealKind::UsefulWork => self.check_useful_work(header),
        }
    }

    /// The rules a header must meet given only its parent header, on any branch: numbering,
    /// time, gas, base fee, extra data and difficulty (the child chains root needs the parent's
    /// state: `extend_head` checks it).
    pub(crate) fn check_header_on(
        &self,
        parent: &Header,
        header: &Header,
    ) -> Result<(), ImportError> {
        let difficulty = match header.seal.kind {
            // Without work, difficulty stays genesis's: fork choice counts blocks.
            SealKind::Dev | SealKind::Operator => parent.difficulty,
            SealKind::UsefulWork => self.next_difficulty(parent).map_err(ImportError::from)?,
        };
        header_rules::check_against_parent(
            parent,
            header,
            header_rules::Expected {
                earliest_timestamp: self.earliest_timestamp(parent),
                gas_limit: self.spec.gas_limit,
                difficulty,
            },
        )?;
        let now = rules::now_seconds();
        let allowed = match header.seal.kind {
            SealKind::Dev => rules::MAX_FUTURE_SECONDS_DEV,
            SealKind::UsefulWork | SealKind::Operator => rules::MAX_FUTURE_SECONDS,
        };
        if header.timestamp > now + allowed {
            return Err(ImportError::TimestampInFuture {
                got: header.timestamp,
                now,
                allowed,
            });
        }
        Ok(())
    }
}

/// `header` if it carries `state_root`, the root of the state its block wrote.
fn check_state_root(state_root: B256, header: Header) -> Result<Header, ImportError> {
    if state_root != header.state_root {
        return Err(ImportError::WrongStateRoot {
            expected: state_root,
            got: header.state_root,
        });
    }
    Ok(header)
}
