//! `ankr_` (chain-specific) and `debug_` (raw encodings, as geth and reth serve them).

use crate::errors::{header_not_found, internal};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, U256};
use ankr_chain::child_chains::boundaries_tree;
use ankr_chain::{Chain, ForkEvent};
use ankr_pouw::seal::PouwSeal;
use ankr_types::{Block, Header, SealKind};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemContract {
    pub name: String,
    pub address: Address,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub client_version: String,
    pub chain_name: String,
    pub chain_id: u64,
    pub genesis_hash: B256,
    pub head_number: u64,
    pub head_hash: B256,
    pub pooled_transactions: usize,
}

/// One child chain's boundary in a header's `child_chains_root`, with its proof.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildChainBoundary {
    /// The registry's id; the leaf sits at index id − 1.
    pub id: u64,
    /// "plasma" (a RootChain) or "evm" (an EvmChildChain), as the contract says.
    pub kind: Option<String>,
    pub root_chain: Address,
    /// The latest child block the main chain knew of.
    pub blknum: u64,
    /// Its root hash.
    pub root: B256,
    /// keccak256(abi.encode(id, rootChain, blknum, root)).
    pub leaf: B256,
    /// 16 sibling hashes, leaf level first, against `childChainsRoot`.
    pub proof: Vec<B256>,
}

/// The child-chain boundaries a main-chain header commits to.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChildChains {
    pub block_number: u64,
    pub block_hash: B256,
    pub child_chains_root: B256,
    pub chains: Vec<ChildChainBoundary>,
}

/// A block's seal, decoded: who sealed it and, for useful work, the lottery draw anyone can
/// re-check (the explorer shows it beside the block).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockSeal {
    pub number: u64,
    pub hash: B256,
    /// "dev", "usefulWork" or "operator".
    pub kind: String,
    /// Expected useful-work instructions per block at this block.
    pub difficulty: U256,
    /// The PoUW proof, when the block was sealed by useful work.
    pub useful_work: Option<UsefulWorkSeal>,
    /// Who signed an operator seal (child chains).
    pub operator: Option<Address>,
}

/// One subtask's attested report that won a block, and its draw against the threshold.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsefulWorkSeal {
    pub enclave: Address,
    pub platform_id: B256,
    pub task_id: B256,
    pub subtask: u64,
    /// Instructions the metered run executed: its lottery tickets.
    pub instructions: u64,
    pub result_hash: B256,
    /// keccak of the enclave's signature: uniform in [0, 2^256).
    pub draw: U256,
    /// The draw wins below this: 2^256 × instructions / difficulty, capped.
    pub threshold: U256,
}

/// A fork this node saw (`ankr_recentForks`): a side block, or a reorganisation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForkView {
    /// "sideBlock" or "reorganisation".
    pub kind: String,
    /// The side block's number, or the new head's.
    pub number: u64,
    /// The side block, or the new head.
    pub hash: B256,
    /// The side block's parent, or the head the node left.
    pub from: B256,
    /// Whether the side block's branch outweighed the head.
    pub heavier: bool,
    /// Blocks a reorganisation unwound.
    pub unwound: u64,
    /// When this node saw it (seconds since the epoch).
    pub seen_at: u64,
}

#[rpc(server, client, namespace = "ankr")]
pub trait AnkrRpc {
    /// The forks this node saw most recently (up to 64), oldest first: blocks stored beside
    /// its canonical chain and reorganisations onto another branch.
    #[method(name = "recentForks")]
    fn recent_forks(&self) -> RpcResult<Vec<ForkView>>;
    /// Block `block`'s seal, decoded.
    #[method(name = "getBlockSeal")]
    fn block_seal(&self, block: BlockId) -> RpcResult<BlockSeal>;
    /// Every child chain's boundary that block `block` (default latest) commits to, each with
    /// a Merkle proof against its `childChainsRoot`.
    #[method(name = "childChains", blocking)]
    fn child_chains(&self, block: Option<BlockId>) -> RpcResult<ChildChains>;
    /// The system contracts genesis placed, by name, as consensus code calls them.
    #[method(name = "systemContracts")]
    fn system_contracts(&self) -> RpcResult<Vec<SystemContract>>;
    /// What this node is and where its chain stands.
    #[method(name = "nodeInfo")]
    fn node_info(&self) -> RpcResult<NodeInfo>;
}

