//! JSON-RPC: the `eth_`, `net_` and `web3_` methods that Ethereum tools use unmodified, plus
//! `ankr_` and `debug_` methods, over HTTP and WebSocket on one port (jsonrpsee).
//!
//! Errors use Ethereum's codes and geth's messages, because tools match on them: -32602 for bad
//! parameters, 3 with the revert data for a reverted call, -32000 for a refused transaction
//! (`nonce too low`, `insufficient funds …`, `replacement transaction underpriced`, …).

mod ankr;
mod block_cache;
mod convert;
mod errors;
mod eth;
pub mod explorer;
mod filters;
pub mod metrics;
mod otterscan;
mod overrides;
mod pouw;
mod trace;
mod txpool;
mod unsubscribe;

use ankr_chain::Chain;
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use std::net::SocketAddr;
use std::sync::Arc;

pub use errors::{codes, rpc_error};

/// The `ankr_*` APIs, declared once: the node serves them, clients call them through the
/// generated `*Client` traits (implemented for every jsonrpsee client) and their types.
pub mod api {
    pub use crate::ankr::{
        AnkrRpcClient, BadBlockView, BlockSeal, ChildChainBoundary, ChildChains, DebugRpcClient,
        ForkView, NodeInfo, SystemContract, UsefulWorkSeal,
    };
    pub use crate::pouw::{BlockTemplate, EnclaveInfo, LocalMining, PouwRpcClient, PouwStatus};
}

/// Most calls one JSON-RPC batch may hold.
pub const MAX_BATCH: u32 = 1000;

/// The largest response, in bytes: a wide `eth_getLogs` answers megabytes (24,000 token
/// transfers' logs are ~12 MB), above jsonrpsee's 10 MB default.
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

/// What the node identifies itself as (`web3_clientVersion`).
pub fn client_version() -> String {
    format!(
        "ankr/v{}/{}-{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

/// A running RPC server. Dropping the handle does not stop it; call [`RpcServer::stop`].
pub struct RpcServer {
    pub local_addr: SocketAddr,
    handle: ServerHandle,
}

impl RpcServer {
    /// Stops accepting requests and waits for the server to wind down.
    pub async fn stop(self) {
        let _ = self.handle.stop();
        self.handle.stopped().await;
    }
}

/// Subscription ids as geth and anvil give them: a hex string of 16 random-looking bytes.
/// jsonrpsee's default is a JSON number, which viem ignores (it registers string ids only)
/// and web3.py's `AsyncWeb3` cannot take.
#[derive(Debug)]
struct HexIdProvider {
    seed: [u8; 32],
    next: std::sync::atomic::AtomicU64,
}

impl Default for HexIdProvider {
    fn default() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let seed = alloy_primitives::keccak256(
            [
                now.as_nanos().to_be_bytes().as_slice(),
                &std::process::id().to_be_bytes(),
            ]
            .concat(),
        );
        Self {
            seed: seed.0,
            next: Default::default(),
        }
    }
}

impl jsonrpsee::core::traits::IdProvider for HexIdProvider {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = alloy_primitives::keccak256([self.seed.as_slice(), &n.to_be_bytes()].concat());
        jsonrpsee::types::SubscriptionId::Str(
            format!("0x{}", alloy_primitives::hex::encode(&id[..16])).into(),
        )
    }
}

/// Methods that need a key the node would hold. An ankr node holds none (anvil's unlocked
/// accounts are a development convenience a real node must not offer): each answers why,
/// instead of "method not found".
const SIGNING_METHODS: [&str; 8] = [
    "eth_sendTransaction",
    "eth_sign",
    "eth_signTransaction",
    "eth_signTypedData",
    "eth_signTypedData_v3",
    "eth_signTypedData_v4",
    "personal_sign",
    "personal_sendTransaction",
];

const NO_KEYS: &str = "unknown account: this node holds no keys; sign locally (a wallet or \
     the tool's local account) and send with eth_sendRawTransaction";

