/// A storage failure. `Corrupt` means bytes on disk no longer decode: never expected, always
/// reported, never silently skipped.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    #[error("cannot create data folder {0}: {1}")]
    Io(String, std::io::Error),
    #[error("corrupt record in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("block {0} is not stored")]
    MissingBlock(alloy_primitives::B256),
    /// State older than the kept history was asked for (an archive node keeps it all).
    #[error(
        "the state of block {block} is pruned: this node keeps state from block {oldest} on \
         (an archive node keeps all)"
    )]
    Pruned { block: u64, oldest: u64 },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self { Self::Db(e.into()) }
        }
    )*};
}
from_redb!(
    redb::StorageError,
    redb::TableError,
    redb::CommitError,
    redb::TransactionError
);

impl StoreError {
    pub(crate) fn corrupt(table: &'static str, reason: impl ToString) -> Self {
        Self::Corrupt {
            table,
            reason: reason.to_string(),
        }
    }
}
