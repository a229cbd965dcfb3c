//! What a block import's outcome means for the peer that sent the block, in one place for
//! gossip and sync alike.

use alloy_primitives::B256;
use ankr_chain::ImportError;

/// How the network treats the sender of a block it tried to import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockVerdict {
    /// Imported, or known already: pass it on.
    Taken,
    /// Its parent is not known here yet: ask the sender for the blocks before it.
    MissingParent,
    /// It breaks a consensus rule: held against the sender.
    Invalid,
    /// This node failed (storage, a system call): not passed on, and held against nobody, so
    /// that a local fault cannot get honest peers banned.
    LocalFailure,
}

/// The verdict on an import's `result`.
pub fn verdict(result: &Result<B256, ImportError>) -> BlockVerdict {
    match result {
        Ok(_) | Err(ImportError::AlreadyKnown(_)) => BlockVerdict::Taken,
        Err(ImportError::UnknownParent(_)) => BlockVerdict::MissingParent,
        Err(error) if error.is_peer_fault() => BlockVerdict::Invalid,
        Err(_) => BlockVerdict::LocalFailure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ankr_chain::ChainError;
    use ankr_storage::StoreError;

    fn disk_full() -> ImportError {
        ImportError::Internal(ChainError::Store(StoreError::Db(redb::Error::Io(
            std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device"),
        ))))
    }

    #[test]
    fn a_store_failure_is_held_against_nobody() {
        assert_eq!(verdict(&Err(disk_full())), BlockVerdict::LocalFailure);
        // Also when it struck in the middle of a reorganisation onto the peer's branch.
        let in_branch = ImportError::InvalidBranch {
            block: B256::ZERO,
            source: Box::new(disk_full()),
        };
        assert_eq!(verdict(&Err(in_branch)), BlockVerdict::LocalFailure);
    }

    #[test]
    fn a_broken_rule_is_the_senders_fault() {
        let wrong_root = ImportError::WrongStateRoot {
            expected: B256::ZERO,
            got: B256::repeat_byte(1),
        };
        assert_eq!(verdict(&Err(wrong_root)), BlockVerdict::Invalid);
        assert_eq!(
            verdict(&Err(ImportError::UnknownParent(B256::ZERO))),
            BlockVerdict::MissingParent
        );
        assert_eq!(
            verdict(&Err(ImportError::AlreadyKnown(B256::ZERO))),
            BlockVerdict::Taken
        );
    }
}
