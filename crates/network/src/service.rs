//! The network task: one libp2p swarm per node, driven by a single loop that publishes what the
//! chain produces, imports what peers send, keeps enough peers, and polices them.

use crate::behaviour::{
    BAN_SCORE, BLOCKS_TOPIC, Behaviour, BehaviourEvent, TRANSACTIONS_TOPIC, behaviour,
};
use crate::identity::{load_or_create_key, peer_of};
use crate::import::{SyncBatch, import_sync_batches};
use crate::peers::{DROP_WINDOW, PeerBook, Traffic, Verdict};
use crate::sync::{BlocksRequest, BlocksResponse, MAX_BLOCKS_PER_RESPONSE, NetworkStatus};
use crate::sync_state::{ImportReport, MAX_IMPORTING, SyncAction, SyncState};
use crate::verdict::{BlockVerdict, verdict};
use ankr_chain::Chain;
use ankr_types::Block;
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::{SwarmEvent, dial_opts::DialOpts};
use libp2p::{Multiaddr, PeerId, Swarm, identify, kad, noise};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Peers a node looks for through discovery; it stops dialling once it has them.
const TARGET_PEERS: usize = 25;
/// Most peers a node keeps; further inbound connections are closed.
const MAX_PEERS: usize = 50;
/// How often boot peers are redialled and discovery looks for more peers.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);
/// How often the node makes sure it is not behind (missed gossip, a peer ahead).
const SYNC_CHECK_INTERVAL: Duration = Duration::from_secs(3);
/// How often sync progress is logged while syncing.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);
/// Peers' sync requests waiting to be served, at most; more are dropped unanswered.
const SERVE_QUEUE: usize = 16;

/// Where a node listens and whom it dials first.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// e.g. `/ip4/127.0.0.1/tcp/30303` (port 0 picks a free one).
    pub listen: Multiaddr,
    /// Peers to dial at start and whenever they are not connected, e.g.
    /// `/ip4/127.0.0.1/tcp/30303/p2p/12D3Koo…`.
    pub boot_peers: Vec<Multiaddr>,
    /// The node's identity key (ed25519, libp2p's protobuf encoding), made on first start.
    pub key_file: PathBuf,
    /// Find peers beyond the boot peers (Kademlia). Off, the node only dials its boot peers
    /// (geth's `--nodiscover`): for private networks and partition tests.
    pub discovery: bool,
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
    #[error("boot peer {0} has no /p2p/<peer id> suffix")]
    BootPeerWithoutId(Multiaddr),
}

