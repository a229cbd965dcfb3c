use alloy_primitives::B256;
use ankr_execution::{CallError, ExecutionError, GenesisError};
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
    /// A consensus rule's call into a system contract failed. The call runs on the parent's
    /// state, which this node already accepted, so the failure is this node's (or its
    /// genesis's), never the block's.
    #[error("{contract} system call failed: {source}")]
    SystemCall {
        contract: &'static str,
        source: SystemCallError,
    },
}

/// How a system call failed.
#[derive(Debug, thiserror::Error)]
pub enum SystemCallError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error("its answer does not decode: {0}")]
    Decode(#[from] alloy_sol_types::Error),
}

impl ChainError {
    /// A failed system call into `contract`.
    pub fn system_call(contract: &'static str) -> impl FnOnce(SystemCallError) -> Self {
        move |source| Self::SystemCall { contract, source }
    }
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

/// Why a block was not imported, and whose fault that is ([`ImportError::is_peer_fault`]):
/// the block's (a broken consensus rule — each such variant is one rule), nobody's (already
/// known, parent not known yet), or this node's own ([`ImportError::Internal`]: its storage or
/// a system call failed), which must never count against the peer that sent the block.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("block is not well-formed RLP: {0}")]
    Decode(alloy_rlp::Error),
    #[error("block {0} is already known")]
    AlreadyKnown(B256),
    #[error("unknown parent {0}")]
    UnknownParent(B256),
    #[error("block {0} descends from a block found invalid")]
    InvalidAncestor(B256),
    /// A child chain's block built on one the main chain reverted: refused, but no fault of
    /// the peer (the operator keeps building until it has seen the reversal, and gossips).
    #[error("block {0} descends from a block the main chain reverted")]
    RevertedAncestor(B256),
    #[error(
        "block forks {depth} blocks below the head, deeper than the {max} a reorganisation may undo"
    )]
    ForkTooDeep { depth: u64, max: u64 },
    #[error("branch block {block} is invalid, the chain stays on its head: {source}")]
    InvalidBranch {
        block: B256,
        source: Box<ImportError>,
    },
    /// A rule that follows from the parent header alone (shared with EXECUTE).
    #[error(transparent)]
    HeaderRule(#[from] ankr_types::HeaderRuleError),
    #[error("timestamp {got} is more than {allowed}s ahead of local time {now}")]
    TimestampInFuture { got: u64, now: u64, allowed: u64 },
    #[error("dev seal is not allowed on this chain")]
    DevSealNotAllowed,
    #[error("this chain is sealed by its operator {operator}, never by useful work")]
    UsefulWorkOnOperatorChain { operator: alloy_primitives::Address },
    #[error("operator seal on a chain that has no operator (its spec names none)")]
    OperatorSealNotAllowed,
    #[error("operator seal is signed by {got:?}, not by the chain's operator {expected}")]
    WrongOperator {
        expected: alloy_primitives::Address,
        got: Option<alloy_primitives::Address>,
    },
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
    /// A transaction of the block cannot run (bad nonce, no funds, over the block's gas).
    #[error(transparent)]
    Execution(ExecutionError),
    /// This node failed while checking the block: no fault of the block or of its sender.
    #[error("this node failed while importing a block: {0}")]
    Internal(ChainError),
}

impl ImportError {
    /// Whether the peer that sent the block is to blame: it broke a consensus rule. Not for
    /// a block already known or whose parent is not known yet, and never for this node's own
    /// failures, so that a full disk cannot get honest peers banned.
    pub fn is_peer_fault(&self) -> bool {
        match self {
            Self::AlreadyKnown(_)
            | Self::UnknownParent(_)
            | Self::RevertedAncestor(_)
            | Self::Internal(_) => false,
            Self::InvalidBranch { source, .. } => source.is_peer_fault(),
            _ => true,
        }
    }
}

impl From<ChainError> for ImportError {
    fn from(error: ChainError) -> Self {
        match error {
            ChainError::Interrupted(error) => *error,
            ChainError::Execution(error) => error.into(),
            other => Self::Internal(other),
        }
    }
}

impl From<ExecutionError> for ImportError {
    /// A transaction that cannot run breaks a rule; a state read that fails is this node's.
    fn from(error: ExecutionError) -> Self {
        match error {
            ExecutionError::State(_) => Self::Internal(ChainError::Execution(error)),
            invalid => Self::Execution(invalid),
        }
    }
}

impl From<StoreError> for ImportError {
    fn from(error: StoreError) -> Self {
        Self::Internal(ChainError::Store(error))
    }
}
