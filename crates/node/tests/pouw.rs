//! Proof of Useful Work on real nodes over real JSON-RPC: the built-in miner (with its
//! attestation service and registration renewals), an external miner through
//! `ankr_getBlockTemplate`/`ankr_submitBlock`, and every broken rule named (the
//! compromised-enclave defences are in `attacks.rs`).

use alloy_primitives::{Address, B256, U256, hex, keccak256};
use ankr_client::attest::{AttestationClient, AttestationServer};
use ankr_enclave::workloads::{Workload, builtin};
use ankr_enclave::{Enclave, Limits, SimulatedEnclave};
use ankr_node::devnet;
use ankr_node::miner::MinerConfig;
use ankr_node::test_utils::pouw::{call, seal, spec, start, submit, template};
use ankr_pouw::{AttestationService, PouwSeal};
use ankr_types::{Block, Header, Seal, SealKind};
use jsonrpsee::http_client::HttpClient;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

fn key(seed: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array(keccak256([seed, 0x51]).0).unwrap()
}

fn enclave(seed: u8) -> Arc<SimulatedEnclave> {
    Arc::new(SimulatedEnclave::new(
        key(seed),
        keccak256([seed, 0x52]),
        Limits::default(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_miner_seals_by_useful_work_renews_its_registration_and_survives_failing_tasks() {
    let service = AttestationService::new(key(200));
    let root = service.root_address();
    let miner_enclave = enclave(1);
    service.provision(miner_enclave.platform_address()).unwrap();
    let attestation = AttestationServer::start(service, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("http://{}", attestation.local_addr);
    // Registrations last 6 blocks, so reaching block 14 takes at least two renewals.
    let spec = spec(root, std::slice::from_ref(&miner_enclave), 6, 50_000_000);
    let account = devnet::accounts()[1].clone();
    let mut workloads = builtin();
    workloads.push(Workload {
        name: "traps",
        module: wat::parse_str(r#"(module (func (export "_start") unreachable))"#)
            .unwrap()
            .into(),
        params: 0,
    });
    let stats = Arc::new(ankr_pouw::stats::MiningStats::default());
    let mining = MinerConfig {
        enclave: miner_enclave.clone(),
        attestation: AttestationClient::new(&url).unwrap(),
        account: account.secret,
        beneficiary: account.address,
        workloads,
        builtin_duty: 1.0,
        stats: stats.clone(),
    };
    let (_dir, node, client) = start(spec, Some(mining)).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    while node.chain.head().number < 14 {
        if Instant::now() > deadline {
            let status = call(&client, "ankr_pouwStatus", json!([])).await.unwrap();
            panic!("mining stalled at {}: {status}", node.chain.head().number);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every block re-checks from its raw header alone (plus the registry).
    for n in 1..=14u64 {
        let raw = call(&client, "debug_getRawHeader", json!([format!("0x{n:x}")]))
            .await
            .unwrap();
        let bytes = hex::decode(raw.as_str().unwrap()).unwrap();
        let header = Header::decode_exact(&bytes).unwrap();
        assert_eq!(header.seal.kind, SealKind::UsefulWork);
        let seal = PouwSeal::decode(&header.seal.proof).unwrap();
        seal.verify(header.template_hash(), header.difficulty)
            .unwrap();
        assert_eq!(seal.enclave, miner_enclave.address());
    }

    let status = call(&client, "ankr_pouwStatus", json!([])).await.unwrap();
    assert_eq!(status["enclavesAre"], "simulated");
    let enclave = &status["enclaves"][0];
    assert_eq!(enclave["live"], true);
    assert!(enclave["expiresAt"].as_u64().unwrap() > 14, "{status}");
    assert!(enclave["wins"].as_u64().unwrap() >= 13);
    let local = &status["localMiner"];
    assert!(local["failedSubtasks"].as_u64().unwrap() > 0, "{status}");
    assert!(local["lastFailure"].as_str().unwrap().contains("traps"));
    assert!(stats.wins.load(Relaxed) >= 14);
    // Its own sealed templates were imported from the execution done when it built them.
    assert!(node.chain.metrics().templates_reused >= 14);

    // The beneficiary earned block rewards; registrations were paid by the same account.
    let balance = call(
        &client,
        "eth_getBalance",
        json!([account.address, "latest"]),
    )
    .await
    .unwrap();
    let start = U256::from(devnet::DEV_BALANCE_ANKR) * U256::from(10u64).pow(U256::from(18));
    assert!(
        U256::from_str_radix(balance.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
            > start
    );

    node.stop().await;
    attestation.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_miner_submits_and_every_broken_rule_is_named() {
    let miner = enclave(7);
    let stranger = enclave(8); // never registered
    let (_dir, node, client) = start(
        spec(Address::ZERO, std::slice::from_ref(&miner), 1_000, 1_000),
        None,
    )
    .await;
    let mut index = 0;
    let mut next = || {
        index += 1;
        index
    };

    // A valid block: fetched, sealed outside the node, submitted, and now the head.
    let mut block = template(&client).await;
    assert!(seal(&miner, &mut block, next()));
    let hash = submit(&client, &block).await.unwrap();
    assert_eq!(hash.as_str().unwrap(), block.header.hash().to_string());
    assert_eq!(node.chain.head().number, 1);
    // Built here: imported from the execution kept when the template was built.
    assert_eq!(node.chain.metrics().templates_reused, 1);

    let rejected = |result: Result<Value, (i32, String)>| match result {
        Err((_, message)) => message,
        Ok(v) => panic!("accepted: {v}"),
    };
    let base = template(&client).await;

    let mut bad = base.clone();
    seal(&miner, &mut bad, next());
    let mut proof = PouwSeal::decode(&bad.header.seal.proof).unwrap();
    let mut signature = proof.signature.to_vec();
    signature[10] ^= 1;
    proof.signature = signature.into();
    bad.header.seal.proof = proof.encode();
    let message = rejected(submit(&client, &bad).await);
    assert!(message.contains("invalid PoUW seal"), "{message}");

    let mut bad = base.clone();
    seal(&stranger, &mut bad, next());
    let message = rejected(submit(&client, &bad).await);
    assert!(
        message.contains("is not live in EnclaveRegistry"),
        "{message}"
    );

    let mut bad = base.clone();
    bad.header.difficulty += U256::from(1);
    seal(&miner, &mut bad, next());
    let message = rejected(submit(&client, &bad).await);
    assert!(message.contains("difficulty"), "{message}");

    let mut bad = base.clone();
    bad.header.parent_hash = B256::repeat_byte(0x77);
    seal(&miner, &mut bad, next());
    let message = rejected(submit(&client, &bad).await);
    assert!(message.contains("unknown parent"), "{message}");

    let mut bad = base.clone();
    bad.header.state_root = B256::repeat_byte(0x55);
    seal(&miner, &mut bad, next());
    let message = rejected(submit(&client, &bad).await);
    assert!(message.contains("state root"), "{message}");

    // The template's header and seal with other transactions: not the template built here,
    // so it is executed like any block, and its header does not commit to them.
    let mut bad = base.clone();
    seal(&miner, &mut bad, next());
    let stranger_key = key(9);
    bad.transactions
        .push(ankr_types::recovery::sign_transaction(
            &stranger_key,
            alloy_consensus::TxEip1559 {
                chain_id: devnet::spec().chain_id,
                gas_limit: 21_000,
                max_fee_per_gas: 1 << 40,
                to: alloy_primitives::TxKind::Call(Address::repeat_byte(9)),
                ..Default::default()
            },
        ));
    let message = rejected(submit(&client, &bad).await);
    assert!(message.contains("transactions root"), "{message}");

    let mut bad = base.clone();
    bad.header.timestamp = ankr_chain::now_seconds() + 3_600;
    seal(&miner, &mut bad, next());
    let message = rejected(submit(&client, &bad).await);
    assert!(message.contains("ahead of local time"), "{message}");

    let mut bad = base.clone();
    bad.header.seal = Seal::dev();
    let message = rejected(submit(&client, &bad).await);
    assert!(message.contains("dev seal is not allowed"), "{message}");

    let (code, message) = submit_raw(&client, "0xc0ffee").await.unwrap_err();
    assert_eq!(code, -32602, "{message}");

    // A seal that proves nothing at a real difficulty: the draw is above the threshold.
    let (_dir2, _hard_node, hard) = start(
        spec(Address::ZERO, std::slice::from_ref(&miner), 1_000, 1 << 60),
        None,
    )
    .await;
    let mut block = template(&hard).await;
    assert!(!seal(&miner, &mut block, next()));
    let message = rejected(submit(&hard, &block).await);
    assert!(message.contains("not below the threshold"), "{message}");

    // Nothing refused was written: the head is still block 1 and the valid template still fits.
    assert_eq!(node.chain.head().number, 1);
    let mut good = base.clone();
    assert!(seal(&miner, &mut good, next()));
    submit(&client, &good).await.unwrap();
    assert_eq!(node.chain.head().number, 2);
    assert_eq!(node.chain.metrics().templates_reused, 2);
    node.stop().await;
}

async fn submit_raw(client: &HttpClient, raw: &str) -> Result<Value, (i32, String)> {
    call(client, "ankr_submitBlock", json!([raw])).await
}

/// The raw block `number` of a node, as peers would relay it.
async fn raw_block(client: &HttpClient, number: u64) -> Block {
    let raw = call(
        client,
        "debug_getRawBlock",
        json!([format!("0x{number:x}")]),
    )
    .await
    .unwrap();
    Block::decode_exact(&hex::decode(raw.as_str().unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_branch_with_more_cumulative_difficulty_wins_and_nothing_is_lost() {
    let miner = enclave(30);
    let spec = spec(Address::ZERO, std::slice::from_ref(&miner), 1_000, 1_000);
    let (_a_dir, a, node_a) = start(spec.clone(), None).await;
    let (_b_dir, b, node_b) = start(spec, None).await;
    let mut index = 0;
    let mut mine = |client: HttpClient| {
        index += 1;
        let miner = miner.clone();
        let index = index;
        async move {
            let mut block = template(&client).await;
            assert!(seal(&miner, &mut block, index));
            submit(&client, &block).await.unwrap();
            block
        }
    };

    // A's block 1 carries a transfer; B mines an empty block 1 and a block 2 on it.
    let account = devnet::accounts()[2].clone();
    let tx = alloy_consensus::TxEip1559 {
        chain_id: devnet::DEVNET_CHAIN_ID,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: alloy_primitives::TxKind::Call(Address::repeat_byte(0x42)),
        value: U256::from(7),
        ..Default::default()
    };
    let tx = ankr_types::recovery::sign_transaction(&account.secret, tx);
    let raw_tx = format!(
        "0x{}",
        hex::encode(alloy_eips::Encodable2718::encoded_2718(&tx))
    );
    let tx_hash = call(&node_a, "eth_sendRawTransaction", json!([raw_tx]))
        .await
        .unwrap();
    let a1 = mine(node_a.clone()).await;
    assert_eq!(a1.transactions.len(), 1);
    let b1 = mine(node_b.clone()).await;
    let b2 = mine(node_b.clone()).await;

    // B's block 1 ties with A's: A keeps the one it saw first.
    submit(&node_a, &b1).await.unwrap();
    assert_eq!(a.chain.head().hash(), a1.header.hash());

    // A heavier block 2 on a forged state root: adopted as a side block, refused on the
    // reorganisation, and A stays exactly where it was.
    let mut bad = raw_block(&node_b, 2).await;
    bad.header.state_root = B256::repeat_byte(9);
    seal(&enclave(30), &mut bad, 1); // the same enclave key, restarted
    let (_, message) = submit(&node_a, &bad).await.unwrap_err();
    assert!(
        message.contains("is invalid, the chain stays on its head"),
        "{message}"
    );
    assert!(message.contains("state root"), "{message}");
    assert_eq!(a.chain.head().hash(), a1.header.hash());
    let receipt = call(&node_a, "eth_getTransactionReceipt", json!([tx_hash]))
        .await
        .unwrap();
    assert_eq!(
        receipt["blockHash"].as_str().unwrap(),
        a1.header.hash().to_string()
    );

    // B's real block 2 makes its branch heavier: A reorganises onto it, and a WebSocket
    // `newHeads` subscriber is told of each block of the new branch.
    let ws = ankr_node::test_utils::websocket(&a).await;
    let mut heads: jsonrpsee::core::client::Subscription<Value> =
        jsonrpsee::core::client::SubscriptionClientT::subscribe(
            &ws,
            "eth_subscribe",
            jsonrpsee::rpc_params!["newHeads"],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    submit(&node_a, &b2).await.unwrap();
    assert_eq!(a.chain.head().hash(), b2.header.hash());
    for block in [&b1, &b2] {
        let head = tokio::time::timeout(Duration::from_secs(5), heads.next())
            .await
            .expect("newHeads reports the reorganisation")
            .unwrap()
            .unwrap();
        assert_eq!(
            head["hash"].as_str().unwrap(),
            block.header.hash().to_string()
        );
    }
    let one = call(&node_a, "eth_getBlockByNumber", json!(["0x1", false]))
        .await
        .unwrap();
    assert_eq!(one["hash"].as_str().unwrap(), b1.header.hash().to_string());
    // What A saw, as the explorer shows it: B's block 1 beside its own, then the move onto
    // B's branch (the forged block 2 was a side block too; its reorganisation failed).
    let forks = call(&node_a, "ankr_recentForks", json!([])).await.unwrap();
    let forks = forks.as_array().unwrap();
    let side = forks
        .iter()
        .find(|f| f["kind"] == "sideBlock" && f["hash"] == b1.header.hash().to_string())
        .expect("B's block 1 was a side block on A");
    assert_eq!(side["heavier"], false);
    let reorganisation = forks.last().unwrap();
    assert_eq!(reorganisation["kind"], "reorganisation");
    assert_eq!(reorganisation["hash"], b2.header.hash().to_string());
    assert_eq!(reorganisation["from"], a1.header.hash().to_string());
    assert_eq!(reorganisation["unwound"], 1);
    assert_eq!(reorganisation["number"], 2);
    // The transfer only A's old block had is pending again, and the next block includes it.
    let pending = call(&node_a, "eth_getTransactionReceipt", json!([tx_hash]))
        .await
        .unwrap();
    assert!(pending.is_null(), "{pending}");
    let a3 = mine(node_a.clone()).await;
    assert_eq!(a3.header.number, 3);
    assert_eq!(a3.transactions.len(), 1);
    let receipt = call(&node_a, "eth_getTransactionReceipt", json!([tx_hash]))
        .await
        .unwrap();
    assert_eq!(receipt["status"], "0x1");
    // State follows the new head: the recipient got the value exactly once.
    let balance = call(
        &node_a,
        "eth_getBalance",
        json!([Address::repeat_byte(0x42), "latest"]),
    )
    .await
    .unwrap();
    assert_eq!(balance, "0x7");
    a.stop().await;
    b.stop().await;
}
