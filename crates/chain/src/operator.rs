//! The operator seal of an EVM child chain (DESIGN §8): the chain's spec names one operator,
//! whose signature of the header template is the whole of its consensus. The main chain, not
//! this seal, is what makes the operator honest: it holds the operator's stake and the
//! commitments to its blocks.

use crate::{Chain, ImportError};
use ankr_types::{Header, SealKind};

impl Chain {
    /// The earliest timestamp a block on `parent` may carry. An operator chain's blocks may
    /// share a second (as Arbitrum's do), so that sub-second blocks never run ahead of the
    /// clock; elsewhere each block is at least a second after its parent, as in Ethereum.
    pub fn earliest_timestamp(&self, parent: &Header) -> u64 {
        match self.spec.operator {
            Some(_) => parent.timestamp,
            None => parent.timestamp + 1,
        }
    }

    /// Whether `header`'s seal kind may seal a block of this chain, and, for an operator seal,
    /// whether the chain's operator signed it. A PoUW seal's proof is checked elsewhere.
    pub(crate) fn check_seal_kind(&self, header: &Header) -> Result<(), ImportError> {
        match (header.seal.kind, self.spec.operator) {
            (SealKind::Dev, _) if !self.spec.allow_dev_seal => Err(ImportError::DevSealNotAllowed),
            (SealKind::Dev, _) => Ok(()),
            (SealKind::UsefulWork, Some(operator)) => {
                Err(ImportError::UsefulWorkOnOperatorChain { operator })
            }
            (SealKind::UsefulWork, None) => Ok(()),
            (SealKind::Operator, None) => Err(ImportError::OperatorSealNotAllowed),
            (SealKind::Operator, Some(expected)) => {
                let got = header
                    .seal
                    .operator_signer(self.spec.chain_id, header.template_hash());
                if got == Some(expected) {
                    Ok(())
                } else {
                    Err(ImportError::WrongOperator { expected, got })
                }
            }
        }
    }
}