/// A running network; [`Network::stop`] ends it.
pub struct Network {
    /// This node's libp2p identity.
    pub peer_id: PeerId,
    /// The address peers can dial, with `/p2p/<peer id>`.
    pub listen_addr: Multiaddr,
    status: NetworkStatus,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Network {
    /// Starts the swarm for `chain`: listens, dials the boot peers, then gossips, syncs and
    /// discovers peers until stopped.
    pub async fn start(chain: Arc<Chain>, config: NetworkConfig) -> Result<Self, NetworkError> {
        let key = load_or_create_key(&config.key_file)?;
        let peer_id = key.public().to_peer_id();
        let boot_peers = config
            .boot_peers
            .iter()
            .map(|addr| {
                peer_of(addr)
                    .map(|peer| (peer, addr.clone()))
                    .ok_or_else(|| NetworkError::BootPeerWithoutId(addr.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let discovery = config.discovery;
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                libp2p::tcp::Config::default().nodelay(true),
                noise::Config::new,
                libp2p::yamux::Config::default,
            )
            .map_err(|e| NetworkError::Setup(e.to_string()))?
            .with_behaviour(|key| behaviour(key, discovery))
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
        for (peer, addr) in &boot_peers {
            if let Some(kad) = swarm.behaviour_mut().kad.as_mut() {
                kad.add_address(peer, addr.clone());
            }
            if let Err(error) = swarm.dial(addr.clone()) {
                tracing::warn!(%addr, %error, "cannot dial boot peer");
            }
        }
        tracing::info!(%peer_id, %listen_addr, discovery, "p2p network listening");
        let status = NetworkStatus::default();
        let (shutdown, stopped) = watch::channel(false);
        // Room for every answer the sync state lets wait (it never sends more).
        let (sync_batches, batches) = mpsc::channel(MAX_IMPORTING + 1);
        let imports = mpsc::unbounded_channel();
        tokio::spawn(import_sync_batches(
            chain.clone(),
            batches,
            imports.0.clone(),
        ));
        let (serving, requests) = mpsc::channel(SERVE_QUEUE);
        let (served_tx, served) = mpsc::channel(SERVE_QUEUE);
        tokio::spawn(crate::serve::serve_peers(
            chain.clone(),
            requests,
            served_tx,
        ));
        let task = tokio::spawn(
            Driver {
                chain,
                swarm,
                status: status.clone(),
                book: PeerBook::default(),
                boot_peers,
                connected: HashSet::new(),
                dialing: HashSet::new(),
                imports,
                sync_batches,
                sync: SyncState::default(),
                serving,
                served,
                progress: None,
                published_arrival: 0,
            }
            .run(stopped),
        );
        Ok(Self {
            peer_id,
            listen_addr,
            status,
            shutdown,
            task,
        })
    }

    /// Peers connected now.
    pub fn peer_count(&self) -> usize {
        self.status.peer_count()
    }

    /// Peers banned since start (invalid blocks, floods, another chain).
    pub fn banned_count(&self) -> usize {
        self.status.banned_count()
    }

    /// A live view of peers and sync, for RPC.
    pub fn status(&self) -> NetworkStatus {
        self.status.clone()
    }

    /// Stops the swarm; connections close.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }
}

/// What an import running off the network loop reports back to it.
pub(crate) enum Imported {
    /// A gossiped block or transaction was checked: tell gossipsub whether to forward it.
    Gossip {
        id: MessageId,
        from: PeerId,
        acceptance: MessageAcceptance,
        /// The block's number, if it was a block that is now known.
        block: Option<u64>,
        /// The block's parent is unknown: ask this peer for what we miss.
        missing_parent: bool,
    },
    /// A sync answer was imported.
    Synced(ImportReport),
}

/// A sync under way, for the progress lines.
struct Progress {
    started: Instant,
    start_head: u64,
    logged: Instant,
    logged_head: u64,
}

struct Driver {
    chain: Arc<Chain>,
    swarm: Swarm<Behaviour>,
    status: NetworkStatus,
    book: PeerBook,
    boot_peers: Vec<(PeerId, Multiaddr)>,
    connected: HashSet<PeerId>,
    /// Peers dialled by discovery and not yet connected or failed.
    dialing: HashSet<PeerId>,
    imports: (
        mpsc::UnboundedSender<Imported>,
        mpsc::UnboundedReceiver<Imported>,
    ),
    sync_batches: mpsc::Sender<SyncBatch>,
    sync: SyncState<OutboundRequestId>,
    /// Peers' sync requests, to the task that reads their blocks (bounded: a flood of
    /// requests is dropped there, never queued without end).
    serving: mpsc::Sender<(BlocksRequest, ResponseChannel<BlocksResponse>)>,
    /// Its answers, to send from this loop (the swarm lives here).
    served: mpsc::Receiver<(ResponseChannel<BlocksResponse>, BlocksResponse)>,
    progress: Option<Progress>,
    /// Pool arrivals up to this number have been gossiped.
    published_arrival: u64,
}

impl Driver {
    async fn run(mut self, mut stopped: watch::Receiver<bool>) {
        let mut heads = self.chain.subscribe();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut sync_tick = tokio::time::interval(SYNC_CHECK_INTERVAL);
        let mut discovery_tick = tokio::time::interval(DISCOVERY_INTERVAL);
        let mut forgive_tick = tokio::time::interval(DROP_WINDOW);
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
                _ = sync_tick.tick() => {
                    self.check_sync();
                    self.police_scores();
                }
                _ = discovery_tick.tick() => self.find_peers(),
                _ = forgive_tick.tick() => self.book.forgive_drops(),
                Some(imported) = self.imports.1.recv() => self.after_import(imported),
                Some((channel, response)) = self.served.recv() => {
                    let _ = self.swarm.behaviour_mut().sync.send_response(channel, response);
                }
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

    /// Asks `peer` for `count` canonical blocks from `from` (0 asks only for its head).
    fn ask(&mut self, peer: PeerId, from: u64, count: u64) {
        let from = from.max(1);
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, BlocksRequest { from, count });
        self.sync.sent(id, peer, from, count);
    }

    /// Carries out what the sync state decided.
    fn carry(&mut self, actions: impl IntoIterator<Item = SyncAction>) {
        for action in actions {
            match action {
                SyncAction::Ask { peer, from, count } => self.ask(peer, from, count),
                SyncAction::Import { peer, response } => {
                    let batch = SyncBatch {
                        from: peer,
                        response,
                    };
                    if self.sync_batches.try_send(batch).is_err() {
                        tracing::error!("the sync importer stopped");
                    }
                }
                SyncAction::Strike { peer, reason } => self.strike(peer, reason),
                SyncAction::Ban { peer, reason } => self.ban(peer, reason),
            }
        }
    }

    /// Asks for blocks after the head, of the peer claiming the most, unless a sync answer is
    /// already on its way (this catches missed gossip and starts syncs).
    fn check_sync(&mut self) {
        let head = self.chain.head().number;
        self.update_status(head);
        let any = self.connected.iter().next().copied();
        let action = self.sync.tick(head, self.book.best_peer(), any);
        self.carry(action);
    }

    /// Publishes the best claim for `eth_syncing` and logs progress while syncing.
    fn update_status(&mut self, head: u64) {
        let highest = self.book.best_peer().map_or(0, |(_, h)| h);
        self.status.set_highest(highest, head);
        let now = Instant::now();
        match (self.status.syncing(head), &mut self.progress) {
            (Some(_), None) => {
                tracing::info!(from = head, to = highest, "syncing from peers");
                self.progress = Some(Progress {
                    started: now,
                    start_head: head,
                    logged: now,
                    logged_head: head,
                });
            }
            (Some(_), Some(progress)) if now - progress.logged >= PROGRESS_INTERVAL => {
                let rate =
                    (head - progress.logged_head) as f64 / (now - progress.logged).as_secs_f64();
                let eta = (highest - head) as f64 / rate.max(f64::MIN_POSITIVE);
                tracing::info!(
                    head,
                    highest,
                    percent = format!("{:.1}", 100.0 * head as f64 / highest as f64),
                    blocks_per_second = format!("{rate:.0}"),
                    eta_seconds = format!("{:.0}", eta.min(1e9)),
                    "syncing"
                );
                progress.logged = now;
                progress.logged_head = head;
            }
            (None, Some(progress)) => {
                let seconds = progress.started.elapsed().as_secs_f64();
                tracing::info!(
                    head,
                    blocks = head.saturating_sub(progress.start_head),
                    seconds = format!("{seconds:.1}"),
                    "synced; following gossip"
                );
                self.progress = None;
            }
            _ => {}
        }
    }

    /// Bans peers whose gossip score fell below [`BAN_SCORE`] (repeated invalid messages).
    fn police_scores(&mut self) {
        let low: Vec<PeerId> = self
            .connected
            .iter()
            .filter(|peer| {
                self.swarm
                    .behaviour()
                    .gossip
                    .peer_score(peer)
                    .is_some_and(|score| score < BAN_SCORE)
            })
            .copied()
            .collect();
        for peer in low {
            self.ban(peer, "gossip score below the ban threshold");
        }
    }

    /// Redials boot peers that are not connected, and asks the DHT for more peers while the
    /// node has fewer than [`TARGET_PEERS`].
    fn find_peers(&mut self) {
        for (peer, addr) in self.boot_peers.clone() {
            if !self.connected.contains(&peer)
                && !self.book.is_banned(&peer)
                && let Err(error) = self.swarm.dial(addr.clone())
            {
                tracing::debug!(%addr, %error, "cannot redial boot peer");
            }
        }
        if self.connected.len() < TARGET_PEERS
            && let Some(kad) = self.swarm.behaviour_mut().kad.as_mut()
        {
            kad.get_closest_peers(PeerId::random());
        }
    }

    /// Dials a peer that discovery found, if the node wants more peers.
    fn dial_discovered(&mut self, peer: PeerId, addrs: Vec<Multiaddr>) {
        let wanted = self.connected.len() + self.dialing.len() < TARGET_PEERS;
        if !wanted
            || addrs.is_empty()
            || peer == *self.swarm.local_peer_id()
            || self.connected.contains(&peer)
            || self.dialing.contains(&peer)
            || self.book.is_banned(&peer)
        {
            return;
        }
        tracing::debug!(%peer, "dialling a discovered peer");
        let dial = DialOpts::peer_id(peer).addresses(addrs).build();
        if self.swarm.dial(dial).is_ok() {
            self.dialing.insert(peer);
        }
    }

    fn on_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                self.dialing.remove(&peer_id);
                if self.book.is_banned(&peer_id)
                    || (endpoint.is_listener()
                        && !self.connected.contains(&peer_id)
                        && self.connected.len() >= MAX_PEERS)
                {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                if self.connected.insert(peer_id) {
                    self.status.set_peers(self.connected.len());
                    tracing::info!(peer = %peer_id, peers = self.connected.len(), "peer connected");
                    // Learn its head; a sync already running is not asked twice.
                    let action = self.sync.connected(peer_id, self.chain.head().number);
                    self.carry([action]);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } if self.connected.remove(&peer_id) => {
                self.status.set_peers(self.connected.len());
                self.book.disconnected(&peer_id);
                self.sync.disconnected(&peer_id);
                tracing::info!(peer = %peer_id, peers = self.connected.len(), "peer disconnected");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                if let Some(peer) = peer_id {
                    self.dialing.remove(&peer);
                }
                tracing::debug!(?peer_id, %error, "dial failed");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => self.on_gossip(propagation_source, message_id, message),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                    for addr in info.listen_addrs {
                        kad.add_address(&peer_id, addr);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => match event {
                kad::Event::OutboundQueryProgressed {
                    result: kad::QueryResult::GetClosestPeers(Ok(found)),
                    ..
                } => {
                    for peer in found.peers {
                        self.dial_discovered(peer.peer_id, peer.addrs);
                    }
                }
                kad::Event::RoutingUpdated {
                    peer, addresses, ..
                } => self.dial_discovered(peer, addresses.into_vec()),
                _ => {}
            },
            _ => {}
        }
    }

    fn on_sync(&mut self, event: request_response::Event<BlocksRequest, BlocksResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => match self.book.admit(peer, Traffic::SyncRequest, Instant::now()) {
                    Ok(()) => {
                        if self.serving.try_send((request, channel)).is_err() {
                            // Serving is behind: no answer (the asker retries elsewhere).
                            tracing::debug!(%peer, "sync request dropped: serving is busy");
                        }
                    }
                    // Over its rate: no answer (dropping the channel closes the stream).
                    Err(verdict) => self.flooded(peer, verdict, "sync requests"),
                },
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    let (claimed, empty) = (response.head, response.blocks.is_empty());
                    let actions = self.sync.answered(&request_id, peer, response);
                    if !actions
                        .iter()
                        .any(|a| matches!(a, SyncAction::Strike { .. }))
                    {
                        self.book.claim_head(peer, claimed);
                    }
                    if empty {
                        self.update_status(self.chain.head().number);
                    }
                    self.carry(actions);
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                self.sync.failed(&request_id, &peer);
                tracing::debug!(%peer, %error, "sync request failed");
            }
            _ => {}
        }
    }

    fn on_gossip(&mut self, from: PeerId, id: MessageId, message: gossipsub::Message) {
        let is_block = message.topic == IdentTopic::new(BLOCKS_TOPIC).hash();
        let traffic = if is_block {
            Traffic::Block
        } else {
            Traffic::Transaction
        };
        if let Err(verdict) = self.book.admit(from, traffic, Instant::now()) {
            self.swarm
                .behaviour_mut()
                .gossip
                .report_message_validation_result(&id, &from, MessageAcceptance::Ignore);
            return self.flooded(from, verdict, "gossip");
        }
        let chain = self.chain.clone();
        let report = self.imports.0.clone();
        tokio::task::spawn_blocking(move || {
            let (acceptance, block, missing_parent) = if is_block {
                let number = Block::decode_exact(&message.data)
                    .ok()
                    .map(|b| b.header.number);
                let result = chain.import_raw_block(&message.data);
                match verdict(&result) {
                    BlockVerdict::Taken => (MessageAcceptance::Accept, number, false),
                    BlockVerdict::MissingParent => (MessageAcceptance::Ignore, None, true),
                    BlockVerdict::Invalid => {
                        tracing::warn!(peer = %from, error = %result.unwrap_err(), "invalid block from peer");
                        (MessageAcceptance::Reject, None, false)
                    }
                    BlockVerdict::LocalFailure => {
                        tracing::error!(peer = %from, error = %result.unwrap_err(), "this node failed to import a peer's block");
                        (MessageAcceptance::Ignore, None, false)
                    }
                }
            } else {
                let acceptance = match chain.submit_raw_transaction(&message.data) {
                    Ok(_) => MessageAcceptance::Accept,
                    Err(ankr_chain::SubmitError::Decode(_)) => MessageAcceptance::Reject,
                    // Known, underpriced, nonce gaps…: not worth forwarding, not hostile.
                    Err(_) => MessageAcceptance::Ignore,
                };
                (acceptance, None, false)
            };
            let _ = report.send(Imported::Gossip {
                id,
                from,
                acceptance,
                block,
                missing_parent,
            });
        });
    }

    /// A peer went over its rate: the message was dropped; a flooder is banned.
    fn flooded(&mut self, peer: PeerId, verdict: Verdict, what: &str) {
        tracing::debug!(%peer, what, "message over the peer's rate dropped");
        if verdict == Verdict::Ban {
            self.ban(peer, "flooding");
        }
    }

    /// Counts an invalid block against `peer`; bans it at the limit.
    fn strike(&mut self, peer: PeerId, what: &str) {
        let (strikes, verdict) = self.book.strike(peer);
        tracing::warn!(%peer, strikes, what, "peer sent an invalid block");
        if verdict == Verdict::Ban {
            self.ban(peer, "too many invalid blocks");
        }
    }

    /// Disconnects `peer` and refuses its connections from now on (until restart).
    fn ban(&mut self, peer: PeerId, why: &str) {
        if self.book.ban(peer) {
            self.status.add_banned();
            tracing::warn!(%peer, why, "banning peer");
            if let Some(kad) = self.swarm.behaviour_mut().kad.as_mut() {
                kad.remove_peer(&peer);
            }
            if self.connected.remove(&peer) {
                self.status.set_peers(self.connected.len());
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
                block,
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
                if let Some(number) = block.filter(|_| self.connected.contains(&from)) {
                    self.book.saw_block(from, number);
                }
                if missing_parent {
                    let head = self.chain.head().number;
                    let from_number = head.saturating_sub(MAX_BLOCKS_PER_RESPONSE / 2) + 1;
                    self.carry([SyncAction::Ask {
                        peer: from,
                        from: from_number,
                        count: MAX_BLOCKS_PER_RESPONSE,
                    }]);
                }
            }
            Imported::Synced(report) => {
                let connected = self.connected.contains(&report.from);
                let action = self.sync.imported(report, connected);
                self.carry(action);
                self.update_status(self.chain.head().number);
            }
        }
    }
}
