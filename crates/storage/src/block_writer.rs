//! Writes one block atomically.

use crate::{
    StateChanges, StoreError,
    changes::{AccountBefore, Changeset, SlotBefore, account_after},
    hot_state::{HotState, PendingHot},
    reader::{StoredBody, decode, u64_of},
    snapshot::Latest,
    tables::*,
    trie_tables::{self, changed_keys},
    trie_top::{SharedTop, TopChange},
};
use alloy_consensus::ReceiptEnvelope;
use alloy_primitives::{B256, Bytes, U256, keccak256, map::HashSet};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use ankr_types::Header;
use redb::{ReadableTable, WriteTransaction};
use std::sync::Arc;

/// One open write transaction. Dropping it without [`commit`](Self::commit) discards
/// everything, which is how a block that fails validation leaves no trace.
pub struct BlockWriter {
    /// Before `txn`, so that an uncommitted writer puts the top nodes back before its
    /// transaction (and with it the write lock) goes.
    top: TopChange,
    txn: WriteTransaction,
    /// Hashed addresses changed since the state root was last brought up to date.
    changed_accounts: Vec<B256>,
    hot: Arc<HotState>,
    /// What the hot-state cache learns when (and only if) this commits.
    pending_hot: PendingHot,
    /// Told of the commit, so that readers stop sharing the snapshot before it.
    latest: Arc<Latest>,
}

