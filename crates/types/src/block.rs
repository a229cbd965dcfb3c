//! A block: header plus Ethereum typed transactions, encoded as RLP `[header, [tx, …]]`.

use crate::Header;
use alloy_consensus::TxEnvelope;
use alloy_primitives::{Address, B256};
use alloy_rlp::{Decodable, RlpDecodable, RlpEncodable};

#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Block {
    pub header: Header,
    pub transactions: Vec<TxEnvelope>,
}

impl Block {
    /// Decodes a block and insists the input holds exactly one, so that junk appended to a valid
    /// block cannot give two byte strings the same meaning.
    pub fn decode_exact(mut bytes: &[u8]) -> alloy_rlp::Result<Self> {
        let block = Self::decode(&mut bytes)?;
        if !bytes.is_empty() {
            return Err(alloy_rlp::Error::Custom("trailing bytes after block"));
        }
        Ok(block)
    }
}

/// A transaction whose sender has been recovered once, so no later stage recovers it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredTx {
    pub tx: TxEnvelope,
    pub sender: Address,
    pub hash: B256,
}

impl RecoveredTx {
    pub fn new(tx: TxEnvelope, sender: Address) -> Self {
        let hash = *tx.tx_hash();
        Self { tx, sender, hash }
    }
}
