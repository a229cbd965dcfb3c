//! The block header and its seal.

use alloy_primitives::{Address, B256, Bloom, Bytes, U256, keccak256};
use alloy_rlp::{BufMut, Decodable, Encodable, Header as RlpHeader, RlpDecodable, RlpEncodable};

/// How a block was sealed. The byte is part of consensus encoding, so values never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SealKind {
    /// Sealed by the local node without proof of work: for contract development only, like
    /// anvil's automine. Nodes accept it only on chains whose spec allows it.
    Dev = 0,
    /// Sealed by Proof of Useful Work: the proof is an encoded PoUW seal (DESIGN §4).
    UsefulWork = 1,
    /// Signed by the operator (sequencer) of an EVM child chain (DESIGN §8): the proof is its
    /// 65-byte signature of [`operator_seal_digest`]. Valid only on chains whose spec names
    /// that operator.
    Operator = 2,
}

impl SealKind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Dev),
            1 => Some(Self::UsefulWork),
            2 => Some(Self::Operator),
            _ => None,
        }
    }
}

/// The proof that a block may extend the chain. Kept opaque here (kind + proof bytes) so that the
/// consensus crate owns the meaning of a proof and the header encoding never changes with it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Seal {
    pub kind: SealKind,
    pub proof: Bytes,
}

impl Seal {
    /// The seal of a block made by the dev sealer.
    pub fn dev() -> Self {
        Self {
            kind: SealKind::Dev,
            proof: Bytes::new(),
        }
    }

    /// The operator's seal of a header whose template hash is `template_hash` on `chain_id`.
    pub fn operator(secret: &secp256k1::SecretKey, chain_id: u64, template_hash: B256) -> Self {
        let signature =
            crate::recovery::sign_hash(secret, operator_seal_digest(chain_id, template_hash));
        Self {
            kind: SealKind::Operator,
            proof: Bytes::from(signature.as_bytes().to_vec()),
        }
    }

    /// Who signed an operator seal of `template_hash` on `chain_id`; `None` when the proof is
    /// not a valid 65-byte signature. The caller compares the signer with the spec's operator.
    pub fn operator_signer(&self, chain_id: u64, template_hash: B256) -> Option<Address> {
        if self.kind != SealKind::Operator {
            return None;
        }
        let signature = alloy_primitives::Signature::try_from(self.proof.as_ref()).ok()?;
        crate::recovery::recover_address(operator_seal_digest(chain_id, template_hash), &signature)
            .ok()
    }

    fn payload_length(&self) -> usize {
        (self.kind as u8).length() + self.proof.length()
    }
}

impl Encodable for Seal {
    fn encode(&self, out: &mut dyn BufMut) {
        RlpHeader {
            list: true,
            payload_length: self.payload_length(),
        }
        .encode(out);
        (self.kind as u8).encode(out);
        self.proof.encode(out);
    }
    fn length(&self) -> usize {
        let payload = self.payload_length();
        payload + alloy_rlp::length_of_length(payload)
    }
}

impl Decodable for Seal {
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        let header = RlpHeader::decode(buf)?;
        if !header.list {
            return Err(alloy_rlp::Error::UnexpectedString);
        }
        let started = buf.len();
        let kind = SealKind::from_byte(u8::decode(buf)?)
            .ok_or(alloy_rlp::Error::Custom("unknown seal kind"))?;
        let proof = Bytes::decode(buf)?;
        if started - buf.len() != header.payload_length {
            return Err(alloy_rlp::Error::ListLengthMismatch {
                expected: header.payload_length,
                got: started - buf.len(),
            });
        }
        Ok(Self { kind, proof })
    }
}

/// What an operator signs: a domain tag, the chain id and the template, so that a signature
/// for one chain or purpose never serves another.
pub fn operator_seal_digest(chain_id: u64, template_hash: B256) -> B256 {
    let mut preimage = Vec::with_capacity(96);
    preimage.extend_from_slice(keccak256("ankr.operator.seal.v1").as_slice());
    preimage.extend_from_slice(&U256::from(chain_id).to_be_bytes::<32>());
    preimage.extend_from_slice(template_hash.as_slice());
    keccak256(preimage)
}

