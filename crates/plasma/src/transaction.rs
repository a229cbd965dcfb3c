//! The child-chain transaction exactly as the whitepaper lays it out:
//! `[blknum1, txindex1, oindex1, sig1, blknum2, txindex2, oindex2, sig2, newowner1, denom1,
//! newowner2, denom2, fee]`, RLP. Numbers are RLP integers, signatures 65 bytes r ‖ s ‖ v
//! (v ∈ {27, 28}; 65 zero bytes when absent), owners 20 bytes.
//!
//! Each signature signs all the other fields, in its chain's domain: keccak256(domain ‖
//! keccak256 of the RLP list of the eleven fields without the two signatures)
//! ([`PlasmaTx::signing_hash`]), by the owner of its input. The domain ([`TxDomain`]: the main
//! chain's id and the RootChain's address) is ours, not the whitepaper's: without it a signed
//! transaction replayed on another child chain where the same position and amount exist
//! (audit L-3). A deposit zeroes both inputs and the second output; spending one UTXO zeroes
//! the second input. A confirm signature signs keccak256(tx hash ‖ block root hash).

use alloy_primitives::{Address, B256, Signature, U256, keccak256};
use alloy_rlp::{Decodable, Encodable, Header};

/// Where a transaction's signatures count: one child chain, named by the main chain's id and
/// its RootChain's address (`RootChain.txDomain()`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TxDomain(pub B256);

impl TxDomain {
    /// keccak256(abi.encode(keccak256("ankr.plasma.transaction.v1"), chainId, rootChain)).
    pub fn new(chain_id: u64, root_chain: Address) -> Self {
        let mut encoded = [0u8; 96];
        encoded[..32].copy_from_slice(keccak256("ankr.plasma.transaction.v1").as_slice());
        encoded[32..64].copy_from_slice(&U256::from(chain_id).to_be_bytes::<32>());
        encoded[76..96].copy_from_slice(root_chain.as_slice());
        Self(keccak256(encoded))
    }
}

/// A signature slot: 65 bytes, all zero when the input is unused.
pub type RawSignature = [u8; 65];

/// One input: the output `oindex` of transaction `txindex` in child block `blknum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Input {
    pub blknum: u64,
    pub txindex: u32,
    pub oindex: u8,
    pub signature: RawSignature,
}

impl Default for Input {
    fn default() -> Self {
        Self {
            blknum: 0,
            txindex: 0,
            oindex: 0,
            signature: [0; 65],
        }
    }
}

impl Input {
    /// Whether every field is zero (an unused input, or a deposit's).
    pub fn is_empty(&self) -> bool {
        self.blknum == 0 && self.txindex == 0 && self.oindex == 0
    }

    /// The output this input spends.
    pub fn utxo(&self) -> crate::ledger::UtxoPos {
        crate::ledger::UtxoPos {
            blknum: self.blknum,
            txindex: self.txindex,
            oindex: self.oindex,
        }
    }

    /// The UTXO position Plasma MVP uses: blknum·10^9 + txindex·10^4 + oindex.
    pub fn position(&self) -> u64 {
        utxo_position(self.blknum, self.txindex, self.oindex)
    }
}

/// blknum·10^9 + txindex·10^4 + oindex: a UTXO's position, and its exit priority.
pub fn utxo_position(blknum: u64, txindex: u32, oindex: u8) -> u64 {
    blknum * 1_000_000_000 + u64::from(txindex) * 10_000 + u64::from(oindex)
}

/// One output: `denom` wei of ANKR to `owner`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub owner: Address,
    pub denom: U256,
}

/// A child-chain transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlasmaTx {
    pub inputs: [Input; 2],
    pub outputs: [Output; 2],
    pub fee: U256,
}

/// Why bytes are not a transaction, or a transaction breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("malformed RLP: {0}")]
    Rlp(String),
    #[error("a transaction is a list of 13 fields, this one has {0}")]
    FieldCount(usize),
    #[error("field {0} does not fit its type")]
    FieldRange(&'static str),
    #[error("outputs ({outputs}) + fee ({fee}) do not equal inputs ({inputs})")]
    Unbalanced {
        inputs: U256,
        outputs: U256,
        fee: U256,
    },
    #[error("input {0} is not signed by the owner of the output it spends")]
    BadSignature(usize),
    #[error("the second input is used but the first is empty")]
    SecondInputAlone,
    #[error("both inputs spend the same output")]
    SameInputTwice,
}

impl From<alloy_rlp::Error> for TxError {
    fn from(error: alloy_rlp::Error) -> Self {
        TxError::Rlp(error.to_string())
    }
}

