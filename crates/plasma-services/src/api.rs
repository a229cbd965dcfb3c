//! A child chain's JSON-RPC (`plasma_*`), declared once: the operator serves it
//! (`PlasmaApiServer`), users and watchers call it (`PlasmaApiClient`), so a misspelt
//! method or a parameter of the wrong type is a compile error on either side.

use alloy_primitives::{Address, B256, Bytes, U256};
use ankr_plasma::UtxoPos;
use jsonrpsee::core::RpcResult;
use jsonrpsee::proc_macros::rpc;
use serde::{Deserialize, Serialize};

/// One output as `plasma_getUtxos` lists it (and the client reads it).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Utxo {
    pub blknum: u64,
    pub txindex: u32,
    pub oindex: u8,
    /// blknum·10^9 + txindex·10^4 + oindex: the RootChain's exit id.
    pub position: u64,
    pub owner: Address,
    pub denom: U256,
}

impl Utxo {
    pub fn pos(&self) -> UtxoPos {
        UtxoPos {
            blknum: self.blknum,
            txindex: self.txindex,
            oindex: self.oindex,
        }
    }
}

/// A child block as `plasma_getBlock` serves it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlasmaBlock {
    pub number: u64,
    pub root: B256,
    pub merkle_root: B256,
    pub transactions: Vec<Bytes>,
}

/// What `startExit` and challenges need of a transaction, as `plasma_getProof` serves it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    pub blknum: u64,
    pub txindex: u32,
    pub transaction: Bytes,
    /// 16 sibling hashes, leaf level first (512 bytes): what `startExit` takes.
    pub proof: Bytes,
    pub root: B256,
}

/// The operator's chain at a glance (`plasma_chainInfo`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainInfo {
    pub root_chain: Address,
    pub next_child_block: u64,
    /// The block gossip's address, for watchers to dial.
    pub p2p: String,
    pub pooled: usize,
}

/// A child chain's JSON-RPC (`plasma_*`), served by its operator.
#[rpc(server, client, namespace = "plasma")]
pub trait PlasmaApi {
    /// Takes a signed transaction (RLP) into the next block; returns its hash.
    #[method(name = "sendRawTransaction")]
    fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;
    #[method(name = "getBlock")]
    fn get_block(&self, blknum: u64) -> RpcResult<Option<PlasmaBlock>>;
    #[method(name = "getUtxos")]
    fn get_utxos(&self, owner: Address) -> RpcResult<Vec<Utxo>>;
    #[method(name = "getProof")]
    fn get_proof(&self, blknum: u64, txindex: u32) -> RpcResult<InclusionProof>;
    #[method(name = "getBalance")]
    fn get_balance(&self, owner: Address) -> RpcResult<U256>;
    /// Where an included transaction is: [blknum, txindex], or null while it waits.
    #[method(name = "getTransactionPosition")]
    fn get_transaction_position(&self, hash: B256) -> RpcResult<Option<(u64, u32)>>;
    /// Keeps the confirm signatures (65 bytes per used input) of an included transaction,
    /// each checked against its input's owner, for its recipients and for challengers.
    #[method(name = "confirm")]
    fn confirm(&self, blknum: u64, txindex: u32, signatures: Bytes) -> RpcResult<bool>;
    #[method(name = "getConfirmations")]
    fn get_confirmations(&self, blknum: u64, txindex: u32) -> RpcResult<Option<Bytes>>;
    /// Every confirm signature posted for block `blknum`, as [txindex, signatures] pairs: what
    /// a watcher keeps to challenge anyone's exit of an output spent there.
    #[method(name = "getBlockConfirmations")]
    fn get_block_confirmations(&self, blknum: u64) -> RpcResult<Vec<(u32, Bytes)>>;
    #[method(name = "chainInfo")]
    fn chain_info(&self) -> RpcResult<ChainInfo>;
}