pub struct AnkrRpc {
    chain: Arc<Chain>,
}

impl AnkrRpc {
    pub fn new(chain: Arc<Chain>) -> Self {
        Self { chain }
    }
}

impl AnkrRpcServer for AnkrRpc {
    fn recent_forks(&self) -> RpcResult<Vec<ForkView>> {
        Ok(self
            .chain
            .recent_forks()
            .into_iter()
            .map(|event| match event {
                ForkEvent::SideBlock {
                    number,
                    hash,
                    parent_hash,
                    heavier,
                    seen_at,
                } => ForkView {
                    kind: "sideBlock".into(),
                    number,
                    hash,
                    from: parent_hash,
                    heavier,
                    unwound: 0,
                    seen_at,
                },
                ForkEvent::Reorganisation {
                    from,
                    to,
                    number,
                    unwound,
                    seen_at,
                } => ForkView {
                    kind: "reorganisation".into(),
                    number,
                    hash: to,
                    from,
                    heavier: true,
                    unwound: unwound as u64,
                    seen_at,
                },
            })
            .collect())
    }

    fn block_seal(&self, block: BlockId) -> RpcResult<BlockSeal> {
        let header = header_at(&self.chain, block)?;
        let seal = &header.seal;
        let useful_work = match seal.kind {
            SealKind::UsefulWork => {
                let proof = PouwSeal::decode(&seal.proof).map_err(internal)?;
                Some(UsefulWorkSeal {
                    enclave: proof.enclave,
                    platform_id: proof.platform_id,
                    task_id: proof.task_id,
                    subtask: proof.subtask,
                    instructions: proof.instructions,
                    result_hash: proof.result_hash,
                    draw: proof.draw(),
                    threshold: ankr_pouw::lottery::threshold(header.difficulty, proof.instructions),
                })
            }
            _ => None,
        };
        let operator = seal.operator_signer(self.chain.spec().chain_id, header.template_hash());
        Ok(BlockSeal {
            number: header.number,
            hash: header.hash(),
            kind: match seal.kind {
                SealKind::Dev => "dev",
                SealKind::UsefulWork => "usefulWork",
                SealKind::Operator => "operator",
            }
            .to_string(),
            difficulty: header.difficulty,
            useful_work,
            operator,
        })
    }

    fn child_chains(&self, block: Option<BlockId>) -> RpcResult<ChildChains> {
        let header = header_at(&self.chain, block.unwrap_or(BlockId::latest()))?;
        let boundaries = self
            .chain
            .child_chains_of(header.child_chains_root)
            .map_err(internal)?
            .ok_or_else(|| internal("this node does not hold the boundaries of that block"))?;
        let tree = boundaries_tree(&boundaries);
        let state = self
            .chain
            .reader()
            .and_then(|r| r.state_at(header.number))
            .map_err(internal)?;
        let context = ankr_execution::BlockContext::of(&header);
        Ok(ChildChains {
            block_number: header.number,
            block_hash: header.hash(),
            child_chains_root: header.child_chains_root,
            chains: boundaries
                .iter()
                .enumerate()
                .map(|(index, b)| ChildChainBoundary {
                    id: b.id,
                    kind: self.chain.child_chain_kind(&state, &context, b.root_chain),
                    root_chain: b.root_chain,
                    blknum: b.blknum,
                    root: b.root,
                    leaf: b.leaf(),
                    proof: tree.proof(index),
                })
                .collect(),
        })
    }

    fn system_contracts(&self) -> RpcResult<Vec<SystemContract>> {
        Ok(self
            .chain
            .spec()
            .system_contracts
            .iter()
            .map(|(name, address)| SystemContract {
                name: name.clone(),
                address: *address,
            })
            .collect())
    }

    fn node_info(&self) -> RpcResult<NodeInfo> {
        let reader = self.chain.reader().map_err(internal)?;
        let head = self.chain.head();
        Ok(NodeInfo {
            client_version: crate::client_version(),
            chain_name: self.chain.spec().name.clone(),
            chain_id: self.chain.spec().chain_id,
            genesis_hash: reader.genesis_hash().map_err(internal)?.unwrap_or_default(),
            head_number: head.number,
            head_hash: head.hash(),
            pooled_transactions: self.chain.pool_size(),
        })
    }
}

