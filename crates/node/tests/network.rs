//! Several mining nodes on loopback over the real libp2p network: they converge on one chain,
//! and a node started late catches up by syncing every block from its peers.

use alloy_primitives::{Address, U256, keccak256};
use ankr_network::{Multiaddr, NetworkConfig};
use ankr_node::attest::{AttestationClient, AttestationServer};
use ankr_node::miner::MinerConfig;
use ankr_node::{DevSealing, Node, NodeConfig, devnet};
use ankr_pouw::{AttestationService, Enclave, Limits, SimulatedEnclave};
use ankr_types::ChainSpec;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn key(seed: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array(keccak256([seed, 0x54]).0).unwrap()
}

async fn start(
    dir: &std::path::Path,
    spec: &ChainSpec,
    mining: Option<MinerConfig>,
    boot_peers: Vec<Multiaddr>,
) -> Node {
    Node::start(NodeConfig {
        data_dir: dir.to_path_buf(),
        spec: spec.clone(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        sealing: DevSealing::Off,
        beneficiary: Address::repeat_byte(0xbe),
        mining,
        network: Some(NetworkConfig {
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            boot_peers,
            key_file: dir.join("network.key"),
        }),
    })
    .await
    .unwrap()
}

fn canonical(node: &Node, number: u64) -> Option<alloy_primitives::B256> {
    node.chain.reader().unwrap().canonical_hash(number).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_miners_converge_and_a_late_node_syncs() {
    let service = AttestationService::new(key(1));
    let root = service.root_address();
    let attestation = AttestationServer::start(service, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("http://{}", attestation.local_addr);
    let enclaves: Vec<Arc<SimulatedEnclave>> = (0..3)
        .map(|i| {
            Arc::new(SimulatedEnclave::new(
                key(10 + i),
                keccak256([i]),
                Limits::default(),
            ))
        })
        .collect();
    let mut spec = devnet::pouw_spec(
        root,
        enclaves
            .iter()
            .map(|e| (e.address(), e.platform_id()))
            .collect(),
    );
    spec.target_block_time_ms = 1_000;
    // About a second of two cores' useful work per block, so that forks stay rare.
    spec.genesis_difficulty = U256::from(10_000_000_000u64);

    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let mining = |i: usize| MinerConfig {
        enclave: enclaves[i].clone(),
        attestation: AttestationClient::new(&url).unwrap(),
        account: devnet::accounts()[i + 1].secret,
        beneficiary: devnet::accounts()[i + 1].address,
        workloads: ankr_pouw::workloads::builtin(),
        stats: Default::default(),
    };
    let first = start(dirs[0].path(), &spec, Some(mining(0)), vec![]).await;
    let boot = vec![first.network.as_ref().unwrap().listen_addr.clone()];
    let mut nodes = vec![first];
    for i in 1..3 {
        nodes.push(start(dirs[i].path(), &spec, Some(mining(i)), boot.clone()).await);
    }

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
    // The boot node knows both others; they reach each other through it (no discovery yet).
    assert_eq!(nodes[0].network.as_ref().unwrap().peer_count(), 2);
    for node in &nodes[1..] {
        assert!(node.network.as_ref().unwrap().peer_count() >= 1);
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
    let late = start(dirs[3].path(), &spec, None, boot.clone()).await;
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
    attestation.stop().await;
}