impl PlasmaTx {
    /// A deposit of `denom` to `owner`: inputs and the second output zero.
    pub fn deposit(owner: Address, denom: U256) -> Self {
        Self {
            outputs: [Output { owner, denom }, Output::default()],
            ..Default::default()
        }
    }

    /// An unsigned transaction spending `inputs` (at most two) to `outputs` (at most two, the
    /// rest zero); each input is then signed by its owner with [`PlasmaTx::sign_input`].
    pub fn spending(inputs: &[crate::ledger::UtxoPos], outputs: &[Output], fee: U256) -> Self {
        assert!(
            inputs.len() <= 2 && outputs.len() <= 2,
            "a transaction has two inputs and two outputs"
        );
        let mut tx = Self {
            fee,
            ..Default::default()
        };
        for (slot, pos) in tx.inputs.iter_mut().zip(inputs) {
            *slot = Input {
                blknum: pos.blknum,
                txindex: pos.txindex,
                oindex: pos.oindex,
                ..Default::default()
            };
        }
        for (slot, output) in tx.outputs.iter_mut().zip(outputs) {
            *slot = *output;
        }
        tx
    }

    /// Whether this is a deposit (no inputs, no second output, no fee).
    pub fn is_deposit(&self) -> bool {
        self.inputs.iter().all(Input::is_empty)
            && self.outputs[1] == Output::default()
            && self.fee.is_zero()
    }

    fn fields_without_signatures(&self, out: &mut Vec<u8>) {
        let [a, b] = &self.inputs;
        let [x, y] = &self.outputs;
        let items: [&dyn Encodable; 11] = [
            &a.blknum, &a.txindex, &a.oindex, &b.blknum, &b.txindex, &b.oindex, &x.owner, &x.denom,
            &y.owner, &y.denom, &self.fee,
        ];
        encode_list(&items, out);
    }

    /// What each input's owner signs: the other eleven fields, in `domain`.
    pub fn signing_hash(&self, domain: TxDomain) -> B256 {
        let mut out = Vec::new();
        self.fields_without_signatures(&mut out);
        keccak256([domain.0.as_slice(), keccak256(out).as_slice()].concat())
    }

    /// The whole transaction, signatures included: what a block stores and a leaf hashes.
    pub fn encode(&self) -> Vec<u8> {
        let [a, b] = &self.inputs;
        let [x, y] = &self.outputs;
        let (sig1, sig2) = (&a.signature[..], &b.signature[..]);
        let items: [&dyn Encodable; 13] = [
            &a.blknum, &a.txindex, &a.oindex, &sig1, &b.blknum, &b.txindex, &b.oindex, &sig2,
            &x.owner, &x.denom, &y.owner, &y.denom, &self.fee,
        ];
        let mut out = Vec::new();
        encode_list(&items, &mut out);
        out
    }

    /// keccak256 of [`PlasmaTx::encode`]: the Merkle leaf and what confirm signatures name.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// Decodes exactly one transaction (no trailing bytes).
    pub fn decode(mut bytes: &[u8]) -> Result<Self, TxError> {
        let header = Header::decode(&mut bytes)?;
        if !header.list {
            return Err(TxError::Rlp("expected a list".into()));
        }
        if header.payload_length != bytes.len() {
            return Err(TxError::Rlp("length does not match the list header".into()));
        }
        let mut fields = 0;
        let mut next = |buf: &mut &[u8]| -> Result<(), TxError> {
            fields += 1;
            if buf.is_empty() {
                return Err(TxError::FieldCount(fields - 1));
            }
            Ok(())
        };
        let mut input = |buf: &mut &[u8]| -> Result<Input, TxError> {
            next(buf)?;
            let blknum = u64::decode(buf)?;
            next(buf)?;
            let txindex = u32::decode(buf)?;
            next(buf)?;
            let oindex = u8::decode(buf)?;
            next(buf)?;
            let signature: RawSignature = alloy_rlp::Bytes::decode(buf)?
                .as_ref()
                .try_into()
                .map_err(|_| TxError::FieldRange("signature (65 bytes)"))?;
            Ok(Input {
                blknum,
                txindex,
                oindex,
                signature,
            })
        };
        let buf = &mut bytes;
        let first = input(buf)?;
        let second = input(buf)?;
        let output = |buf: &mut &[u8]| -> Result<Output, TxError> {
            let owner = Address::decode(buf)?;
            let denom = U256::decode(buf)?;
            Ok(Output { owner, denom })
        };
        let x = output(buf)?;
        let y = output(buf)?;
        let fee = U256::decode(buf)?;
        if !buf.is_empty() {
            return Err(TxError::FieldCount(14));
        }
        Ok(Self {
            inputs: [first, second],
            outputs: [x, y],
            fee,
        })
    }

