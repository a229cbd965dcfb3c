//! A block: header plus Ethereum typed transactions, encoded as RLP `[header, [tx, …]]`.

use crate::Header;
use alloy_consensus::TxEnvelope;
use alloy_primitives::{Address, B256};
use alloy_rlp::{Decodable, Header as RlpHeader, RlpEncodable};

/// A main-chain block as peers and `ankr_submitBlock` exchange it.
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable)]
pub struct Block {
    pub header: Header,
    pub transactions: Vec<TxEnvelope>,
}

impl Decodable for Block {
    /// Each transaction is decoded from exactly the bytes its RLP item spans. alloy's decoder
    /// alone accepts a typed transaction whose string header claims more bytes than the
    /// transaction uses, which would let two encodings stand for one block.
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        let outer = RlpHeader::decode(buf)?;
        if !outer.list {
            return Err(alloy_rlp::Error::UnexpectedString);
        }
        let mut body = buf
            .get(..outer.payload_length)
            .ok_or(alloy_rlp::Error::InputTooShort)?;
        *buf = &buf[outer.payload_length..];
        let header = Header::decode(&mut body)?;
        let list = RlpHeader::decode(&mut body)?;
        if !list.list {
            return Err(alloy_rlp::Error::UnexpectedString);
        }
        let mut items = body
            .get(..list.payload_length)
            .ok_or(alloy_rlp::Error::InputTooShort)?;
        if body.len() != list.payload_length {
            return Err(alloy_rlp::Error::Custom("trailing bytes inside block"));
        }
        let mut transactions = Vec::new();
        while !items.is_empty() {
            let mut peek = items;
            let item = RlpHeader::decode(&mut peek)?;
            let span = items.len() - peek.len() + item.payload_length;
            let mut exact = items.get(..span).ok_or(alloy_rlp::Error::InputTooShort)?;
            transactions.push(TxEnvelope::decode(&mut exact)?);
            if !exact.is_empty() {
                return Err(alloy_rlp::Error::Custom(
                    "transaction shorter than its RLP item",
                ));
            }
            items = &items[span..];
        }
        Ok(Self {
            header,
            transactions,
        })
    }
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
    /// Pairs a transaction with its already recovered sender; the hash is computed once here.
    pub fn new(tx: TxEnvelope, sender: Address) -> Self {
        let hash = *tx.tx_hash();
        Self { tx, sender, hash }
    }
}
