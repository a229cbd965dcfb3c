//! Identity and network: the chain id, whether the node is syncing, and the `net_` and `web3_` namespaces.

use super::*;
use alloy_rpc_types_eth::{SyncInfo, SyncStatus};

#[rpc(server, namespace = "eth")]
pub trait EthNodeApi {
    #[method(name = "chainId")]
    fn chain_id(&self) -> RpcResult<U64>;
    #[method(name = "syncing")]
    fn syncing(&self) -> RpcResult<SyncStatus>;
    #[method(name = "accounts")]
    fn accounts(&self) -> RpcResult<Vec<Address>>;
}

impl EthNodeApiServer for EthRpc {
    fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.chain.spec().chain_id))
    }

    /// `false`, or geth's object while a peer claims blocks well beyond the head.
    fn syncing(&self) -> RpcResult<SyncStatus> {
        let head = self.chain.head().number;
        Ok(match self.network.as_ref().and_then(|n| n.syncing(head)) {
            None => SyncStatus::None,
            Some(sync) => SyncStatus::Info(Box::new(SyncInfo {
                starting_block: U256::from(sync.starting),
                current_block: U256::from(sync.current),
                highest_block: U256::from(sync.highest),
                ..Default::default()
            })),
        })
    }

    /// The node holds no keys: wallets sign, the node verifies.
    fn accounts(&self) -> RpcResult<Vec<Address>> {
        Ok(vec![])
    }
}

#[rpc(server, namespace = "net")]
pub trait NetRpc {
    #[method(name = "version")]
    fn version(&self) -> RpcResult<String>;
    #[method(name = "listening")]
    fn listening(&self) -> RpcResult<bool>;
    #[method(name = "peerCount")]
    fn peer_count(&self) -> RpcResult<U64>;
}

pub struct NetRpc {
    chain: Arc<Chain>,
    /// Peers and sync, when the node is on a network.
    network: Option<NetworkStatus>,
}

impl NetRpc {
    pub fn new(chain: Arc<Chain>, network: Option<NetworkStatus>) -> Self {
        Self { chain, network }
    }
}

impl NetRpcServer for NetRpc {
    fn version(&self) -> RpcResult<String> {
        Ok(self.chain.spec().chain_id.to_string())
    }
    fn listening(&self) -> RpcResult<bool> {
        Ok(true)
    }
    fn peer_count(&self) -> RpcResult<U64> {
        let peers = self.network.as_ref().map_or(0, |n| n.peer_count());
        Ok(U64::from(peers))
    }
}

#[rpc(server, namespace = "web3")]
pub trait Web3Rpc {
    #[method(name = "clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    #[method(name = "sha3")]
    fn sha3(&self, data: Bytes) -> RpcResult<B256>;
}

pub struct Web3Rpc;

impl Web3RpcServer for Web3Rpc {
    fn client_version(&self) -> RpcResult<String> {
        Ok(crate::client_version())
    }
    fn sha3(&self, data: Bytes) -> RpcResult<B256> {
        Ok(alloy_primitives::keccak256(data))
    }
}
