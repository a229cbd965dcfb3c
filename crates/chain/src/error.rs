use alloy_primitives::B256;
use ankr_execution::{ExecutionError, GenesisError};
use ankr_storage::StoreError;
use ankr_txpool::PoolError;
use ankr_types::{ChainSpecError, RecoveryError};

/// A failure of the chain itself (storage, genesis, execution), as opposed to bad input.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    #[error(transparent)]
    Spec(#[from] ChainSpecError),
    #[error(transparent)]
    Execution(#[from] ExecutionError),
    #[error("cannot finish the reorganisation a crash interrupted: {0}")]
    Interrupted(Box<ImportError>),
    #[error("cannot read the child chains' boundaries: {0}")]
    ChildChains(String),
}

/// Why a transaction was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("invalid transaction encoding: {0}")]
    Decode(String),
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Blob(crate::BlobError),
}

impl From<StoreError> for SubmitError {
    fn from(e: StoreError) -> Self {
        Self::Chain(e.into())
    }
}

/// Why a block was rejected: each variant is one consensus rule.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("block is not well-formed RLP: {0}")]
    Decode(String),
    #[error("block {0} is already known")]
    AlreadyKnown(B256),
    #[error("unknown parent {0}")]
    UnknownParent(B256),
    #[error("block {0} descends from a block found invalid")]
    InvalidAncestor(B256),
    #[error(
        "block forks {depth} blocks below the head, deeper than the {max} a reorganisation may undo"
    )]
    ForkTooDeep { depth: u64, max: u64 },
    #[error("branch block {block} is invalid, the chain stays on its head: {source}")]
    InvalidBranch {
        block: B256,
        source: Box<ImportError>,
    },
    #[error("block number {got} does not follow parent {parent}")]
    WrongNumber { parent: u64, got: u64 },
    #[error("timestamp {got} is not after the parent's {parent}")]
    TimestampNotAfterParent { parent: u64, got: u64 },
    #[error("timestamp {got} is more than {allowed}s ahead of local time {now}")]
    TimestampInFuture { got: u64, now: u64, allowed: u64 },
    #[error("gas limit {got} differs from the chain's {expected}")]
    WrongGasLimit { expected: u64, got: u64 },
    #[error("base fee {got} differs from the expected {expected}")]
    WrongBaseFee { expected: u64, got: u64 },
    #[error("difficulty {got} differs from the expected {expected}")]
    WrongDifficulty {
        expected: alloy_primitives::U256,
        got: alloy_primitives::U256,
    },
    #[error("extra data is {0} bytes, at most 32 allowed")]
    ExtraDataTooLong(usize),
    #[error("dev seal is not allowed on this chain")]
    DevSealNotAllowed,
    #[error("transaction {index}: {source}")]
    BadSignature { index: usize, source: RecoveryError },
    #[error("transactions root {got} differs from the computed {expected}")]
    WrongTransactionsRoot { expected: B256, got: B256 },
    #[error("gas used {got} differs from the computed {expected}")]
    WrongGasUsed { expected: u64, got: u64 },
    #[error("receipts root {got} differs from the computed {expected}")]
    WrongReceiptsRoot { expected: B256, got: B256 },
    #[error("logs bloom differs from the computed one")]
    WrongLogsBloom,
    #[error("state root {got} differs from the computed {expected}")]
    WrongStateRoot { expected: B256, got: B256 },
    #[error("child chains root {got} differs from the expected {expected}")]
    WrongChildChainsRoot { expected: B256, got: B256 },
    #[error("invalid PoUW seal: {0}")]
    BadSeal(#[from] ankr_pouw::SealError),
    #[error(
        "enclave {enclave} is not live in EnclaveRegistry (registration expires at block {expires_at}, or it was never registered or was replaced)"
    )]
    EnclaveNotLive {
        enclave: alloy_primitives::Address,
        expires_at: u64,
    },
    #[error("seal names platform {sealed} but the enclave is registered on {registered}")]
    WrongPlatform { sealed: B256, registered: B256 },
    #[error("refused by the compromised-enclave defences: {0}")]
    Defence(#[from] ankr_pouw::defences::DefenceError),
    #[error("this chain has no EnclaveRegistry system contract, so no PoUW seal can be checked")]
    NoEnclaveRegistry,
    #[error("EnclaveRegistry system call failed: {0}")]
    Registry(String),
    #[error("ChildChainRegistry system call failed: {0}")]
    ChildChainRegistry(String),
    #[error(transparent)]
    Execution(#[from] ExecutionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    #[error(transparent)]
    Spec(#[from] ChainSpecError),
}

impl ImportError {
    /// A chain failure met while checking a block.
    pub(crate) fn from_chain(error: ChainError) -> Self {
        match error {
            ChainError::Store(e) => Self::Store(e),
            ChainError::Execution(e) => Self::Execution(e),
            ChainError::Genesis(e) => Self::Genesis(e),
            ChainError::Spec(e) => Self::Spec(e),
            ChainError::Interrupted(e) => *e,
            ChainError::ChildChains(e) => Self::ChildChainRegistry(e),
        }
    }
}
