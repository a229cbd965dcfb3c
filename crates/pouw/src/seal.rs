//! The PoUW seal: what a block carries so that anyone can re-check its lottery draw offline.

use crate::{lottery, signing};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// The proof inside `Seal { kind: UsefulWork, proof }`: one subtask's attested report.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct PouwSeal {
    /// The enclave's address (from its key), as registered in `EnclaveRegistry`.
    pub enclave: Address,
    /// The platform the enclave runs on; checked against the registry, it lets validators
    /// count wins per platform without a registry lookup per past block.
    pub platform_id: B256,
    /// The task the subtask belongs to (a WorkMarket task id, or the hash of module and input).
    pub task_id: B256,
    /// Which subtask of the task.
    pub subtask: u64,
    /// Instructions the metered run executed: the number of lottery tickets.
    pub instructions: u64,
    /// Hash of the run's outcome and output.
    pub result_hash: B256,
    /// The enclave's signature over [`signing::seal_digest`]; its hash is the draw.
    pub signature: Bytes,
}

/// Why a seal does not prove its block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("seal is not a well-formed PoUW proof: {0}")]
    Decode(String),
    #[error("seal signature is invalid")]
    BadSignature,
    #[error("seal is signed by {signer}, not by the enclave {enclave} it names")]
    WrongSigner { enclave: Address, signer: Address },
    #[error("seal reports no instructions")]
    NoInstructions,
    #[error("seal claims {claimed} tickets, more than the {max} one subtask may hold")]
    TooManyTickets { claimed: u64, max: u64 },
    #[error(
        "lottery draw {draw} is not below the threshold {threshold} for {instructions} instructions at difficulty {difficulty}"
    )]
    DrawAboveThreshold {
        draw: U256,
        threshold: U256,
        instructions: u64,
        difficulty: U256,
    },
}

impl PouwSeal {
    /// Decodes a proof, insisting it holds exactly one seal.
    pub fn decode(mut proof: &[u8]) -> Result<Self, SealError> {
        let seal = <Self as alloy_rlp::Decodable>::decode(&mut proof)
            .map_err(|e| SealError::Decode(e.to_string()))?;
        if !proof.is_empty() {
            return Err(SealError::Decode("trailing bytes".into()));
        }
        Ok(seal)
    }

    /// The proof bytes for the header's seal.
    pub fn encode(&self) -> Bytes {
        alloy_rlp::encode(self).into()
    }

    /// The lottery draw: keccak of the signature, a uniform 256-bit integer.
    pub fn draw(&self) -> U256 {
        U256::from_be_bytes(keccak256(&self.signature).0)
    }

    /// [`Self::verify`] for a chain whose subtasks hold at most `max_tickets` tickets: a seal
    /// claiming more (2^64 − 1 is an instant win) is refused before its draw is looked at.
    pub fn verify_within(
        &self,
        template_hash: B256,
        difficulty: U256,
        max_tickets: u64,
    ) -> Result<(), SealError> {
        if self.instructions > max_tickets {
            return Err(SealError::TooManyTickets {
                claimed: self.instructions,
                max: max_tickets,
            });
        }
        self.verify(template_hash, difficulty)
    }

    /// Checks the signature and the draw against a template: everything that needs no state.
    /// Whether the enclave is registered and live is the chain's check (it reads the registry).
    pub fn verify(&self, template_hash: B256, difficulty: U256) -> Result<(), SealError> {
        if self.instructions == 0 {
            return Err(SealError::NoInstructions);
        }
        let digest = signing::seal_digest(
            template_hash,
            difficulty,
            self.task_id,
            self.subtask,
            self.instructions,
            self.result_hash,
        );
        let signer = signing::recover(digest, &self.signature).ok_or(SealError::BadSignature)?;
        if signer != self.enclave {
            return Err(SealError::WrongSigner {
                enclave: self.enclave,
                signer,
            });
        }
        let draw = self.draw();
        let threshold = lottery::threshold(difficulty, self.instructions);
        if draw >= threshold {
            return Err(SealError::DrawAboveThreshold {
                draw,
                threshold,
                instructions: self.instructions,
                difficulty,
            });
        }
        Ok(())
    }
}