    /// Signs input `index` with the key of the output it spends, for the chain of `domain`.
    pub fn sign_input(&mut self, index: usize, key: &secp256k1::SecretKey, domain: TxDomain) {
        let hash = self.signing_hash(domain);
        self.inputs[index].signature = raw(&ankr_types::recovery::sign_hash(key, hash));
    }

    /// Checks the form and the money: inputs in order and distinct, each used input signed by
    /// `owners[i]` in `domain`, and outputs + fee = the denominations of the outputs spent
    /// (`spent`).
    pub fn check(
        &self,
        owners: [Option<Address>; 2],
        spent: [U256; 2],
        domain: TxDomain,
    ) -> Result<(), TxError> {
        if self.inputs[0].is_empty() && !self.inputs[1].is_empty() {
            return Err(TxError::SecondInputAlone);
        }
        if !self.inputs[1].is_empty() && self.inputs[0].position() == self.inputs[1].position() {
            return Err(TxError::SameInputTwice);
        }
        let hash = self.signing_hash(domain);
        for (i, input) in self.inputs.iter().enumerate() {
            if input.is_empty() {
                continue;
            }
            let signer = recover(hash, &input.signature);
            if signer.is_none() || signer != owners[i] {
                return Err(TxError::BadSignature(i));
            }
        }
        let inputs = spent[0]
            .checked_add(spent[1])
            .ok_or(TxError::FieldRange("input sum"))?;
        let outputs = self.outputs[0]
            .denom
            .checked_add(self.outputs[1].denom)
            .ok_or(TxError::FieldRange("output sum"))?;
        if outputs.checked_add(self.fee) != Some(inputs) {
            return Err(TxError::Unbalanced {
                inputs,
                outputs,
                fee: self.fee,
            });
        }
        Ok(())
    }
}

fn encode_list(items: &[&dyn Encodable], out: &mut Vec<u8>) {
    let payload_length = items.iter().map(|i| i.length()).sum();
    Header {
        list: true,
        payload_length,
    }
    .encode(out);
    for item in items {
        item.encode(out);
    }
}

/// r ‖ s ‖ v with v ∈ {27, 28}.
fn raw(signature: &Signature) -> RawSignature {
    signature.as_bytes()
}

/// The signer of `hash`, or `None` for a zero, malformed or high-s signature.
pub fn recover(hash: B256, signature: &RawSignature) -> Option<Address> {
    if signature.iter().all(|b| *b == 0) {
        return None;
    }
    let parity = match signature[64] {
        27 => false,
        28 => true,
        _ => return None,
    };
    let signature = Signature::new(
        U256::from_be_slice(&signature[..32]),
        U256::from_be_slice(&signature[32..64]),
        parity,
    );
    ankr_types::recovery::recover_address(hash, &signature).ok()
}

/// What a confirm signature signs: keccak256(tx hash ‖ block root hash).
pub fn confirmation_hash(tx_hash: B256, block_root: B256) -> B256 {
    keccak256([tx_hash.as_slice(), block_root.as_slice()].concat())
}

/// Why confirm signatures were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmError {
    #[error("{expected} confirm signatures expected (one per input)")]
    Count { expected: usize },
    #[error("a confirm signature is not by its input's owner")]
    NotOwner,
}

impl PlasmaTx {
    /// Checks the confirm signatures of this transaction, included in the block with root hash
    /// `block_root`: 65 bytes per used input, in input order, each by the owner its input's
    /// own signature names (the transaction is in a block, so that signature was checked). What
    /// an operator takes and a watcher keeps must pass, or a challenge with it would fail.
    pub fn check_confirmations(
        &self,
        block_root: B256,
        signatures: &[u8],
        domain: TxDomain,
    ) -> Result<(), ConfirmError> {
        let signing_hash = self.signing_hash(domain);
        let owners: Vec<Option<Address>> = self
            .inputs
            .iter()
            .filter(|i| !i.is_empty())
            .map(|i| recover(signing_hash, &i.signature))
            .collect();
        if signatures.len() != 65 * owners.len() {
            return Err(ConfirmError::Count {
                expected: owners.len(),
            });
        }
        let digest = confirmation_hash(self.hash(), block_root);
        for (chunk, owner) in signatures.chunks(65).zip(&owners) {
            let signature: RawSignature = chunk.try_into().expect("65-byte chunks");
            if owner.is_none() || recover(digest, &signature) != *owner {
                return Err(ConfirmError::NotOwner);
            }
        }
        Ok(())
    }
}

/// A confirm signature by a spender's key.
pub fn confirm(key: &secp256k1::SecretKey, tx_hash: B256, block_root: B256) -> RawSignature {
    raw(&ankr_types::recovery::sign_hash(
        key,
        confirmation_hash(tx_hash, block_root),
    ))
}
