//! A main-chain node: the chain, its JSON-RPC server and its block sealer, started and stopped
//! together. Library crates know nothing of processes; this is where they meet.

pub use ankr_txpool::PoolLimits;
pub mod devnet;
pub mod history;
pub mod miner;
#[cfg(feature = "test-utils")]
pub mod test_utils;

use alloy_primitives::Address;
use ankr_chain::{Chain, ChainError, Contents, Sealer, now_seconds};
use ankr_rpc::RpcServer;
use ankr_types::ChainSpec;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::{sync::watch, task::JoinHandle};

/// How this node makes blocks until Proof of Useful Work seals them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevSealing {
    /// A block as soon as a transaction arrives (like anvil's automine).
    Instant,
    /// A block every interval, empty or not.
    Interval(Duration),
    /// No blocks: the node only imports and serves.
    Off,
}

/// What a node needs to start: where its data lives, its chain, its RPC address and how it seals.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub data_dir: PathBuf,
    pub spec: ChainSpec,
    pub rpc_addr: SocketAddr,
    pub sealing: DevSealing,
    /// Seal blocks on the `sealing` schedule as this EVM child chain's operator (its spec
    /// names the key's address) instead of with the dev seal.
    pub operator: Option<secp256k1::SecretKey>,
    /// Who receives the block reward and tips of blocks this node seals.
    pub beneficiary: Address,
    /// Mine by Proof of Useful Work with this enclave and account.
    pub mining: Option<miner::MinerConfig>,
    /// Join the peer-to-peer network.
    pub network: Option<ankr_network::NetworkConfig>,
    /// The transaction pool's limits (geth's by default).
    pub pool: PoolLimits,
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("cannot serve JSON-RPC on {addr}: {source}")]
    Rpc {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the dev sealer is not allowed by this chain spec (allow_dev_seal = false)")]
    DevSealNotAllowed,
    #[error("the operator key is {key}'s, but this chain spec's operator is {spec:?}")]
    NotTheOperator { key: Address, spec: Option<Address> },
    #[error("this chain is sealed by its operator {0}: it cannot be mined")]
    MiningOnOperatorChain(Address),
    #[error(transparent)]
    Network(#[from] ankr_network::NetworkError),
}

/// A running node; [`Node::stop`] shuts it down in order.
pub struct Node {
    pub chain: Arc<Chain>,
    rpc: RpcServer,
    sealer: Option<JoinHandle<()>>,
    miner: Option<JoinHandle<()>>,
    /// The peer-to-peer network, when the node joined one.
    pub network: Option<ankr_network::Network>,
    shutdown: watch::Sender<bool>,
}

impl Node {
    /// Opens the chain (writing genesis or resuming), serves RPC, then starts sealing.
    pub async fn start(config: NodeConfig) -> Result<Self, NodeError> {
        let sealer = match config.operator {
            Some(key) => {
                let address = ankr_types::recovery::address_of(&key);
                if config.spec.operator != Some(address) {
                    return Err(NodeError::NotTheOperator {
                        key: address,
                        spec: config.spec.operator,
                    });
                }
                Sealer::Operator(key)
            }
            None if config.sealing != DevSealing::Off && !config.spec.allow_dev_seal => {
                return Err(NodeError::DevSealNotAllowed);
            }
            None => Sealer::Dev,
        };
        if let (Some(operator), Some(_)) = (config.spec.operator, &config.mining) {
            return Err(NodeError::MiningOnOperatorChain(operator));
        }
        let dir = config.data_dir.clone();
        let spec = config.spec.clone();
        let limits = config.pool.clone();
        let chain = tokio::task::spawn_blocking(move || Chain::open_with_pool(&dir, spec, &limits))
            .await
            .expect("opening the chain does not panic")?;
        let chain = Arc::new(chain);
        let head = chain.head();
        tracing::info!(number = head.number, hash = %head.hash(), chain_id = config.spec.chain_id, "chain opened");
        let network = match config.network {
            Some(network) => Some(ankr_network::Network::start(chain.clone(), network).await?),
            None => None,
        };
        let stats = config.mining.as_ref().map(|m| m.stats.clone());
        let status = network.as_ref().map(|n| n.status());
        let rpc = ankr_rpc::start(chain.clone(), config.rpc_addr, stats, status)
            .await
            .map_err(|source| NodeError::Rpc {
                addr: config.rpc_addr,
                source,
            })?;
        let (shutdown, stopped) = watch::channel(false);
        if config.sealing != DevSealing::Off && matches!(sealer, Sealer::Dev) {
            tracing::warn!("sealing with the dev sealer (no proof of work): for development only");
        }
        let sealer = match config.sealing {
            DevSealing::Off => None,
            sealing => Some(tokio::spawn(seal_blocks(
                chain.clone(),
                sealing,
                sealer,
                config.beneficiary,
                stopped,
            ))),
        };
        let miner = config
            .mining
            .map(|mining| tokio::spawn(miner::run(chain.clone(), mining, shutdown.subscribe())));
        Ok(Self {
            chain,
            rpc,
            sealer,
            miner,
            network,
            shutdown,
        })
    }

    /// Where JSON-RPC answers (the port is real even if 0 was asked for).
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc.local_addr
    }

    /// The HTTP URL of the RPC server, for clients and tests.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc.local_addr)
    }

    /// Stops sealing and mining, then RPC. Every committed block is already on disk.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        if let Some(sealer) = self.sealer {
            let _ = sealer.await;
        }
        if let Some(miner) = self.miner {
            let _ = miner.await;
        }
        if let Some(network) = self.network {
            network.stop().await;
        }
        self.rpc.stop().await;
    }
}

/// Seals one block; `true` if a block was made.
async fn seal_one(
    chain: &Arc<Chain>,
    sealer: &Sealer,
    beneficiary: Address,
    contents: Contents,
) -> bool {
    let chain = chain.clone();
    let sealer = sealer.clone();
    let built = tokio::task::spawn_blocking(move || {
        chain.build_block(beneficiary, now_seconds(), &sealer, contents)
    })
    .await;
    match built {
        Ok(Ok(made)) => made.is_some(),
        Ok(Err(error)) => {
            tracing::error!(%error, "sealer could not build a block");
            false
        }
        Err(panic) => {
            tracing::error!(%panic, "sealer panicked");
            false
        }
    }
}

/// Builds blocks on the `sealing` schedule: the dev sealer's, or an EVM child chain operator's.
async fn seal_blocks(
    chain: Arc<Chain>,
    sealing: DevSealing,
    sealer: Sealer,
    beneficiary: Address,
    mut stopped: watch::Receiver<bool>,
) {
    match sealing {
        DevSealing::Instant => loop {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = chain.transaction_arrived() => {}
            }
            // Batch what arrives together into one block, then keep going while work remains.
            tokio::time::sleep(Duration::from_millis(5)).await;
            while chain.pool_size() > 0
                && seal_one(&chain, &sealer, beneficiary, Contents::NonEmpty).await
            {}
        },
        DevSealing::Interval(every) => {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    _ = ticks.tick() => {
                        seal_one(&chain, &sealer, beneficiary, Contents::AnyNumber).await;
                    }
                }
            }
        }
        DevSealing::Off => {}
    }
}