/// A main-chain block header: Ethereum's fields (without ommers, mix hash and nonce, which have
/// no meaning here) plus `difficulty`, `child_chains_root` and the `seal`.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Header {
    pub parent_hash: B256,
    pub beneficiary: Address,
    pub state_root: B256,
    pub transactions_root: B256,
    pub receipts_root: B256,
    pub logs_bloom: Bloom,
    /// Expected number of useful-work instructions needed to seal a block (DESIGN §4.6).
    pub difficulty: U256,
    pub number: u64,
    pub gas_limit: u64,
    pub gas_used: u64,
    pub timestamp: u64,
    pub extra_data: Bytes,
    pub base_fee_per_gas: u64,
    /// Commitment to every child chain's latest boundary (DESIGN §5).
    pub child_chains_root: B256,
    pub seal: Seal,
}

/// The header without its seal: what a miner binds its work to.
#[derive(RlpEncodable)]
struct Template<'a> {
    parent_hash: &'a B256,
    beneficiary: &'a Address,
    state_root: &'a B256,
    transactions_root: &'a B256,
    receipts_root: &'a B256,
    logs_bloom: &'a Bloom,
    difficulty: &'a U256,
    number: u64,
    gas_limit: u64,
    gas_used: u64,
    timestamp: u64,
    extra_data: &'a Bytes,
    base_fee_per_gas: u64,
    child_chains_root: &'a B256,
}

impl Header {
    /// keccak(rlp(header)): the block's identity.
    pub fn hash(&self) -> B256 {
        keccak256(alloy_rlp::encode(self))
    }

    /// keccak(rlp(header without seal)): what the seal commits to, so sealing cannot change it.
    pub fn template_hash(&self) -> B256 {
        keccak256(alloy_rlp::encode(Template {
            parent_hash: &self.parent_hash,
            beneficiary: &self.beneficiary,
            state_root: &self.state_root,
            transactions_root: &self.transactions_root,
            receipts_root: &self.receipts_root,
            logs_bloom: &self.logs_bloom,
            difficulty: &self.difficulty,
            number: self.number,
            gas_limit: self.gas_limit,
            gas_used: self.gas_used,
            timestamp: self.timestamp,
            extra_data: &self.extra_data,
            base_fee_per_gas: self.base_fee_per_gas,
            child_chains_root: &self.child_chains_root,
        }))
    }

    /// Decodes a header and insists the input holds exactly one.
    pub fn decode_exact(mut bytes: &[u8]) -> alloy_rlp::Result<Self> {
        let header = Self::decode(&mut bytes)?;
        if !bytes.is_empty() {
            return Err(alloy_rlp::Error::Custom("trailing bytes after header"));
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            parent_hash: B256::repeat_byte(1),
            beneficiary: Address::repeat_byte(2),
            state_root: B256::repeat_byte(3),
            transactions_root: B256::repeat_byte(4),
            receipts_root: B256::repeat_byte(5),
            logs_bloom: Bloom::repeat_byte(6),
            difficulty: U256::from(1_000_000u64),
            number: 7,
            gas_limit: 30_000_000,
            gas_used: 21_000,
            timestamp: 1_700_000_000,
            extra_data: Bytes::from_static(b"ankr"),
            base_fee_per_gas: 1_000_000_000,
            child_chains_root: B256::repeat_byte(8),
            seal: Seal::dev(),
        }
    }

    #[test]
    fn header_round_trips_through_rlp() {
        let header = sample();
        let encoded = alloy_rlp::encode(&header);
        assert_eq!(Header::decode_exact(&encoded).unwrap(), header);
    }

    #[test]
    fn template_hash_ignores_the_seal_but_block_hash_does_not() {
        let a = sample();
        let mut b = sample();
        b.seal = Seal {
            kind: SealKind::UsefulWork,
            proof: Bytes::from_static(&[9; 40]),
        };
        assert_eq!(a.template_hash(), b.template_hash());
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn unknown_seal_kind_and_trailing_bytes_are_rejected() {
        let mut encoded = alloy_rlp::encode(sample());
        encoded.push(0);
        assert!(Header::decode_exact(&encoded).is_err());
        let bad_seal = [0xc2, 0x07, 0x80];
        assert!(Seal::decode(&mut &bad_seal[..]).is_err());
    }
}
