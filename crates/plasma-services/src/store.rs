//! A child chain's own redb file, for its operator and for each watcher: what happened, in
//! order (deposits and exits seen on the root chain, child blocks), replayed into a `Ledger`
//! on start; where the main-chain scan stands; the confirm signatures users posted; and the
//! operator's pool. Every write is one redb transaction, so a crash loses nothing that was
//! committed and never leaves an event without its cursor. Pooled transactions are written
//! without waiting for the disk (a durable commit per transaction would cap the pool at ~100
//! transactions/s); the next block or a clean stop makes them durable, so a restart keeps the
//! pool and a crash loses at most the transactions of the last block interval.

use alloy_primitives::{Address, Bytes, U256};
use ankr_plasma::{ChildBlock, Ledger, PlasmaTx, TxDomain, UtxoPos};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::path::Path;

const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const CONFIRMATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("confirmations");
const CHAIN: TableDefinition<&str, &[u8]> = TableDefinition::new("chain");
const POOL: TableDefinition<u64, &[u8]> = TableDefinition::new("pool");

/// The RootChain whose child chain the file holds.
const ROOT_CHAIN: &str = "root_chain";

/// The next main-chain block to scan for root-chain events.
const MAIN_CURSOR: &str = "main_cursor";

/// Something that changed the child chain, in the order it happened.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Event {
    Deposit {
        blknum: u64,
        owner: Address,
        amount: U256,
    },
    Block {
        number: u64,
        transactions: Vec<Bytes>,
    },
    Exit {
        position: u64,
    },
}

/// Why the child chain's file failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("child-chain store: {0}")]
    Db(String),
    #[error("child-chain store holds an event it cannot replay: {0}")]
    Corrupt(String),
    #[error("this child-chain file belongs to RootChain {file}, not {asked}: use another folder")]
    OtherChain { file: Address, asked: Address },
}

macro_rules! db_err {
    ($($t:ty),*) => {$(impl From<$t> for StoreError {
        fn from(e: $t) -> Self { StoreError::Db(e.to_string()) }
    })*};
}
db_err!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// The redb file of one child chain (an operator's or a watcher's).
pub struct ChildStore {
    db: Database,
}

