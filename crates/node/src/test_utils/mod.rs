//! What tests of every crate above the node share (feature `test-utils`): the devnet's funded
//! accounts by index, a dev node driven only through its JSON-RPC as a wallet would, and the
//! PoUW fixtures ([`pouw`]).

pub mod pouw;

use crate::{DevSealing, Node, NodeConfig, devnet};
use alloy_primitives::{Address, Bytes, U256, hex};
use ankr_client::{MainChain, Sender};
use ankr_types::ChainSpec;
use jsonrpsee::core::{client::ClientT, params::ArrayParams};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use std::time::Duration;

/// One ANKR in wei.
pub const ANKR: u128 = 1_000_000_000_000_000_000;

/// The secret key of devnet account `who`.
pub fn key(who: usize) -> secp256k1::SecretKey {
    devnet::accounts()[who].secret
}

pub fn address(who: usize) -> Address {
    devnet::accounts()[who].address
}

pub fn ankr(amount: u128) -> U256 {
    U256::from(amount)
}

/// A node on loopback in a fresh folder, sealing with `sealing` and mining with `mining` if
/// given, and a JSON-RPC client of it.
pub async fn start_node(
    spec: ChainSpec,
    sealing: DevSealing,
    mining: Option<crate::miner::MinerConfig>,
) -> (tempfile::TempDir, Node, HttpClient) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NodeConfig {
        operator: None,
        data_dir: dir.path().to_path_buf(),
        spec,
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        sealing,
        beneficiary: Address::repeat_byte(0xbe),
        mining,
        network: None,
        pool: Default::default(),
    })
    .await
    .unwrap();
    let client = HttpClientBuilder::default().build(node.rpc_url()).unwrap();
    (dir, node, client)
}

/// A WebSocket JSON-RPC client of `node` (subscriptions need one; the node serves both on one
/// port).
pub async fn websocket(node: &Node) -> jsonrpsee::ws_client::WsClient {
    jsonrpsee::ws_client::WsClientBuilder::default()
        .build(format!("ws://{}", node.rpc_addr()))
        .await
        .unwrap()
}

/// A dev node on loopback with its own folder, and JSON-RPC clients of it.
pub struct DevChain {
    _dir: tempfile::TempDir,
    pub node: Node,
    client: HttpClient,
    main: MainChain,
}

impl DevChain {
    pub async fn start(spec: ChainSpec, sealing: DevSealing) -> Self {
        let (dir, node, client) = start_node(spec, sealing, None).await;
        let main = MainChain::connect(&node.rpc_url()).await.unwrap();
        Self {
            _dir: dir,
            node,
            client,
            main,
        }
    }

    /// The node's folder, for what a test keeps beside it (a relay's state file).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// A JSON-RPC request with positional `params`; the error as text (it carries revert
    /// reasons).
    pub async fn rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let mut array = ArrayParams::new();
        for p in params.as_array().unwrap() {
            array.insert(p).unwrap();
        }
        self.client
            .request::<Value, _>(method, array)
            .await
            .map_err(|e| e.to_string())
    }

    /// Signs a transaction from account `from` (nonce after its pending ones) and pools it;
    /// returns its hash.
    pub async fn pool(
        &self,
        from: usize,
        to: Option<Address>,
        data: Vec<u8>,
        value: U256,
        gas_limit: u64,
    ) -> String {
        let sent = Sender::new(self.main.clone(), key(from))
            .send(to, data, value, gas_limit)
            .await
            .unwrap();
        sent.hash.to_string()
    }

    /// The receipt of `hash`, waiting up to 5 s for a block to hold it.
    pub async fn receipt(&self, hash: &str) -> Value {
        for _ in 0..500 {
            let receipt = self
                .rpc("eth_getTransactionReceipt", json!([hash]))
                .await
                .unwrap();
            if !receipt.is_null() {
                return receipt;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no receipt for {hash}");
    }

    /// `eth_call` from account `from`: the output, or the error (with the revert reason).
    pub async fn call(
        &self,
        from: usize,
        to: Address,
        data: Vec<u8>,
        value: U256,
    ) -> Result<Bytes, String> {
        let answer = self
            .rpc(
                "eth_call",
                json!([{ "from": address(from), "to": to, "data": Bytes::from(data), "value": value, "gas": "0x1000000" }, "latest"]),
            )
            .await?;
        Ok(hex::decode(answer.as_str().unwrap()).unwrap().into())
    }
}
