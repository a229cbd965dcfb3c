//! The network task: one libp2p swarm per node, driven by a single loop that publishes what the
//! chain produces and imports what peers send.

use crate::sync::{BlocksRequest, BlocksResponse, MAX_BLOCKS_PER_RESPONSE, SYNC_PROTOCOL};
use alloy_primitives::keccak256;
use ankr_chain::{Chain, ImportError};
use ankr_types::Block;
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identify, identity::Keypair, noise, ping};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Gossip topic of new blocks (raw RLP).
const BLOCKS_TOPIC: &str = "/ankr/blocks/1";
/// Gossip topic of pooled transactions (EIP-2718 bytes).
const TRANSACTIONS_TOPIC: &str = "/ankr/transactions/1";
/// Largest gossip message: a full block fits with room to spare.
const MAX_GOSSIP_BYTES: usize = 8 << 20;

/// Where a node listens and whom it dials first.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// e.g. `/ip4/127.0.0.1/tcp/30303` (port 0 picks a free one).
    pub listen: Multiaddr,
    /// Peers to dial at start, e.g. `/ip4/127.0.0.1/tcp/30303/p2p/12D3Koo…`.
    pub boot_peers: Vec<Multiaddr>,
    /// The node's identity key (ed25519, libp2p's protobuf encoding), made on first start.
    pub key_file: PathBuf,
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("node key {path}: {source}")]
    Key {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot set up libp2p: {0}")]
    Setup(String),
    #[error("cannot listen on {addr}: {reason}")]
    Listen { addr: Multiaddr, reason: String },
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossip: gossipsub::Behaviour,
    sync: request_response::cbor::Behaviour<BlocksRequest, BlocksResponse>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

/// A running network; [`Network::stop`] ends it.
pub struct Network {
    /// This node's libp2p identity.
    pub peer_id: PeerId,
    /// The address peers can dial, with `/p2p/<peer id>`.
    pub listen_addr: Multiaddr,
    peers: Arc<AtomicUsize>,
    banned: Arc<AtomicUsize>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Loads the node key from `path`, or makes one there.
fn load_or_create_key(path: &Path) -> Result<Keypair, NetworkError> {
    let error = |source| NetworkError::Key {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes)
            .map_err(|e| error(std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keypair::generate_ed25519();
            let bytes = key
                .to_protobuf_encoding()
                .map_err(|e| error(std::io::Error::other(e)))?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(error)?;
            }
            std::fs::write(path, bytes).map_err(error)?;
            Ok(key)
        }
        Err(e) => Err(error(e)),
    }
}

fn behaviour(key: &Keypair) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(Duration::from_millis(200))
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .max_transmit_size(MAX_GOSSIP_BYTES)
        .message_id_fn(|message| MessageId::from(keccak256(&message.data).to_vec()))
        .build()?;
    let gossip =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)?;
    let sync = request_response::cbor::Behaviour::new(
        [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
    );
    Ok(Behaviour {
        gossip,
        sync,
        identify: identify::Behaviour::new(identify::Config::new("/ankr/1".into(), key.public())),
        ping: ping::Behaviour::default(),
    })
}

