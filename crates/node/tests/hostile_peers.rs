//! Hostile peers against a real node on loopback: a peer gossiping malformed blocks, one
//! flooding junk transactions, one sending a message over the size limit. Each is cut off;
//! the node stays up and keeps following its honest peer.

use alloy_primitives::Address;
use ankr_network::{Multiaddr, NetworkConfig};
use ankr_node::{DevSealing, Node, NodeConfig, devnet};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic};
use libp2p::swarm::SwarmEvent;
use libp2p::{Swarm, noise, tcp, yamux};
use std::time::{Duration, Instant};

async fn start(dir: &std::path::Path, sealing: DevSealing, boot_peers: Vec<Multiaddr>) -> Node {
    Node::start(NodeConfig {
        operator: None,
        data_dir: dir.to_path_buf(),
        spec: devnet::spec(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        sealing,
        beneficiary: Address::repeat_byte(0xbe),
        mining: None,
        network: Some(NetworkConfig {
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            boot_peers,
            key_file: dir.join("network.key"),
            discovery: true,
        }),
        pool: Default::default(),
    })
    .await
    .unwrap()
}

/// A bare gossipsub peer that sends whatever it is told to (up to `max_bytes` a message).
async fn hostile(target: &Multiaddr, max_bytes: usize) -> Swarm<gossipsub::Behaviour> {
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|key| {
            let config = gossipsub::ConfigBuilder::default()
                .max_transmit_size(max_bytes)
                .build()
                .unwrap();
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)
                .unwrap()
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    for topic in ["/ankr/blocks/1", "/ankr/transactions/1"] {
        swarm
            .behaviour_mut()
            .subscribe(&IdentTopic::new(topic))
            .unwrap();
    }
    swarm.dial(target.clone()).unwrap();
    // Wait until the node's subscriptions are known, so that publishing reaches it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while swarm
        .behaviour()
        .all_peers()
        .all(|(_, topics)| topics.is_empty())
    {
        assert!(Instant::now() < deadline, "the node never subscribed");
        let _ = tokio::time::timeout(Duration::from_millis(50), swarm.select_next_some()).await;
    }
    swarm
}

/// Publishes `messages` on `topic` in bursts, driving the swarm in between.
async fn send(swarm: &mut Swarm<gossipsub::Behaviour>, topic: &str, messages: Vec<Vec<u8>>) {
    for burst in messages.chunks(500) {
        for message in burst {
            let _ = swarm
                .behaviour_mut()
                .publish(IdentTopic::new(topic), message.clone());
        }
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(5), swarm.next()).await {
        }
    }
}

/// Drives `swarm` until the node closes the connection (or `limit` passes).
async fn disconnected(swarm: &mut Swarm<gossipsub::Behaviour>, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if swarm.connected_peers().count() == 0 {
            return true;
        }
        if let Ok(Some(SwarmEvent::ConnectionClosed { .. })) =
            tokio::time::timeout(Duration::from_millis(100), swarm.next()).await
            && swarm.connected_peers().count() == 0
        {
            return true;
        }
    }
    false
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_are_cut_off_and_the_node_keeps_following_the_chain() {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let node = start(a_dir.path(), DevSealing::Off, vec![]).await;
    let addr = node.network.as_ref().unwrap().listen_addr.clone();
    // An honest peer sealing a block a second.
    let honest = start(
        b_dir.path(),
        DevSealing::Interval(Duration::from_secs(1)),
        vec![addr.clone()],
    )
    .await;
    let network = node.network.as_ref().unwrap();
    wait_for("the honest peer's blocks", Duration::from_secs(20), || {
        node.chain.head().number >= 2
    })
    .await;

    // 1. Malformed blocks: three strikes, then a ban.
    let started = Instant::now();
    let mut junk_blocks = hostile(&addr, 1 << 20).await;
    let blocks = (0..5u8).map(|i| vec![0xf8, 0x02, i, i]).collect();
    send(&mut junk_blocks, "/ankr/blocks/1", blocks).await;
    assert!(
        disconnected(&mut junk_blocks, Duration::from_secs(10)).await,
        "a peer gossiping malformed blocks stayed connected"
    );
    assert_eq!(network.banned_count(), 1);
    println!("malformed blocks: banned after {:?}", started.elapsed());

    // 2. A flood of junk transactions: its gossip score or its rate gets it banned.
    let started = Instant::now();
    let mut flooder = hostile(&addr, 1 << 20).await;
    let junk: Vec<Vec<u8>> = (0..30_000u32)
        .map(|i| [&[0x02, 0xff][..], &i.to_be_bytes()].concat())
        .collect();
    send(&mut flooder, "/ankr/transactions/1", junk).await;
    assert!(
        disconnected(&mut flooder, Duration::from_secs(15)).await,
        "a flooding peer stayed connected"
    );
    assert_eq!(network.banned_count(), 2);
    println!(
        "junk transaction flood: banned after {:?}",
        started.elapsed()
    );

    // 3. A 9 MiB message (the limit is 8 MiB): dropped unread; the node carries on.
    let mut oversized = hostile(&addr, 16 << 20).await;
    send(&mut oversized, "/ankr/blocks/1", vec![vec![0xab; 9 << 20]]).await;
    let _ = disconnected(&mut oversized, Duration::from_secs(2)).await;

    // The honest peer was never cut off, and the node still follows its chain.
    let before = node.chain.head().number;
    wait_for(
        "new blocks after the attacks",
        Duration::from_secs(20),
        || node.chain.head().number >= before + 2,
    )
    .await;
    assert!(network.peer_count() >= 1);
    assert_eq!(
        node.chain.head().hash(),
        honest
            .chain
            .reader()
            .unwrap()
            .header_by_number(node.chain.head().number)
            .unwrap()
            .unwrap()
            .hash()
    );
    honest.stop().await;
    node.stop().await;
}
