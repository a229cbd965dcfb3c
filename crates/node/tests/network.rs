//! Several mining nodes on loopback over the real libp2p network: they find each other from one
//! boot peer, converge on one chain, and a node started late catches up by syncing every block
//! from its peers.

use alloy_primitives::{U256, keccak256};
use ankr_client::attest::{AttestationClient, AttestationServer};
use ankr_enclave::{Enclave, Limits, SimulatedEnclave};
use ankr_node::miner::MinerConfig;
use ankr_node::test_utils::pouw::{MiningCluster, start_on_network};
use ankr_node::{Node, devnet};
use ankr_pouw::AttestationService;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn key(seed: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array(keccak256([seed, 0x54]).0).unwrap()
}

fn canonical(node: &Node, number: u64) -> Option<alloy_primitives::B256> {
    node.chain.reader().unwrap().canonical_hash(number).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_miners_converge_and_a_late_node_syncs() {
    // About a second of two cores' useful work per block, so that forks stay rare.
    let mut cluster = MiningCluster::new("converge", 3, 10_000_000_000)
        .await
        .unwrap();
    let nodes = cluster.start_miners().await.unwrap();
    let boot = vec![nodes[0].network.as_ref().unwrap().listen_addr.clone()];

    // All three reach block 8 and agree on block 6.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let heads: Vec<u64> = nodes.iter().map(|n| n.chain.head().number).collect();
        let agreed = canonical(&nodes[0], 6).is_some()
            && nodes
                .iter()
                .all(|n| canonical(n, 6) == canonical(&nodes[0], 6));
        if heads.iter().all(|&h| h >= 8) && agreed {
            break;
        }
        assert!(Instant::now() < deadline, "no convergence: heads {heads:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Nodes 1 and 2 only knew node 0; discovery (Kademlia) made every node a peer of the others.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let peers: Vec<usize> = nodes
            .iter()
            .map(|n| n.network.as_ref().unwrap().peer_count())
            .collect();
        if peers.iter().all(|&p| p == 2) {
            break;
        }
        assert!(Instant::now() < deadline, "peers {peers:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // More than one miner sealed blocks: the chain is really shared.
    let sealers: std::collections::HashSet<_> = (1..=6)
        .map(|n| {
            let header = nodes[0]
                .chain
                .reader()
                .unwrap()
                .header_by_number(n)
                .unwrap()
                .unwrap();
            ankr_pouw::PouwSeal::decode(&header.seal.proof)
                .unwrap()
                .enclave
        })
        .collect();
    println!("blocks 1-6 sealed by {} of 3 enclaves", sealers.len());

    // A node that joins late (and does not mine) syncs everything from its peers.
    let late = cluster.start_node(None, boot).await.unwrap();
    let target = nodes[0].chain.head().number;
    let deadline = Instant::now() + Duration::from_secs(60);
    while late.chain.head().number < target {
        assert!(
            Instant::now() < deadline,
            "late node stuck at {}",
            late.chain.head().number
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(canonical(&late, 6), canonical(&nodes[0], 6));

    late.stop().await;
    for node in nodes {
        node.stop().await;
    }
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_on_another_chain_is_banned_and_the_node_carries_on() {
    let service = AttestationService::new(key(2));
    for seed in [20u8, 21] {
        service
            .provision(ankr_pouw::Platform::from_secret(keccak256([seed])).address())
            .unwrap();
    }
    let root = service.root_address();
    let attestation = AttestationServer::start(service, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("http://{}", attestation.local_addr);
    let honest = Arc::new(SimulatedEnclave::new(
        key(20),
        keccak256([20u8]),
        Limits::default(),
    ));
    let stranger = Arc::new(SimulatedEnclave::new(
        key(21),
        keccak256([21u8]),
        Limits::default(),
    ));
    // Two chains: each registers only its own enclave, so their genesis blocks differ.
    let chain_spec = |enclave: &Arc<SimulatedEnclave>| {
        let mut spec = devnet::pouw_spec(root, vec![(enclave.address(), enclave.platform_id())]);
        spec.target_block_time_ms = 1_000;
        spec.genesis_difficulty = U256::from(1_000_000_000u64);
        spec
    };
    let mining = |enclave: &Arc<SimulatedEnclave>, account: usize| MinerConfig {
        enclave: enclave.clone(),
        attestation: AttestationClient::new(&url).unwrap(),
        account: devnet::accounts()[account].secret,
        beneficiary: devnet::accounts()[account].address,
        workloads: ankr_enclave::workloads::builtin(),
        builtin_duty: 1.0,
        stats: Default::default(),
    };
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_on_network(
        a_dir.path(),
        chain_spec(&honest),
        Some(mining(&honest, 1)),
        vec![],
    )
    .await
    .unwrap();
    // Let A get ahead, then connect the stranger, whose blocks can never fit A's chain.
    while a.chain.head().number < 3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let boot = vec![a.network.as_ref().unwrap().listen_addr.clone()];
    let b = start_on_network(
        b_dir.path(),
        chain_spec(&stranger),
        Some(mining(&stranger, 2)),
        boot,
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Whichever side first meets the other's block 1 (another genesis) bans the other.
        let (na, nb) = (a.network.as_ref().unwrap(), b.network.as_ref().unwrap());
        if na.banned_count() + nb.banned_count() >= 1 && na.peer_count() == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the two chains were never told apart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A goes on mining its own chain, untouched by the stranger's blocks.
    let before = a.chain.head().number;
    while a.chain.head().number < before + 2 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(30),
            "A stopped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reader = a.chain.reader().unwrap();
    for n in 1..=a.chain.head().number {
        let header = reader.header_by_number(n).unwrap().unwrap();
        let seal = ankr_pouw::PouwSeal::decode(&header.seal.proof).unwrap();
        assert_eq!(seal.enclave, honest.address());
    }
    b.stop().await;
    a.stop().await;
    attestation.stop().await;
}
