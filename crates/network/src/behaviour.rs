//! The libp2p protocols a node speaks, and how each is configured.

use crate::sync::{
    BlocksRequest, BlocksResponse, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, SYNC_PROTOCOL,
};
use alloy_primitives::keccak256;
use libp2p::gossipsub::{
    self, IdentTopic, MessageId, PeerScoreParams, PeerScoreThresholds, TopicScoreParams,
};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, behaviour::toggle::Toggle};
use libp2p::{StreamProtocol, identify, identity::Keypair, kad, ping};
use std::time::Duration;

/// Gossip topic of new blocks (raw RLP).
pub const BLOCKS_TOPIC: &str = "/ankr/blocks/1";
/// Gossip topic of pooled transactions (EIP-2718 bytes).
pub const TRANSACTIONS_TOPIC: &str = "/ankr/transactions/1";
/// Largest gossip message: a full block fits with room to spare; larger ones are dropped by
/// the codec before they are read whole.
pub const MAX_GOSSIP_BYTES: usize = 8 << 20;
/// Kademlia protocol of ankr nodes (a separate DHT from IPFS's).
const KADEMLIA_PROTOCOL: &str = "/ankr/kad/1";
/// Gossipsub score below which a peer is banned: it sent invalid messages repeatedly.
pub const BAN_SCORE: f64 = -80.0;

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    pub gossip: gossipsub::Behaviour,
    pub sync: request_response::cbor::Behaviour<BlocksRequest, BlocksResponse>,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    /// Peer discovery; off with `--no-discovery` (then only boot peers are dialled).
    pub kad: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
}

/// Builds every protocol for a node with identity `key`.
pub fn behaviour(
    key: &Keypair,
    discovery: bool,
) -> Result<Behaviour, Box<dyn std::error::Error + Send + Sync>> {
    let config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(Duration::from_millis(200))
        .validation_mode(gossipsub::ValidationMode::Strict)
        .validate_messages()
        .max_transmit_size(MAX_GOSSIP_BYTES)
        .message_id_fn(|message| MessageId::from(keccak256(&message.data).to_vec()))
        .build()?;
    let mut gossip =
        gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)?;
    let (params, thresholds) = peer_scoring();
    gossip.with_peer_score(params, thresholds)?;
    let sync = request_response::cbor::Behaviour::with_codec(
        request_response::cbor::codec::Codec::default()
            .set_request_size_maximum(MAX_REQUEST_BYTES)
            .set_response_size_maximum(MAX_RESPONSE_BYTES),
        [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
        request_response::Config::default().with_request_timeout(Duration::from_secs(30)),
    );
    let peer_id = key.public().to_peer_id();
    let kad = discovery.then(|| {
        let mut config = kad::Config::new(StreamProtocol::new(KADEMLIA_PROTOCOL));
        // The driver looks for peers itself (while under its target), so no periodic walk.
        config.set_periodic_bootstrap_interval(None);
        let mut kad =
            kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), config);
        // Nodes on loopback or a LAN have no confirmed external address; answer queries anyway.
        kad.set_mode(Some(kad::Mode::Server));
        kad
    });
    Ok(Behaviour {
        gossip,
        sync,
        identify: identify::Behaviour::new(identify::Config::new("/ankr/1".into(), key.public())),
        ping: ping::Behaviour::default(),
        kad: kad.into(),
    })
}

/// Gossipsub scoring: invalid messages cost a peer score (an invalid block more than a
/// malformed transaction); below [`BAN_SCORE`] the node bans it. Blocks come at the lottery's
/// pace, so no delivery rate is expected of mesh peers, and every devnet peer shares
/// 127.0.0.1, so there is no penalty for sharing an IP.
fn peer_scoring() -> (PeerScoreParams, PeerScoreThresholds) {
    let mut params = PeerScoreParams {
        ip_colocation_factor_weight: 0.0,
        ..Default::default()
    };
    for (topic, invalid_weight) in [(BLOCKS_TOPIC, -30.0), (TRANSACTIONS_TOPIC, -5.0)] {
        let topic_params = TopicScoreParams {
            topic_weight: 1.0,
            time_in_mesh_weight: 0.1,
            time_in_mesh_quantum: Duration::from_secs(1),
            time_in_mesh_cap: 60.0,
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            invalid_message_deliveries_weight: invalid_weight,
            invalid_message_deliveries_decay: 0.9,
            ..Default::default()
        };
        params
            .topics
            .insert(IdentTopic::new(topic).hash(), topic_params);
    }
    let thresholds = PeerScoreThresholds {
        gossip_threshold: -10.0,
        publish_threshold: -50.0,
        graylist_threshold: BAN_SCORE,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    (params, thresholds)
}
