//! The peer-to-peer network with real `ankr node` processes on loopback: a node killed with
//! SIGKILL restarts and catches up; a node started late syncs 500 blocks; a partition grows
//! two chains that merge into the heavier one after healing, losing no transaction.

mod common;

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{TxKind, U256};
use common::*;
use serde_json::json;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The head number and hash every node at `ports` agrees on at `number`, if they do.
fn agree_at(ports: &[u16], number: u64) -> bool {
    let hashes: Vec<Option<String>> = ports.iter().map(|&p| block_hash(p, number)).collect();
    hashes[0].is_some() && hashes.iter().all(|h| *h == hashes[0])
}

fn peer_count(port: u16) -> u64 {
    rpc(port, "net_peerCount", json!([])).map_or(0, |v| hex_u64(&v))
}

#[test]
fn a_node_killed_with_sigkill_restarts_and_catches_up() {
    let network = PouwNetwork::new(3);
    let first = network.start_miner(0, &[], &[]);
    let boot = [first.p2p.clone()];
    let second = network.start_miner(1, &boot, &[]);
    let third = network.start_miner(2, &boot, &[]);
    let ports = [first.rpc, second.rpc, third.rpc];
    wait_until(
        "three nodes agree on block 3",
        Duration::from_secs(120),
        || agree_at(&ports, 3),
    );

    drop(third); // SIGKILL
    let killed_at = block_number(first.rpc).unwrap();
    wait_until("the others go on", Duration::from_secs(60), || {
        block_number(first.rpc).unwrap_or(0) >= killed_at + 4
    });
    let third = network.start_miner(2, &boot, &[]);
    let target = block_number(first.rpc).unwrap();
    wait_until(
        "the restarted node catches up",
        Duration::from_secs(60),
        || block_number(third.rpc).unwrap_or(0) >= target,
    );
    let ports = [first.rpc, second.rpc, third.rpc];
    wait_until(
        "all agree on the caught-up block",
        Duration::from_secs(30),
        || agree_at(&ports, target),
    );
}

#[test]
fn a_node_started_late_syncs_500_blocks() {
    use ankr_enclave::{Enclave, Limits, SimulatedEnclave};
    let dir = tempfile::tempdir().unwrap();
    let enclave = SimulatedEnclave::new(
        secp256k1::SecretKey::from_byte_array(alloy_primitives::keccak256("late sync").0).unwrap(),
        alloy_primitives::keccak256("late sync platform"),
        Limits::default(),
    );
    let mut spec = ankr_node::devnet::pouw_spec_with_period(
        alloy_primitives::Address::repeat_byte(1),
        vec![(enclave.address(), enclave.platform_id())],
        10_000,
    );
    spec.genesis_difficulty = U256::from(1_000u64);
    spec.target_block_time_ms = 1_000;
    let spec_file = dir.path().join("spec.toml");
    std::fs::write(&spec_file, toml::to_string(&spec).unwrap()).unwrap();
    // 500 blocks of 10 transfers, sealed by a real enclave run each.
    let (serving, fresh) = (dir.path().join("serving"), dir.path().join("fresh"));
    {
        let chain = ankr_chain::Chain::open(&serving, spec).unwrap();
        ankr_node::history::mine_history(&chain, &enclave, 500, 10).unwrap();
    }
    let server = start_node(&serving, &spec_file, &[], &[]);
    assert_eq!(block_number(server.rpc), Some(500));
    let late = start_node(&fresh, &spec_file, std::slice::from_ref(&server.p2p), &[]);
    let mut reported_syncing = false;
    wait_until(
        "the late node syncs 500 blocks",
        Duration::from_secs(300),
        || {
            let syncing = rpc(late.rpc, "eth_syncing", json!([]));
            if let Some(status) = syncing.filter(|s| s.is_object()) {
                assert_eq!(hex_u64(&status["highestBlock"]), 500);
                reported_syncing = true;
            }
            block_number(late.rpc) == Some(500)
        },
    );
    assert!(reported_syncing, "eth_syncing never reported the sync");
    assert_eq!(rpc(late.rpc, "eth_syncing", json!([])), Some(json!(false)));
    assert!(agree_at(&[server.rpc, late.rpc], 500));
    // The transactions came with the blocks: a receipt from the middle of the chain.
    let block = rpc(late.rpc, "eth_getBlockByNumber", json!(["0xfa", false])).unwrap();
    let tx = block["transactions"][3].as_str().unwrap().to_string();
    let receipt = rpc(late.rpc, "eth_getTransactionReceipt", json!([tx])).unwrap();
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["blockNumber"], "0xfa");
}