impl BlockWriter {
    pub(crate) fn new(
        txn: WriteTransaction,
        hot: Arc<HotState>,
        top: Arc<SharedTop>,
        latest: Arc<Latest>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            top: TopChange::new(top, &txn)?,
            txn,
            changed_accounts: Vec::new(),
            hot,
            pending_hot: PendingHot::default(),
            latest,
        })
    }

    /// Applies a block's state changes and records what they overwrote under `block_number`.
    pub fn apply_state(
        &mut self,
        block_number: u64,
        changes: &StateChanges,
    ) -> Result<(), StoreError> {
        let mut accounts = self.txn.open_table(ACCOUNTS)?;
        let mut storage = self.txn.open_table(STORAGE)?;
        let mut code = self.txn.open_table(CODE)?;
        let mut storage_nodes = self.txn.open_table(STORAGE_TRIE)?;
        let mut changeset = Changeset::default();

        for (hash, bytes) in &changes.codes {
            code.insert(hash.0, bytes.as_ref())?;
        }

        for address in changes.touched() {
            let hashed = keccak256(address);
            self.changed_accounts.push(hashed);
            let before: Option<TrieAccount> = accounts
                .get(hashed.0)?
                .map(|v| decode("accounts", v.value()))
                .transpose()?;
            changeset.accounts.push(AccountBefore {
                hashed_address: hashed,
                record: before
                    .as_ref()
                    .map(|a| Bytes::from(alloy_rlp::encode(a)))
                    .unwrap_or_default(),
            });

            let mut storage_root = before.as_ref().map_or(EMPTY_ROOT_HASH, |a| a.storage_root);
            if let Some(slots) = changes.storage.get(&address) {
                let mut recorded: HashSet<B256> = HashSet::default();
                if slots.wiped {
                    let mut held_slots = false;
                    trie_tables::forget_storage_trie(&mut storage_nodes, hashed)?;
                    let range = (hashed.0, [0u8; 32])..=(hashed.0, [0xffu8; 32]);
                    for entry in storage.extract_from_if(range, |_, _| true)? {
                        let (key, value) = entry?;
                        let slot = B256::from(key.value().1);
                        held_slots = true;
                        recorded.insert(slot);
                        changeset.slots.push(SlotBefore {
                            hashed_address: hashed,
                            hashed_slot: slot,
                            value: U256::from_be_bytes(value.value()),
                        });
                    }
                    if held_slots {
                        self.pending_hot.wiped(address);
                    }
                }
                for (slot, value) in &slots.slots {
                    self.pending_hot.slot(address, *slot, *value);
                    let hashed_slot = keccak256(slot.to_be_bytes::<32>());
                    let key = (hashed.0, hashed_slot.0);
                    let previous = match value.is_zero() {
                        true => storage.remove(key)?.map(|v| v.value()),
                        false => storage
                            .insert(key, value.to_be_bytes::<32>())?
                            .map(|v| v.value()),
                    };
                    if recorded.insert(hashed_slot) {
                        changeset.slots.push(SlotBefore {
                            hashed_address: hashed,
                            hashed_slot,
                            value: previous.map(U256::from_be_bytes).unwrap_or_default(),
                        });
                    }
                }
                storage_root = trie_tables::update_storage_trie(
                    &mut storage_nodes,
                    &storage,
                    hashed,
                    &changed_keys(recorded),
                )?;
            }

            let after = account_after(before, changes.accounts.get(&address), storage_root);
            self.pending_hot.account(address, after);
            match after {
                Some(account) => {
                    accounts.insert(hashed.0, alloy_rlp::encode(account).as_slice())?;
                }
                None => {
                    accounts.remove(hashed.0)?;
                }
            }
        }

        let mut changesets = self.txn.open_table(CHANGESETS)?;
        changesets.insert(block_number, alloy_rlp::encode(&changeset).as_slice())?;
        Ok(())
    }

    /// The state root over everything written so far, this block's changes included.
    /// Costs the paths of the accounts changed since the last call, not a scan of the state.
    pub fn state_root(&mut self) -> Result<B256, StoreError> {
        self.top
            .update_root(&self.txn, self.changed_accounts.drain(..))
    }

    /// The state root by a full scan of every account, ignoring the kept nodes: the baseline
    /// the kept trie is measured and checked against.
    pub fn state_root_by_scan(&self) -> Result<B256, StoreError> {
        let accounts = self.txn.open_table(ACCOUNTS)?;
        let mut builder = alloy_trie::HashBuilder::default();
        let mut any = false;
        for entry in accounts.iter()? {
            let (key, value) = entry?;
            builder.add_leaf(alloy_trie::Nibbles::unpack(key.value()), value.value());
            any = true;
        }
        Ok(if any { builder.root() } else { EMPTY_ROOT_HASH })
    }

    /// Stores a block and makes it the canonical head.
    pub fn insert_canonical_block(
        &mut self,
        header: &Header,
        body: &StoredBody,
        receipts: &[ReceiptEnvelope],
        total_difficulty: U256,
    ) -> Result<B256, StoreError> {
        let hash = self.store_block(header, body, total_difficulty)?;
        self.txn
            .open_table(SIDE_BLOCKS)?
            .remove((header.number, hash.0))?;
        let mut encoded_receipts = Vec::new();
        alloy_rlp::encode_list(receipts, &mut encoded_receipts);
        self.txn
            .open_table(RECEIPTS)?
            .insert(hash.0, encoded_receipts.as_slice())?;
        self.txn
            .open_table(CANONICAL)?
            .insert(header.number, hash.0)?;
        let mut lookup = self.txn.open_table(TX_LOOKUP)?;
        for (index, tx) in body.transactions.iter().enumerate() {
            lookup.insert(tx.tx_hash().0, (header.number, index as u32))?;
        }
        self.txn
            .open_table(META)?
            .insert(META_HEAD, hash.as_slice())?;
        self.prune_history(header.number)?;
        Ok(hash)
    }

    /// Drops what only state older than the kept history needs, once `head` is the head: the
    /// changesets of blocks up to `head - history` and the side blocks that old. One changeset
    /// or none a block, in steady state.
    fn prune_history(&self, head: u64) -> Result<(), StoreError> {
        let mut meta = self.txn.open_table(META)?;
        let history = match meta.get(META_STATE_HISTORY)? {
            None => crate::DEFAULT_STATE_HISTORY,
            Some(value) => u64_of(value.value())?,
        };
        let keep_from = head.saturating_sub(history).saturating_add(1);
        let from = match meta.get(META_HISTORY_FROM)? {
            None => 0,
            Some(value) => u64_of(value.value())?,
        };
        if history == u64::MAX || keep_from <= from {
            return Ok(());
        }
        let mut changesets = self.txn.open_table(CHANGESETS)?;
        for entry in changesets.extract_from_if(from..keep_from, |_, _| true)? {
            entry?;
        }
        // Side blocks that far back can never become canonical (a reorganisation reaches 64
        // blocks at most): their header, body, difficulty and any receipts go too.
        let mut side = self.txn.open_table(SIDE_BLOCKS)?;
        let mut headers = self.txn.open_table(HEADERS)?;
        let mut bodies = self.txn.open_table(BODIES)?;
        let mut receipts = self.txn.open_table(RECEIPTS)?;
        let mut difficulties = self.txn.open_table(TOTAL_DIFFICULTY)?;
        let behind = (0, [0u8; 32])..(keep_from, [0u8; 32]);
        for entry in side.extract_from_if(behind, |_, _| true)? {
            let hash = entry?.0.value().1;
            headers.remove(hash)?;
            bodies.remove(hash)?;
            receipts.remove(hash)?;
            difficulties.remove(hash)?;
        }
        meta.insert(META_HISTORY_FROM, keep_from.to_be_bytes().as_slice())?;
        Ok(())
    }

    /// Stores a block without making it canonical (a side branch, kept for fork choice):
    /// header, body and total difficulty, no state, no index but `side_blocks` (by number, for pruning).
    pub fn insert_side_block(
        &mut self,
        header: &Header,
        body: &StoredBody,
        total_difficulty: U256,
    ) -> Result<B256, StoreError> {
        let hash = self.store_block(header, body, total_difficulty)?;
        self.txn
            .open_table(SIDE_BLOCKS)?
            .insert((header.number, hash.0), ())?;
        Ok(hash)
    }

    /// Header, body and total difficulty under the block's hash: what every stored block has.
    fn store_block(
        &mut self,
        header: &Header,
        body: &StoredBody,
        total_difficulty: U256,
    ) -> Result<B256, StoreError> {
        let hash = header.hash();
        self.txn
            .open_table(HEADERS)?
            .insert(hash.0, alloy_rlp::encode(header).as_slice())?;
        self.txn
            .open_table(BODIES)?
            .insert(hash.0, alloy_rlp::encode(body).as_slice())?;
        self.txn
            .open_table(TOTAL_DIFFICULTY)?
            .insert(hash.0, total_difficulty.to_be_bytes())?;
        Ok(hash)
    }

    /// Undoes the canonical head block: its reverse changeset is applied to state, its number,
    /// transaction lookups and changeset are removed, and its parent becomes the head. The
    /// block itself stays stored (as a side block). Returns the header and body undone.
    pub fn unwind_head(&mut self) -> Result<(Header, StoredBody), StoreError> {
        let head_hash = {
            let meta = self.txn.open_table(META)?;
            let value = meta
                .get(META_HEAD)?
                .ok_or_else(|| StoreError::corrupt("meta", "no head"))?;
            B256::from_slice(value.value())
        };
        let header: Header = {
            let headers = self.txn.open_table(HEADERS)?;
            let value = headers
                .get(head_hash.0)?
                .ok_or(StoreError::MissingBlock(head_hash))?;
            decode("headers", value.value())?
        };
        if header.number == 0 {
            return Err(StoreError::corrupt("meta", "cannot unwind genesis"));
        }
        let body: StoredBody = {
            let bodies = self.txn.open_table(BODIES)?;
            let value = bodies
                .get(head_hash.0)?
                .ok_or(StoreError::MissingBlock(head_hash))?;
            decode("bodies", value.value())?
        };
        let changeset: Changeset = {
            let mut changesets = self.txn.open_table(CHANGESETS)?;
            let value = changesets.remove(header.number)?.ok_or_else(|| {
                StoreError::corrupt("changesets", format!("block {} has none", header.number))
            })?;
            decode("changesets", value.value())?
        };
        {
            let mut accounts = self.txn.open_table(ACCOUNTS)?;
            for account in &changeset.accounts {
                if account.record.is_empty() {
                    accounts.remove(account.hashed_address.0)?;
                } else {
                    accounts.insert(account.hashed_address.0, account.record.as_ref())?;
                }
            }
            let mut storage = self.txn.open_table(STORAGE)?;
            let mut slots_by_account: std::collections::BTreeMap<B256, Vec<B256>> =
                Default::default();
            for slot in &changeset.slots {
                let key = (slot.hashed_address.0, slot.hashed_slot.0);
                if slot.value.is_zero() {
                    storage.remove(key)?;
                } else {
                    storage.insert(key, slot.value.to_be_bytes::<32>())?;
                }
                slots_by_account
                    .entry(slot.hashed_address)
                    .or_default()
                    .push(slot.hashed_slot);
            }
            let mut storage_nodes = self.txn.open_table(STORAGE_TRIE)?;
            for (account, slots) in slots_by_account {
                trie_tables::update_storage_trie(
                    &mut storage_nodes,
                    &storage,
                    account,
                    &changed_keys(slots),
                )?;
            }
        }
        // The kept nodes follow the state back; landing on the parent's root shows they did.
        let pending = self.changed_accounts.drain(..);
        let restored = changeset
            .accounts
            .iter()
            .map(|a| a.hashed_address)
            .chain(pending);
        let root = self.top.update_root(&self.txn, restored)?;
        let parent: Header = {
            let headers = self.txn.open_table(HEADERS)?;
            let value = headers
                .get(header.parent_hash.0)?
                .ok_or(StoreError::MissingBlock(header.parent_hash))?;
            decode("headers", value.value())?
        };
        if root != parent.state_root {
            return Err(StoreError::corrupt(
                "trie",
                format!(
                    "undoing block {} left state root {root}, not its parent's {}",
                    header.number, parent.state_root
                ),
            ));
        }
        self.txn.open_table(CANONICAL)?.remove(header.number)?;
        self.txn
            .open_table(SIDE_BLOCKS)?
            .insert((header.number, head_hash.0), ())?;
        let mut lookup = self.txn.open_table(TX_LOOKUP)?;
        for tx in &body.transactions {
            lookup.remove(tx.tx_hash().0)?;
        }
        self.txn
            .open_table(META)?
            .insert(META_HEAD, header.parent_hash.as_slice())?;
        self.pending_hot.unwound();
        Ok((header, body))
    }

    /// Records a reorganisation to `tip` that leaves `previous` (`None` when it is over), so
    /// that a node stopped midway finishes it on the next open.
    pub fn set_reorg_target(&mut self, target: Option<(B256, B256)>) -> Result<(), StoreError> {
        let mut meta = self.txn.open_table(META)?;
        match target {
            Some((tip, previous)) => {
                meta.insert(META_REORG, [tip.0, previous.0].concat().as_slice())?;
            }
            None => {
                meta.remove(META_REORG)?;
            }
        }
        Ok(())
    }

    /// Marks this block as genesis and records the spec it came from.
    pub fn set_genesis(&mut self, hash: B256, chain_spec_json: &[u8]) -> Result<(), StoreError> {
        let mut meta = self.txn.open_table(META)?;
        meta.insert(META_GENESIS, hash.as_slice())?;
        meta.insert(META_CHAIN_SPEC, chain_spec_json)?;
        Ok(())
    }

    /// Makes the block durable: after this returns, a crash cannot lose it.
    pub fn commit(self) -> Result<(), StoreError> {
        let logged = self.top.before_commit(&self.txn)?;
        if self.pending_hot.is_empty() {
            // No state changed: snapshots taken before and after agree with the cache.
            let committed = self.txn.commit();
            self.latest.committed();
            self.top.after_commit(committed.is_ok(), logged);
            return Ok(committed?);
        }
        let change = self.hot.change();
        let committed = self.txn.commit();
        self.latest.committed();
        match committed {
            Ok(()) => {
                self.top.after_commit(true, logged);
                self.pending_hot.apply(&change);
                Ok(())
            }
            Err(error) => {
                // Whether any of it reached the file is unknown: trust nothing cached.
                self.top.after_commit(false, logged);
                change.clear();
                Err(error.into())
            }
        }
    }
}