impl Network {
    /// Starts the swarm for `chain`: listens, dials the boot peers, then gossips and syncs
    /// until stopped.
    pub async fn start(chain: Arc<Chain>, config: NetworkConfig) -> Result<Self, NetworkError> {
        let key = load_or_create_key(&config.key_file)?;
        let peer_id = key.public().to_peer_id();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                libp2p::tcp::Config::default().nodelay(true),
                noise::Config::new,
                libp2p::yamux::Config::default,
            )
            .map_err(|e| NetworkError::Setup(e.to_string()))?
            .with_behaviour(behaviour)
            .map_err(|e| NetworkError::Setup(e.to_string()))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
        for topic in [BLOCKS_TOPIC, TRANSACTIONS_TOPIC] {
            swarm
                .behaviour_mut()
                .gossip
                .subscribe(&IdentTopic::new(topic))
                .map_err(|e| NetworkError::Setup(e.to_string()))?;
        }
        swarm
            .listen_on(config.listen.clone())
            .map_err(|e| NetworkError::Listen {
                addr: config.listen.clone(),
                reason: e.to_string(),
            })?;
        let listen_addr = loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => break address,
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(NetworkError::Listen {
                        addr: config.listen,
                        reason: error.to_string(),
                    });
                }
                _ => {}
            }
        };
        let listen_addr = listen_addr.with_p2p(peer_id).expect("no /p2p suffix yet");
        for peer in &config.boot_peers {
            if let Err(error) = swarm.dial(peer.clone()) {
                tracing::warn!(%peer, %error, "cannot dial boot peer");
            }
        }
        tracing::info!(%peer_id, %listen_addr, "p2p network listening");
        let peers = Arc::new(AtomicUsize::new(0));
        let banned = Arc::new(AtomicUsize::new(0));
        let (shutdown, stopped) = watch::channel(false);
        let task = tokio::spawn(
            Driver {
                chain,
                swarm,
                peers: peers.clone(),
                imports: mpsc::unbounded_channel(),
                published_arrival: 0,
                strikes: Default::default(),
                banned: Default::default(),
                banned_count: banned.clone(),
            }
            .run(stopped),
        );
        Ok(Self {
            peer_id,
            listen_addr,
            peers,
            banned,
            shutdown,
            task,
        })
    }

    /// Peers connected now.
    pub fn peer_count(&self) -> usize {
        self.peers.load(Ordering::Relaxed)
    }

    /// Peers banned since start (invalid blocks, another chain).
    pub fn banned_count(&self) -> usize {
        self.banned.load(Ordering::Relaxed)
    }

    /// A shared counter of connected peers, for `net_peerCount`.
    pub fn peer_counter(&self) -> Arc<AtomicUsize> {
        self.peers.clone()
    }

    /// Stops the swarm; connections close.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// What an import running off the network loop reports back to it.
enum Imported {
    /// A gossiped block or transaction was checked: tell gossipsub whether to forward it.
    Gossip {
        id: MessageId,
        from: PeerId,
        acceptance: MessageAcceptance,
        /// The block's parent is unknown: ask this peer for what we miss.
        missing_parent: bool,
    },
    /// A sync answer was imported up to `last`; `more` if the peer has further blocks.
    Synced {
        from: PeerId,
        last: u64,
        more: bool,
        /// A block's parent was unknown: the peer is on a fork below our range.
        fork_below: Option<u64>,
        /// The answer held a block that broke a rule.
        invalid: bool,
    },
}

struct Driver {
    chain: Arc<Chain>,
    swarm: Swarm<Behaviour>,
    peers: Arc<AtomicUsize>,
    imports: (
        mpsc::UnboundedSender<Imported>,
        mpsc::UnboundedReceiver<Imported>,
    ),
    /// Pool arrivals up to this number have been gossiped.
    published_arrival: u64,
    /// Invalid blocks each peer has sent.
    strikes: std::collections::HashMap<PeerId, u32>,
    /// Peers disconnected for misbehaving; their new connections are closed at once.
    banned: std::collections::HashSet<PeerId>,
    banned_count: Arc<AtomicUsize>,
}

/// Invalid blocks a peer may send before it is disconnected and banned (a block can be
/// invalid for an honest peer too, e.g. one that arrived just after its enclave expired here).
const MAX_STRIKES: u32 = 3;

