//! A child-chain node: the main chain's node with the operator's seal, and, for the operator,
//! the committer that reports its blocks to the main chain. A follower re-executes every
//! block it receives from the operator and its peers, exactly as a main-chain node does; a
//! watching follower also proves wrong commitments on the main chain ([`crate::watcher`]).

use crate::watcher::{self, Proven, Watcher};
use crate::{bridge, committer};
use alloy_primitives::Address;
use ankr_client::{ClientError, MainChain, Sender};
use ankr_node::{DevSealing, Node, NodeConfig, NodeError, PoolLimits};
use ankr_types::ChainSpec;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A node's link to the main chain: where it is and which manager holds the child chain.
#[derive(Clone, Debug)]
pub struct MainLink {
    pub rpc_url: String,
    pub manager: Address,
    /// The main-chain account that sends: the operator's commitments (it must own the
    /// manager), or a watcher's proofs (any funded account; proofs pay it the stake).
    pub key: secp256k1::SecretKey,
}

/// What a child-chain node does.
#[derive(Clone, Debug)]
pub enum Role {
    /// Makes and signs blocks every `target_block_time_ms` of the spec; commits them to the
    /// main chain when linked to it.
    Operator {
        key: secp256k1::SecretKey,
        main: Option<MainLink>,
    },
    /// Takes blocks from peers (the operator among them) and re-executes each; with `watch`,
    /// also proves every wrong block committed to the linked manager.
    Follower { watch: Option<MainLink> },
}

/// What a child-chain node needs to start.
#[derive(Clone, Debug)]
pub struct ChildConfig {
    pub data_dir: PathBuf,
    pub spec: ChainSpec,
    pub rpc_addr: SocketAddr,
    pub role: Role,
    pub network: Option<ankr_network::NetworkConfig>,
    /// The transaction pool's limits: a child chain's traffic is an operator's to size, as on
    /// the main chain.
    pub pool: PoolLimits,
}

/// Why a child-chain node could not start.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("chain spec {0:?} names no operator: it is not an EVM child chain")]
    NoOperator(String),
    #[error("a follower needs the peer-to-peer network (--p2p and --boot-peer) to hear of blocks")]
    FollowerWithoutNetwork,
    #[error(
        "manager {manager} on the main chain is owned by {owner}, not by the commitment key's {key}"
    )]
    NotManagerOwner {
        manager: Address,
        owner: Address,
        key: Address,
    },
    #[error("manager {manager} is for child chain {manages}, not {ours}")]
    WrongChildChain {
        manager: Address,
        manages: u64,
        ours: u64,
    },
    #[error(
        "manager {0} is not optimistic: an every-block chain executes each block before taking it, so there is nothing to prove"
    )]
    NothingToWatch(Address),
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Main(#[from] ClientError),
}

/// A running child-chain node; [`ChildNode::stop`] stops the committer, then the node.
pub struct ChildNode {
    pub node: Node,
    committer: Option<JoinHandle<()>>,
    /// The operator's bridge relay: anchors and credits deposits.
    relay: Option<JoinHandle<()>>,
    watcher: Option<JoinHandle<()>>,
    /// A watcher's proofs as they land (taken once by whoever reports them).
    proofs: Option<tokio::sync::mpsc::UnboundedReceiver<Proven>>,
    stop: watch::Sender<bool>,
}