impl ChildStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(EVENTS)?;
        txn.open_table(META)?;
        txn.open_table(CONFIRMATIONS)?;
        txn.open_table(CHAIN)?;
        txn.open_table(POOL)?;
        txn.commit()?;
        Ok(Self { db })
    }

    /// The RootChain this file was bound to, if any: a watcher restarting while the operator is
    /// unreachable learns from it which chain it guards.
    pub fn root_chain(&self) -> Result<Option<Address>, StoreError> {
        let txn = self.db.begin_read()?;
        Ok(txn
            .open_table(CHAIN)?
            .get(ROOT_CHAIN)?
            .map(|v| Address::from_slice(v.value())))
    }

    /// Binds a new file to `root_chain`, or checks an old one holds that chain: replaying one
    /// chain's events against another's would mix two ledgers.
    pub fn bind(&self, root_chain: Address) -> Result<(), StoreError> {
        match self.root_chain()? {
            Some(file) if file != root_chain => Err(StoreError::OtherChain {
                file,
                asked: root_chain,
            }),
            Some(_) => Ok(()),
            None => {
                let txn = self.db.begin_write()?;
                txn.open_table(CHAIN)?
                    .insert(ROOT_CHAIN, root_chain.as_slice())?;
                txn.commit()?;
                Ok(())
            }
        }
    }

    /// Appends `events` and moves the main-chain cursor to `cursor`, atomically.
    pub fn append(&self, events: &[Event], cursor: Option<u64>) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        write_events(&txn, events)?;
        if let Some(cursor) = cursor {
            txn.open_table(META)?.insert(MAIN_CURSOR, cursor)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Keeps a transaction the operator took into its pool (made durable by the next block or
    /// [`ChildStore::flush`]).
    pub fn pool_put(&self, raw: &[u8]) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(redb::Durability::None)?;
        {
            let mut table = txn.open_table(POOL)?;
            let next = table.last()?.map(|(k, _)| k.value() + 1).unwrap_or(0);
            table.insert(next, raw)?;
        }
        txn.commit()?;
        Ok(())
    }

    /// The pooled transactions, in the order they came.
    pub fn pool(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read()?;
        txn.open_table(POOL)?
            .iter()?
            .map(|entry| Ok(entry?.1.value().to_vec()))
            .collect()
    }

    /// Appends a block made from the pool and empties the pool, atomically: what was pooled is
    /// now in the block, or was dropped (its input began to exit).
    pub fn seal(&self, block: &Event) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        write_events(&txn, std::slice::from_ref(block))?;
        txn.open_table(POOL)?.retain(|_, _| false)?;
        txn.commit()?;
        Ok(())
    }

    /// Makes every earlier write durable (a stop calls it).
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.begin_write()?.commit()?;
        Ok(())
    }

    pub fn main_cursor(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        Ok(txn
            .open_table(META)?
            .get(MAIN_CURSOR)?
            .map(|v| v.value())
            .unwrap_or(0))
    }

    /// Rebuilds the ledger of the chain of `domain` (fee outputs to `operator`) from every
    /// event.
    pub fn replay(&self, domain: TxDomain, operator: Address) -> Result<Ledger, StoreError> {
        let mut ledger = Ledger::new(domain, operator);
        let txn = self.db.begin_read()?;
        for entry in txn.open_table(EVENTS)?.iter()? {
            let (_, bytes) = entry?;
            let event: Event = serde_json::from_slice(bytes.value())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            apply(&mut ledger, event).map_err(StoreError::Corrupt)?;
        }
        Ok(ledger)
    }

    pub fn put_confirmation(
        &self,
        blknum: u64,
        txindex: u32,
        signatures: &[u8],
    ) -> Result<(), StoreError> {
        self.put_confirmations(blknum, &[(txindex, signatures.to_vec())])
    }

    /// Keeps confirm signatures of several of block `blknum`'s transactions in one commit.
    pub fn put_confirmations(
        &self,
        blknum: u64,
        signatures: &[(u32, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(CONFIRMATIONS)?;
            for (txindex, signatures) in signatures {
                table.insert(tx_key(blknum, *txindex), signatures.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The confirm signatures kept for block `blknum`'s transactions, by transaction index.
    pub fn block_confirmations(&self, blknum: u64) -> Result<Vec<(u32, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CONFIRMATIONS)?;
        table
            .range(tx_key(blknum, 0)..tx_key(blknum + 1, 0))?
            .map(|entry| {
                let (key, value) = entry?;
                Ok((UtxoPos::decode(key.value()).txindex, value.value().to_vec()))
            })
            .collect()
    }

    pub fn confirmation(&self, blknum: u64, txindex: u32) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read()?;
        Ok(txn
            .open_table(CONFIRMATIONS)?
            .get(tx_key(blknum, txindex))?
            .map(|v| v.value().to_vec()))
    }
}

/// Appends `events` after the last one, inside `txn`.
fn write_events(txn: &redb::WriteTransaction, events: &[Event]) -> Result<(), StoreError> {
    let mut table = txn.open_table(EVENTS)?;
    let first = table.last()?.map(|(k, _)| k.value() + 1).unwrap_or(0);
    for (seq, event) in (first..).zip(events) {
        let bytes = serde_json::to_vec(event).map_err(|e| StoreError::Db(e.to_string()))?;
        table.insert(seq, bytes.as_slice())?;
    }
    Ok(())
}

fn tx_key(blknum: u64, txindex: u32) -> u64 {
    ankr_plasma::utxo_position(blknum, txindex, 0)
}

/// Applies one event to a ledger (a child block is checked as a watcher would).
pub fn apply(ledger: &mut Ledger, event: Event) -> Result<Option<ChildBlock>, String> {
    match event {
        Event::Deposit {
            blknum,
            owner,
            amount,
        } => ledger
            .deposit(blknum, owner, amount)
            .map(|b| Some(b.clone()))
            .map_err(|e| e.to_string()),
        Event::Block {
            number,
            transactions,
        } => {
            let txs = transactions
                .iter()
                .map(|raw| PlasmaTx::decode(raw).map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            ledger
                .apply_block(number, txs)
                .map(|b| Some(b.clone()))
                .map_err(|e| e.to_string())
        }
        Event::Exit { position } => {
            ledger.mark_exiting(UtxoPos::decode(position));
            Ok(None)
        }
    }
}

/// A block as an event: its transactions' encodings.
pub fn block_event(block: &ChildBlock) -> Event {
    Event::Block {
        number: block.number,
        transactions: block
            .transactions
            .iter()
            .map(|tx| tx.encode().into())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_stays_bound_to_its_root_chain_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("child-chain.redb");
        let (ours, theirs) = (Address::repeat_byte(1), Address::repeat_byte(2));
        {
            let store = ChildStore::open(&path).unwrap();
            assert_eq!(store.root_chain().unwrap(), None);
            store.bind(ours).unwrap();
            store.append(&[], Some(7)).unwrap();
        }
        let store = ChildStore::open(&path).unwrap();
        assert_eq!(store.root_chain().unwrap(), Some(ours));
        store.bind(ours).unwrap();
        assert!(matches!(
            store.bind(theirs),
            Err(StoreError::OtherChain { file, asked }) if file == ours && asked == theirs
        ));
        assert_eq!(store.main_cursor().unwrap(), 7);
    }

    #[test]
    fn the_pool_survives_a_reopen_until_a_block_takes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("child-chain.redb");
        {
            let store = ChildStore::open(&path).unwrap();
            store.pool_put(b"first").unwrap();
            store.pool_put(b"second").unwrap();
            store.flush().unwrap();
        }
        let store = ChildStore::open(&path).unwrap();
        assert_eq!(
            store.pool().unwrap(),
            vec![b"first".to_vec(), b"second".to_vec()]
        );
        let block = Event::Block {
            number: 1000,
            transactions: Vec::new(),
        };
        store.seal(&block).unwrap();
        assert!(store.pool().unwrap().is_empty());
        store.pool_put(b"third").unwrap();
        assert_eq!(store.pool().unwrap(), vec![b"third".to_vec()]);
        let replayed = store.replay(TxDomain::default(), Address::ZERO).unwrap();
        assert_eq!(replayed.next_child_block(), 2000);
    }
}