#[rpc(server, client, namespace = "debug")]
pub trait DebugRpc {
    /// rlp(header) of a block, so anyone can re-check its hash and seal.
    #[method(name = "getRawHeader")]
    fn raw_header(&self, block: BlockId) -> RpcResult<Bytes>;
    /// rlp([header, [tx, …]]), the form `ankr_submitBlock` and peers accept.
    #[method(name = "getRawBlock")]
    fn raw_block(&self, block: BlockId) -> RpcResult<Bytes>;
    /// The trie nodes, codes and ancestor headers block `block` touches (reth's layout): what
    /// EXECUTE and any stateless verifier re-execute it from. Costs a scan of its parent's
    /// state.
    #[method(name = "executionWitness", blocking)]
    fn execution_witness(
        &self,
        block: BlockId,
    ) -> RpcResult<ankr_execution::stateless::ExecutionWitness>;
    /// The most recent blocks this node refused on execution although their seal held (geth's
    /// `debug_getBadBlocks`), newest first: what a watcher proves wrong. `debug_getRawBlock`
    /// and `debug_executionWitness` answer for them by hash.
    #[method(name = "getBadBlocks")]
    fn bad_blocks(&self) -> RpcResult<Vec<BadBlockView>>;
}

/// One bad block as `debug_getBadBlocks` shows it (geth's `hash` and `rlp`, and why).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BadBlockView {
    pub hash: B256,
    pub number: alloy_primitives::U64,
    pub rlp: Bytes,
    pub reason: String,
}

pub struct DebugRpc {
    chain: Arc<Chain>,
}

impl DebugRpc {
    pub fn new(chain: Arc<Chain>) -> Self {
        Self { chain }
    }

    fn block(&self, id: BlockId) -> RpcResult<Block> {
        if let BlockId::Hash(hash) = id
            && let Some(bad) = self.chain.bad_block(hash.block_hash)
        {
            return Ok((*bad.block).clone());
        }
        let reader = self.chain.reader().map_err(internal)?;
        let header = header_at(&self.chain, id)?;
        let body = reader
            .body(header.hash())
            .map_err(internal)?
            .unwrap_or_default();
        Ok(Block {
            header,
            transactions: body.transactions,
        })
    }
}

/// The header `id` names: by hash, number, earliest, or the head for any other tag.
fn header_at(chain: &Chain, id: BlockId) -> RpcResult<Header> {
    let reader = chain.reader().map_err(internal)?;
    match id {
        BlockId::Hash(h) => reader.header(h.block_hash).map_err(internal)?,
        BlockId::Number(BlockNumberOrTag::Number(n)) => {
            reader.header_by_number(n).map_err(internal)?
        }
        BlockId::Number(BlockNumberOrTag::Earliest) => {
            reader.header_by_number(0).map_err(internal)?
        }
        BlockId::Number(_) => Some(chain.head()),
    }
    .ok_or_else(header_not_found)
}

impl DebugRpcServer for DebugRpc {
    fn raw_header(&self, block: BlockId) -> RpcResult<Bytes> {
        Ok(alloy_rlp::encode(self.block(block)?.header).into())
    }

    fn raw_block(&self, block: BlockId) -> RpcResult<Bytes> {
        Ok(alloy_rlp::encode(self.block(block)?).into())
    }

    fn execution_witness(
        &self,
        block: BlockId,
    ) -> RpcResult<ankr_execution::stateless::ExecutionWitness> {
        let block = self.block(block)?;
        if block.header.number == 0 {
            return Err(crate::errors::rpc_error(
                crate::errors::codes::SERVER,
                "genesis has no parent to execute from",
            ));
        }
        let reader = self.chain.reader().map_err(internal)?;
        ankr_execution::stateless::make_witness(&reader, self.chain.execution_config(), &block)
            .map_err(internal)
    }

    fn bad_blocks(&self) -> RpcResult<Vec<BadBlockView>> {
        Ok(self
            .chain
            .bad_blocks()
            .into_iter()
            .map(|bad| BadBlockView {
                hash: bad.hash,
                number: alloy_primitives::U64::from(bad.block.header.number),
                rlp: alloy_rlp::encode(&*bad.block).into(),
                reason: bad.reason,
            })
            .collect())
    }
}