/// A TCP relay to `target` that the test can cut (every connection closed, new ones refused)
/// and restore: a blocked port, where network namespaces would need addresses other than
/// 127.0.0.1.
struct Relay {
    port: u16,
    blocked: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn new(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let blocked = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Default::default();
        let (is_blocked, streams) = (blocked.clone(), open.clone());
        std::thread::spawn(move || {
            for inbound in listener.incoming().flatten() {
                if is_blocked.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let mut open = streams.lock().unwrap();
                open.push(inbound.try_clone().unwrap());
                open.push(outbound.try_clone().unwrap());
                for (mut from, mut to) in [
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                    (outbound, inbound),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Self {
            port,
            blocked,
            open,
        }
    }

    fn cut(&self) {
        self.blocked.store(true, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn restore(&self) {
        self.blocked.store(false, Ordering::SeqCst);
    }
}

/// Sends `count` transfers from dev account `account` to the node at `port`; their hashes.
fn send_transfers(port: u16, account: usize, count: u64) -> Vec<String> {
    let sender = &ankr_node::devnet::accounts()[account];
    (0..count)
        .map(|nonce| {
            let tx = TxEip1559 {
                chain_id: ankr_node::devnet::DEVNET_CHAIN_ID,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(alloy_primitives::Address::repeat_byte(0x77)),
                value: U256::from(1 + nonce),
                ..Default::default()
            };
            let signed = ankr_types::recovery::sign_transaction(&sender.secret, tx);
            let raw = format!("0x{}", alloy_primitives::hex::encode(signed.encoded_2718()));
            rpc(port, "eth_sendRawTransaction", json!([raw]))
                .expect("transaction accepted")
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn mined(port: u16, tx: &str) -> bool {
    rpc(port, "eth_getTransactionReceipt", json!([tx])).is_some_and(|r| r.is_object())
}

/// Sum of block difficulties from 1 to `head` on the node at `port`, and the head's hash.
fn total_difficulty(port: u16) -> (U256, u64, String) {
    let head = block_number(port).unwrap();
    let mut total = U256::ZERO;
    let mut hash = String::new();
    for n in 1..=head {
        let block = rpc(
            port,
            "eth_getBlockByNumber",
            json!([format!("0x{n:x}"), false]),
        )
        .unwrap();
        total += block["difficulty"]
            .as_str()
            .unwrap()
            .parse::<U256>()
            .unwrap();
        hash = block["hash"].as_str().unwrap().to_string();
    }
    (total, head, hash)
}

#[test]
fn a_partition_grows_two_chains_that_merge_into_the_heavier_one() {
    let network = PouwNetwork::new(3);
    // Side A: nodes 0 and 1. Side B: node 2, which reaches A only through the relay.
    // Discovery is off so that no node finds a way around the relay.
    let a0 = network.start_miner(0, &[], &["--no-discovery"]);
    let relay = Relay::new(a0.p2p.split('/').nth(4).unwrap().parse().unwrap());
    let through_relay = a0.p2p.replace(
        &format!("/tcp/{}/", a0.p2p.split('/').nth(4).unwrap()),
        &format!("/tcp/{}/", relay.port),
    );
    let a1 = network.start_miner(1, std::slice::from_ref(&a0.p2p), &["--no-discovery"]);
    let b = network.start_miner(2, std::slice::from_ref(&through_relay), &["--no-discovery"]);
    let all = [a0.rpc, a1.rpc, b.rpc];
    wait_until(
        "one chain before the partition",
        Duration::from_secs(120),
        || agree_at(&all, 4),
    );

    relay.cut();
    wait_until("B cut off", Duration::from_secs(30), || {
        peer_count(b.rpc) == 0
    });
    let split = block_number(a0.rpc)
        .unwrap()
        .max(block_number(b.rpc).unwrap());
    // Each side gets transactions the other never sees.
    let on_a = send_transfers(a0.rpc, 5, 3);
    let on_b = send_transfers(b.rpc, 6, 3);
    wait_until(
        "both sides mine their own blocks",
        Duration::from_secs(120),
        || {
            block_number(a0.rpc).unwrap_or(0) >= split + 3
                && block_number(b.rpc).unwrap_or(0) >= split + 3
                && on_a.iter().all(|tx| mined(a0.rpc, tx))
                && on_b.iter().all(|tx| mined(b.rpc, tx))
        },
    );
    assert_ne!(
        block_hash(a0.rpc, split + 2),
        block_hash(b.rpc, split + 2),
        "the sides did not diverge"
    );
    // B stops mining (killed, restarted as a plain node, still cut off): its chain's work is
    // now fixed, and A's grows past it, so A's branch is the heavier one when they meet.
    drop(b);
    let b = start_node(
        &network.node_dir(2),
        &network.spec,
        &[through_relay],
        &["--no-discovery".to_string()],
    );
    let (td_b, head_b, hash_b) = total_difficulty(b.rpc);
    wait_until("A heavier than B", Duration::from_secs(60), || {
        total_difficulty(a0.rpc).0 > td_b
    });
    let (td_a, head_a, _) = total_difficulty(a0.rpc);
    // A's block at split + 2 is buried by now; A's tip is not (its two miners may still swap
    // it for a sibling), so the merge is checked on the buried block.
    let a_side = block_hash(a0.rpc, split + 2).unwrap();
    println!("at healing: A head {head_a} (work {td_a}), B head {head_b} (work {td_b})");
    let all = [a0.rpc, a1.rpc, b.rpc];

    relay.restore();
    wait_until(
        "B adopts A's heavier chain",
        Duration::from_secs(120),
        || {
            block_hash(b.rpc, split + 2) == Some(a_side.clone())
                && block_number(b.rpc).unwrap_or(0) >= head_a
        },
    );
    assert_ne!(
        block_hash(b.rpc, head_b),
        Some(hash_b),
        "B's branch was dropped"
    );
    let top = block_number(b.rpc).unwrap();
    wait_until("one chain after healing", Duration::from_secs(60), || {
        agree_at(&all, top)
    });
    // No transaction of either side is lost: the loser's go back to the pool and are mined.
    wait_until(
        "every transaction on the merged chain",
        Duration::from_secs(90),
        || {
            all.iter()
                .all(|&port| on_a.iter().chain(&on_b).all(|tx| mined(port, tx)))
        },
    );
}