impl Driver {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        let mut heads = self.chain.subscribe();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut sync_tick = tokio::time::interval(Duration::from_secs(3));
        self.published_arrival = self.chain.latest_arrival();
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                head = heads.recv() => match head {
                    Ok(block) => self.publish_block(block.hash),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => self.publish_transactions(),
                _ = sync_tick.tick() => self.ask_any_peer(),
                Some(imported) = self.imports.1.recv() => self.after_import(imported),
                event = self.swarm.select_next_some() => self.on_event(event),
            }
        }
    }

    fn publish(&mut self, topic: &str, data: Vec<u8>) {
        match self
            .swarm
            .behaviour_mut()
            .gossip
            .publish(IdentTopic::new(topic), data)
        {
            Ok(_)
            | Err(gossipsub::PublishError::Duplicate)
            | Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {}
            Err(error) => tracing::debug!(%error, topic, "cannot publish"),
        }
    }

    fn publish_block(&mut self, hash: alloy_primitives::B256) {
        let raw = self.chain.reader().ok().and_then(|reader| {
            let header = reader.header(hash).ok()??;
            let body = reader.body(hash).ok()??;
            Some(alloy_rlp::encode(Block {
                header,
                transactions: body.transactions,
            }))
        });
        if let Some(raw) = raw {
            self.publish(BLOCKS_TOPIC, raw);
        }
    }

    fn publish_transactions(&mut self) {
        let (hashes, latest) = self.chain.arrivals_since(self.published_arrival);
        self.published_arrival = latest;
        for hash in hashes {
            if let Some(tx) = self.chain.pooled_transaction(&hash) {
                let raw = alloy_eips::Encodable2718::encoded_2718(&tx.tx);
                self.publish(TRANSACTIONS_TOPIC, raw);
            }
        }
    }

    /// Asks `peer` for canonical blocks from `from`.
    fn ask(&mut self, peer: PeerId, from: u64) {
        self.swarm.behaviour_mut().sync.send_request(
            &peer,
            BlocksRequest {
                from: from.max(1),
                count: MAX_BLOCKS_PER_RESPONSE,
            },
        );
    }

    /// Asks one connected peer for anything after our head (catches missed gossip).
    fn ask_any_peer(&mut self) {
        let peer = self.swarm.connected_peers().next().copied();
        if let Some(peer) = peer {
            let next = self.chain.head().number + 1;
            self.ask(peer, next);
        }
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } => {
                if self.banned.contains(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                if num_established.get() == 1 {
                    self.peers.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(peer = %peer_id, "peer connected");
                    let next = self.chain.head().number + 1;
                    self.ask(peer_id, next);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => {
                if num_established == 0 && !self.banned.contains(&peer_id) {
                    self.peers.fetch_sub(1, Ordering::Relaxed);
                    tracing::info!(peer = %peer_id, "peer disconnected");
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    let response = self.serve(&request);
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, response);
                }
                request_response::Message::Response { response, .. } => {
                    self.import_synced(peer, response)
                }
            },
            _ => {}
        }
    }

    /// Canonical blocks from `request.from`, at most [`MAX_BLOCKS_PER_RESPONSE`].
    fn serve(&self, request: &BlocksRequest) -> BlocksResponse {
        let head = self.chain.head().number;
        let mut blocks = Vec::new();
        if let Ok(reader) = self.chain.reader() {
            let last = head.min(
                request
                    .from
                    .saturating_add(request.count.min(MAX_BLOCKS_PER_RESPONSE))
                    .saturating_sub(1),
            );
            for number in request.from..=last {
                let Ok(Some(header)) = reader.header_by_number(number) else {
                    break;
                };
                let Ok(Some(body)) = reader.body(header.hash()) else {
                    break;
                };
                blocks.push(serde_bytes::ByteBuf::from(alloy_rlp::encode(Block {
                    header,
                    transactions: body.transactions,
                })));
            }
        }
        BlocksResponse { blocks, head }
    }

    fn on_gossip(&mut self, from: PeerId, id: MessageId, message: gossipsub::Message) {
        let chain = self.chain.clone();
        let report = self.imports.0.clone();
        let is_block = message.topic == IdentTopic::new(BLOCKS_TOPIC).hash();
        tokio::task::spawn_blocking(move || {
            let (acceptance, missing_parent) = if is_block {
                match chain.import_raw_block(&message.data) {
                    Ok(_) | Err(ImportError::AlreadyKnown(_)) => (MessageAcceptance::Accept, false),
                    Err(ImportError::UnknownParent(_)) => (MessageAcceptance::Ignore, true),
                    Err(error) => {
                        tracing::warn!(peer = %from, %error, "invalid block from peer");
                        (MessageAcceptance::Reject, false)
                    }
                }
            } else {
                match chain.submit_raw_transaction(&message.data) {
                    Ok(_) => (MessageAcceptance::Accept, false),
                    Err(ankr_chain::SubmitError::Decode(_)) => (MessageAcceptance::Reject, false),
                    // Known, underpriced, nonce gaps…: not worth forwarding, not hostile.
                    Err(_) => (MessageAcceptance::Ignore, false),
                }
            };
            let _ = report.send(Imported::Gossip {
                id,
                from,
                acceptance,
                missing_parent,
            });
        });
    }

    fn import_synced(&mut self, from: PeerId, response: BlocksResponse) {
        let chain = self.chain.clone();
        let report = self.imports.0.clone();
        tokio::task::spawn_blocking(move || {
            let mut last = chain.head().number;
            let mut fork_below = None;
            let mut failed = false;
            for raw in &response.blocks {
                match chain.import_raw_block(raw) {
                    Ok(_) | Err(ImportError::AlreadyKnown(_)) => {
                        if let Ok(block) = Block::decode_exact(raw) {
                            last = block.header.number;
                        }
                    }
                    Err(ImportError::UnknownParent(_)) => {
                        let first = Block::decode_exact(raw).map_or(1, |b| b.header.number);
                        fork_below = Some(first);
                        failed = true;
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(peer = %from, %error, "invalid block in sync answer");
                        failed = true;
                        break;
                    }
                }
            }
            let more = !failed && response.head > last && !response.blocks.is_empty();
            if !response.blocks.is_empty() {
                tracing::info!(peer = %from, to = last, peer_head = response.head, "synced blocks");
            }
            let _ = report.send(Imported::Synced {
                from,
                last,
                more,
                fork_below,
                invalid: failed && fork_below.is_none(),
            });
        });
    }

    /// Counts an invalid block against `peer`; bans it at [`MAX_STRIKES`].
    fn strike(&mut self, peer: PeerId, what: &str) {
        let strikes = self.strikes.entry(peer).or_default();
        *strikes += 1;
        tracing::warn!(%peer, strikes = *strikes, what, "peer sent an invalid block");
        if *strikes >= MAX_STRIKES {
            self.ban(peer, "too many invalid blocks");
        }
    }

    /// Disconnects `peer` and refuses its connections from now on (until restart).
    fn ban(&mut self, peer: PeerId, why: &str) {
        if self.banned.insert(peer) {
            self.banned_count.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%peer, why, "banning peer");
            if self.swarm.is_connected(&peer) {
                self.peers.fetch_sub(1, Ordering::Relaxed);
            }
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    fn after_import(&mut self, imported: Imported) {
        match imported {
            Imported::Gossip {
                id,
                from,
                acceptance,
                missing_parent,
            } => {
                let invalid = acceptance == MessageAcceptance::Reject;
                self.swarm
                    .behaviour_mut()
                    .gossip
                    .report_message_validation_result(&id, &from, acceptance);
                if invalid {
                    self.strike(from, "invalid gossip");
                }
                if missing_parent {
                    let head = self.chain.head().number;
                    self.ask(from, head.saturating_sub(MAX_BLOCKS_PER_RESPONSE / 2) + 1);
                }
            }
            Imported::Synced {
                from,
                last,
                more,
                fork_below,
                invalid,
            } => {
                if invalid {
                    self.strike(from, "invalid block in a sync answer");
                } else if let Some(first) = fork_below {
                    if first <= 1 {
                        // Their block 1 has another parent: another genesis, another chain.
                        self.ban(from, "follows another chain (another genesis)");
                    } else {
                        // Their branch left ours below `first`: ask from further back.
                        self.ask(from, first.saturating_sub(MAX_BLOCKS_PER_RESPONSE));
                    }
                } else if more {
                    self.ask(from, last + 1);
                }
            }
        }
    }
}