/// Serves the chain's RPC on `addr` (HTTP and WebSocket).
pub async fn start(
    chain: Arc<Chain>,
    addr: SocketAddr,
    mining: Option<Arc<ankr_pouw::stats::MiningStats>>,
    network: Option<ankr_network::NetworkStatus>,
) -> std::io::Result<RpcServer> {
    let config = ServerConfig::builder()
        .max_request_body_size(16 * 1024 * 1024)
        .max_response_body_size(MAX_RESPONSE as u32)
        .max_connections(256)
        // geth's default: bounds the work one request can queue.
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
        .set_id_provider(HexIdProvider::default())
        .build();
    let source = metrics::MetricsSource {
        chain: chain.clone(),
        mining: mining.clone(),
        network: network.clone(),
    };
    let pages = ankr_prometheus::HttpPagesLayer::metrics(Arc::new(move || source.render()))
        .with_pages(explorer::PATH, explorer::asset);
    let server = Server::builder()
        .set_config(config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(pages))
        .set_rpc_middleware(
            jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new().layer_fn(|service| {
                unsubscribe::UnsubscribeAfterAccept {
                    service,
                    max_response: MAX_RESPONSE,
                }
            }),
        )
        .build(addr)
        .await?;
    let local_addr = server.local_addr()?;
    let mut module = jsonrpsee::RpcModule::new(());
    let filters = Arc::new(filters::Filters::default());
    let eth = eth::EthRpc::new(chain.clone(), filters, network.clone());
    for api in [
        eth::EthNodeApiServer::into_rpc(eth.clone()),
        eth::EthBlocksApiServer::into_rpc(eth.clone()),
        eth::EthStateApiServer::into_rpc(eth.clone()),
        eth::EthSimulateApiServer::into_rpc(eth.clone()),
        eth::EthFeesApiServer::into_rpc(eth.clone()),
        eth::EthLogsApiServer::into_rpc(eth.clone()),
        eth::EthPubSubApiServer::into_rpc(eth),
    ] {
        module.merge(api).expect("method names are unique");
    }
    module
        .merge(eth::NetRpcServer::into_rpc(eth::NetRpc::new(
            chain.clone(),
            network,
        )))
        .expect("unique");
    module
        .merge(eth::Web3RpcServer::into_rpc(eth::Web3Rpc))
        .expect("unique");
    module
        .merge(ankr::AnkrRpcServer::into_rpc(ankr::AnkrRpc::new(
            chain.clone(),
        )))
        .expect("unique");
    module
        .merge(pouw::PouwRpcServer::into_rpc(pouw::PouwRpc::new(
            chain.clone(),
            mining,
        )))
        .expect("unique");
    module
        .merge(ankr::DebugRpcServer::into_rpc(ankr::DebugRpc::new(
            chain.clone(),
        )))
        .expect("unique");
    module
        .merge(trace::DebugTraceApiServer::into_rpc(trace::TraceRpc::new(
            chain.clone(),
        )))
        .expect("unique");
    module
        .merge(otterscan::OtterscanApiServer::into_rpc(
            otterscan::OtterscanRpc::new(chain.clone()),
        ))
        .expect("unique");
    module
        .merge(trace::ParityTraceApiServer::into_rpc(trace::TraceRpc::new(
            chain.clone(),
        )))
        .expect("unique");
    module
        .merge(txpool::TxpoolRpcServer::into_rpc(txpool::TxpoolRpc::new(
            chain,
        )))
        .expect("unique");
    for method in SIGNING_METHODS {
        module
            .register_method(
                method,
                |_, _, _| -> Result<(), jsonrpsee::types::ErrorObjectOwned> {
                    Err(errors::rpc_error(errors::codes::SERVER, NO_KEYS))
                },
            )
            .expect("unique");
    }
    let handle = server.start(module);
    tracing::info!(%local_addr, "JSON-RPC listening (HTTP and WebSocket)");
    Ok(RpcServer { local_addr, handle })
}
