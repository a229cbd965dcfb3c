//! `eth_`, `net_` and `web3_`: one file, and one jsonrpsee API trait, per concern; each
//! trait is implemented by the same [`EthRpc`] and merged into the server's module.

mod blocks;
mod fees;
mod logs;
mod net;
mod pubsub;
mod simulate;
mod state;

pub use blocks::EthBlocksApiServer;
pub use fees::EthFeesApiServer;
pub use logs::EthLogsApiServer;
pub use net::{EthNodeApiServer, NetRpc, NetRpcServer, Web3Rpc, Web3RpcServer};
pub use pubsub::EthPubSubApiServer;
pub use simulate::EthSimulateApiServer;
pub use state::EthStateApiServer;
pub(crate) use state::{STATE_HISTORY, Simulation, call_request, state_at};

use crate::{
    block_cache::{BlockCache, CachedBlock},
    convert::{self, RpcBlock},
    errors::{self, codes, header_not_found, internal, invalid_params, rpc_error},
    filters::{FilterKind, Filters},
};
use alloy_consensus::Transaction as _;
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, TxKind, U64, U256};
use alloy_rpc_types_eth::{
    FeeHistory, Filter, FilterBlockOption, Log, Transaction, TransactionReceipt, TransactionRequest,
};
use ankr_chain::{Chain, next_base_fee};
use ankr_execution::{BlockContext, CallOutcome, CallRequest};
use ankr_network::NetworkStatus;
use ankr_storage::{StateReader, StoreReader};
use ankr_types::Header;
use jsonrpsee::{
    PendingSubscriptionSink, core::RpcResult, core::SubscriptionResult, proc_macros::rpc,
};
use std::sync::Arc;

/// Blocks under the head the `safe` tag stays: natural forks between honest miners (two
/// winning draws in the same second, propagation delay) are one or two blocks deep on ankr's
/// networks; six is Bitcoin's customary margin over them.
const SAFE_DEPTH: u64 = 6;

/// The `eth_*` methods over one chain, split by concern into one API trait per file; cheap to
/// clone, so that each trait's module gets its own handle.
#[derive(Clone)]
pub struct EthRpc {
    chain: Arc<Chain>,
    filters: Arc<Filters>,
    blocks: Arc<BlockCache>,
    /// Peers and sync, when the node is on a network.
    network: Option<NetworkStatus>,
}

impl EthRpc {
    pub fn new(chain: Arc<Chain>, filters: Arc<Filters>, network: Option<NetworkStatus>) -> Self {
        Self {
            chain,
            filters,
            blocks: Arc::default(),
            network,
        }
    }

    pub(super) fn cached_block(
        &self,
        reader: &StoreReader,
        hash: B256,
    ) -> RpcResult<Arc<CachedBlock>> {
        self.blocks
            .get(reader, hash)
            .map_err(internal)?
            .ok_or_else(header_not_found)
    }

    pub(super) fn reader(&self) -> RpcResult<StoreReader> {
        self.chain.reader().map_err(internal)
    }
}

pub(crate) fn head_of(reader: &StoreReader) -> RpcResult<Header> {
    reader
        .head()
        .map_err(internal)?
        .ok_or_else(|| internal("no genesis"))
}

/// The block number a tag names, or `None` for a block not yet made.
pub(super) fn number_of(reader: &StoreReader, tag: BlockNumberOrTag) -> RpcResult<Option<u64>> {
    let head = head_of(reader)?.number;
    Ok(match tag {
        BlockNumberOrTag::Earliest => Some(0),
        BlockNumberOrTag::Number(n) => (n <= head).then_some(n),
        BlockNumberOrTag::Safe => Some(head.saturating_sub(SAFE_DEPTH)),
        // The fork choice refuses to reorganise deeper than this: nothing this node accepts
        // can replace these blocks.
        BlockNumberOrTag::Finalized => Some(head.saturating_sub(ankr_chain::MAX_REORG_DEPTH)),
        // As geth since it stopped building pending blocks: the head (state queries that
        // count the pool, like a sender's next nonce, do so themselves).
        BlockNumberOrTag::Latest | BlockNumberOrTag::Pending => Some(head),
    })
}

pub(crate) fn header_of(reader: &StoreReader, id: BlockId) -> RpcResult<Option<Header>> {
    match id {
        BlockId::Hash(hash) => {
            let header = reader.header(hash.block_hash).map_err(internal)?;
            if hash.require_canonical == Some(true)
                && let Some(h) = &header
            {
                let canonical = reader.canonical_hash(h.number).map_err(internal)?;
                if canonical != Some(hash.block_hash) {
                    return Err(invalid_params("block is not canonical"));
                }
            }
            Ok(header)
        }
        BlockId::Number(tag) => match number_of(reader, tag)? {
            Some(n) => reader.header_by_number(n).map_err(internal),
            None => Ok(None),
        },
    }
}

impl EthRpc {
    pub(super) fn block_rpc(
        &self,
        reader: &StoreReader,
        header: Header,
        full: bool,
    ) -> RpcResult<RpcBlock> {
        let hash = header.hash();
        let block = self.cached_block(reader, hash)?;
        let td = reader
            .total_difficulty(hash)
            .map_err(internal)?
            .unwrap_or_default();
        Ok(convert::block(&header, &block.body, td, full))
    }
}
