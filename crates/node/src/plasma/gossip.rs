//! Child blocks over libp2p gossipsub ("the block is then propagated to the network through
//! gossip protocol"): the operator publishes each block on its chain's topic; watchers dial
//! it (or each other) and receive every block as it is made. TCP + noise + yamux, like the
//! main network; messages are a block's number and transactions, JSON-encoded.

use crate::plasma::store::Event;
use alloy_primitives::{Address, keccak256};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageId};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, identity::Keypair, noise};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Largest child block message: 65,536 transactions of ~320 bytes, JSON hex, with room.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The gossip topic of one child chain's blocks, named by its RootChain.
pub fn topic(root_chain: Address) -> IdentTopic {
    IdentTopic::new(format!("/ankr/plasma/{root_chain}/blocks/1"))
}

/// A running gossip node: send blocks to publish, receive blocks others published.
pub struct Gossip {
    pub listen_addr: Multiaddr,
    pub publish: mpsc::UnboundedSender<Event>,
    pub received: mpsc::UnboundedReceiver<Event>,
}

/// Starts a gossip node on `listen` for `root_chain`'s blocks, dialling `peers`.
pub async fn start(
    root_chain: Address,
    listen: Multiaddr,
    peers: Vec<Multiaddr>,
    mut stopped: watch::Receiver<bool>,
) -> Result<Gossip, String> {
    let key = Keypair::generate_ed25519();
    let config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(Duration::from_millis(200))
        .max_transmit_size(MAX_MESSAGE_BYTES)
        .message_id_fn(|message| MessageId::from(keccak256(&message.data).to_vec()))
        .build()
        .map_err(|e| e.to_string())?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_behaviour(|key| {
            gossipsub::Behaviour::<
                gossipsub::IdentityTransform,
                gossipsub::AllowAllSubscriptionFilter,
            >::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)
            .map_err(|e| e.to_string().into())
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    let topic = topic(root_chain);
    swarm
        .behaviour_mut()
        .subscribe(&topic)
        .map_err(|e| e.to_string())?;
    swarm.listen_on(listen).map_err(|e| e.to_string())?;
    let listen_addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    for peer in &peers {
        swarm.dial(peer.clone()).map_err(|e| e.to_string())?;
    }
    let (publish, mut to_publish) = mpsc::unbounded_channel::<Event>();
    let (deliver, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut redial = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = redial.tick() => {
                    if swarm.connected_peers().next().is_none() {
                        for peer in &peers {
                            let _ = swarm.dial(peer.clone());
                        }
                    }
                }
                Some(event) = to_publish.recv() => {
                    let bytes = serde_json::to_vec(&event).expect("events serialise");
                    if let Err(error) = swarm.behaviour_mut().publish(topic.clone(), bytes) {
                        tracing::debug!(%error, "child block not gossiped (no peers yet)");
                    }
                }
                event = swarm.select_next_some() => {
                    if let SwarmEvent::Behaviour(gossipsub::Event::Message { message, .. }) = event {
                        match serde_json::from_slice::<Event>(&message.data) {
                            Ok(event @ Event::Block { .. }) => { let _ = deliver.send(event); }
                            _ => tracing::debug!("ignored a gossip message that is not a child block"),
                        }
                    }
                }
            }
        }
    });
    Ok(Gossip {
        listen_addr,
        publish,
        received,
    })
}