impl ChildNode {
    /// Opens the child chain and starts its node (and, for a linked operator, the committer
    /// after checking that the manager is its own and for this chain).
    pub async fn start(config: ChildConfig) -> Result<Self, ChildError> {
        let Some(operator) = config.spec.operator else {
            return Err(ChildError::NoOperator(config.spec.name));
        };
        let (sealing, key, main, watch) = match config.role {
            Role::Operator { key, main } => {
                let every = Duration::from_millis(config.spec.target_block_time_ms);
                (DevSealing::Interval(every), Some(key), main, None)
            }
            Role::Follower { .. } if config.network.is_none() => {
                return Err(ChildError::FollowerWithoutNetwork);
            }
            Role::Follower { watch } => (DevSealing::Off, None, None, watch),
        };
        let sender = match &main {
            Some(link) => Some(linked_sender(link, config.spec.chain_id).await?),
            None => None,
        };
        let prover = match &watch {
            Some(link) => Some(watching_sender(link, config.spec.chain_id).await?),
            None => None,
        };
        let node = Node::start(NodeConfig {
            data_dir: config.data_dir,
            spec: config.spec,
            rpc_addr: config.rpc_addr,
            sealing,
            operator: key,
            // The operator collects its chain's fees.
            beneficiary: operator,
            mining: None,
            network: config.network,
            pool: config.pool,
        })
        .await?;
        let (stop, stopped) = watch::channel(false);
        let (committer, relay) = match (sender, main, key) {
            (Some(sender), Some(link), Some(key)) => {
                // The relay credits deposits from the operator's child account, through the
                // chain's own JSON-RPC like any client.
                let child = Sender::new(MainChain::connect(&node.rpc_url()).await?, key);
                let relay = tokio::spawn(bridge::run_relay(
                    node.chain.clone(),
                    sender.chain().clone(),
                    link.manager,
                    child,
                    stop.subscribe(),
                ));
                let committer = tokio::spawn(committer::run(
                    node.chain.clone(),
                    sender,
                    link.manager,
                    stopped,
                ));
                (Some(committer), Some(relay))
            }
            _ => (None, None),
        };
        let (proofs_in, proofs) = tokio::sync::mpsc::unbounded_channel();
        let watcher = match (prover, watch) {
            (Some(prover), Some(link)) => Some(tokio::spawn(watcher::run(
                Watcher::new(node.chain.clone(), prover, link.manager),
                Some(proofs_in),
                stop.subscribe(),
            ))),
            _ => None,
        };
        Ok(Self {
            node,
            committer,
            relay,
            watcher,
            proofs: Some(proofs),
            stop,
        })
    }

    /// The child chain's JSON-RPC URL.
    pub fn rpc_url(&self) -> String {
        self.node.rpc_url()
    }

    /// A watcher's proofs, as each lands on the main chain (`None` once taken).
    pub fn take_proofs(&mut self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Proven>> {
        self.proofs.take()
    }

    /// Stops committing and watching, then the node. Every committed block is on disk.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in [self.committer, self.relay, self.watcher]
            .into_iter()
            .flatten()
        {
            let _ = task.await;
        }
        self.node.stop().await;
    }
}

/// A sender of proofs to `link`'s manager, once the manager is checked to manage chain
/// `chain_id` and to be optimistic (an every-block chain takes no wrong block to prove).
async fn watching_sender(link: &MainLink, chain_id: u64) -> Result<Sender, ChildError> {
    let main = MainChain::connect(&link.rpc_url).await?;
    let state = crate::manager::state(&main, link.manager).await?;
    if state.child_chain_id != chain_id {
        return Err(ChildError::WrongChildChain {
            manager: link.manager,
            manages: state.child_chain_id,
            ours: chain_id,
        });
    }
    if state.mode != Some(crate::ValidityMode::Optimistic) {
        return Err(ChildError::NothingToWatch(link.manager));
    }
    Ok(Sender::new(main, link.key))
}

/// A sender of commitments to `link`'s manager, once the manager is checked to be owned by
/// the link's key and to manage chain `chain_id`.
async fn linked_sender(link: &MainLink, chain_id: u64) -> Result<Sender, ChildError> {
    let main = MainChain::connect(&link.rpc_url).await?;
    let state = crate::manager::state(&main, link.manager).await?;
    let key = ankr_types::recovery::address_of(&link.key);
    if state.operator != key {
        return Err(ChildError::NotManagerOwner {
            manager: link.manager,
            owner: state.operator,
            key,
        });
    }
    if state.child_chain_id != chain_id {
        return Err(ChildError::WrongChildChain {
            manager: link.manager,
            manages: state.child_chain_id,
            ours: chain_id,
        });
    }
    Ok(Sender::new(main, link.key))
}
