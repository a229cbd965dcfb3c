//! A child-chain node: the main chain's node with the operator's seal, and, for the operator,
//! the committer that reports its blocks to the main chain. A follower re-executes every
//! block it receives from the operator and its peers, exactly as a main-chain node does.

use crate::committer;
use alloy_primitives::Address;
use ankr_client::{ClientError, MainChain, Sender};
use ankr_node::{DevSealing, Node, NodeConfig, NodeError};
use ankr_types::ChainSpec;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The operator's link to the main chain: where it is and which manager commits its blocks.
#[derive(Clone, Debug)]
pub struct MainLink {
    pub rpc_url: String,
    pub manager: Address,
    /// The main-chain account that sends commitments (the manager's owner).
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
    /// Takes blocks from peers (the operator among them) and re-executes each.
    Follower,
}

/// What a child-chain node needs to start.
#[derive(Clone, Debug)]
pub struct ChildConfig {
    pub data_dir: PathBuf,
    pub spec: ChainSpec,
    pub rpc_addr: SocketAddr,
    pub role: Role,
    pub network: Option<ankr_network::NetworkConfig>,
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
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Main(#[from] ClientError),
}

/// A running child-chain node; [`ChildNode::stop`] stops the committer, then the node.
pub struct ChildNode {
    pub node: Node,
    committer: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl ChildNode {
    /// Opens the child chain and starts its node (and, for a linked operator, the committer
    /// after checking that the manager is its own and for this chain).
    pub async fn start(config: ChildConfig) -> Result<Self, ChildError> {
        let Some(operator) = config.spec.operator else {
            return Err(ChildError::NoOperator(config.spec.name));
        };
        let (sealing, key, main) = match config.role {
            Role::Operator { key, main } => {
                let every = Duration::from_millis(config.spec.target_block_time_ms);
                (DevSealing::Interval(every), Some(key), main)
            }
            Role::Follower if config.network.is_none() => {
                return Err(ChildError::FollowerWithoutNetwork);
            }
            Role::Follower => (DevSealing::Off, None, None),
        };
        let sender = match &main {
            Some(link) => Some(linked_sender(link, config.spec.chain_id).await?),
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
        })
        .await?;
        let (stop, stopped) = watch::channel(false);
        let committer = match (sender, main) {
            (Some(sender), Some(link)) => Some(tokio::spawn(committer::run(
                node.chain.clone(),
                sender,
                link.manager,
                stopped,
            ))),
            _ => None,
        };
        Ok(Self {
            node,
            committer,
            stop,
        })
    }

    /// The child chain's JSON-RPC URL.
    pub fn rpc_url(&self) -> String {
        self.node.rpc_url()
    }

    /// Stops committing, then the node. Every committed block is on disk.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(committer) = self.committer {
            let _ = committer.await;
        }
        self.node.stop().await;
    }
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
