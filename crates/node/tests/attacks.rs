//! The attack suite of consensus and the node (issue 12): each test runs one attack the way an
//! attacker would — against real nodes on loopback, through JSON-RPC and the attestation
//! service over HTTP, holding nothing but its own simulated enclave's files — and shows it
//! defeated. One test per attack, in the issue's order:
//!
//! 1. forged instruction counts;            6. one endless market task;
//! 2. made-up platform ids;                 7. a pool pinned by gapped transactions;
//! 3. idle registrations halting a chain;   8. side blocks without state;
//! 4. two encodings of one signature;       9. parents stamped ahead of the clock;
//! 5. cheap lottery tickets;               10. an unmetered blob store.
//!
//! And the audit's consensus item (issue 13, M-7): thousands of registered platforms.

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, hex, keccak256};
use alloy_sol_types::SolCall;
use ankr_chain::Contents;
use ankr_client::attest::{AttestationClient, AttestationServer};
use ankr_contracts::WorkMarket;
use ankr_contracts::genesis::WORK_MARKET_ADDRESS;
use ankr_enclave::workloads::builtin;
use ankr_enclave::{Enclave, Limits, SimulatedEnclave};
use ankr_node::miner::MinerConfig;
use ankr_node::test_utils::pouw::{call, seal as seal_honestly, spec, start, submit, template};
use ankr_node::{DevSealing, Node, devnet};
use ankr_pouw::{AttestationService, PouwSeal, signing};
use ankr_types::{Block, ChainSpec, Seal, SealKind};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn key(seed: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array(keccak256([seed, 0xa7]).0).unwrap()
}

fn enclave(seed: u8) -> Arc<SimulatedEnclave> {
    Arc::new(SimulatedEnclave::new(
        key(seed),
        keccak256([seed, 0xa8]),
        Limits::default(),
    ))
}

/// Waits until the wall clock has passed the head's stamp, so that the next template is
/// stamped now (what an honest miner's pace looks like) and not ahead of the clock.
async fn pace(node: &Node) {
    while ankr_chain::now_seconds() <= node.chain.head().timestamp {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A forged seal: what a host holding its simulated enclave's key can sign without running
/// anything.
fn forge(key: &secp256k1::SecretKey, platform_id: B256, block: &mut Block, instructions: u64) {
    let task_id = B256::repeat_byte(0xf0);
    let subtask = block.header.number;
    let result_hash = B256::ZERO;
    let digest = signing::seal_digest(
        block.header.template_hash(),
        block.header.difficulty,
        task_id,
        subtask,
        instructions,
        result_hash,
    );
    let seal = PouwSeal {
        enclave: signing::address_of(key),
        platform_id,
        task_id,
        subtask,
        instructions,
        result_hash,
        signature: signing::sign(key, digest).to_vec().into(),
    };
    block.header.seal = Seal {
        kind: SealKind::UsefulWork,
        proof: seal.encode(),
    };
}

fn quantity(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Signs and sends a transaction from devnet account `from` with an explicit nonce.
fn signed(
    from: &secp256k1::SecretKey,
    nonce: u64,
    to: Address,
    value: U256,
    input: Vec<u8>,
    gas: u64,
) -> String {
    let tx = TxEip1559 {
        chain_id: devnet::DEVNET_CHAIN_ID,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 2_000_000_000,
        to: TxKind::Call(to),
        value,
        input: input.into(),
        ..Default::default()
    };
    let tx = ankr_types::recovery::sign_transaction(from, tx);
    format!("0x{}", hex::encode(tx.encoded_2718()))
}

async fn nonce(client: &HttpClient, address: Address) -> u64 {
    quantity(
        &call(
            client,
            "eth_getTransactionCount",
            json!([address, "pending"]),
        )
        .await
        .unwrap(),
    )
}

/// Sends a call from devnet account `from` and waits for its receipt.
async fn transact(
    client: &HttpClient,
    from: usize,
    to: Address,
    value: U256,
    input: Vec<u8>,
) -> Value {
    let account = &devnet::accounts()[from];
    let n = nonce(client, account.address).await;
    let raw = signed(&account.secret, n, to, value, input, 1_000_000);
    let hash = call(client, "eth_sendRawTransaction", json!([raw]))
        .await
        .unwrap();
    for _ in 0..600 {
        let receipt = call(client, "eth_getTransactionReceipt", json!([hash]))
            .await
            .unwrap();
        if !receipt.is_null() {
            return receipt;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("transaction {hash} was not mined");
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A mining node: the built-in miner with `enclave` (registered at genesis with `others`,
/// provisioned at the attestation service, registrations lasting `period` blocks), its spec
/// adjusted by `tweak`.
async fn mining_node(
    enclave: Arc<SimulatedEnclave>,
    others: &[&Arc<SimulatedEnclave>],
    period: u64,
    difficulty: u64,
    tweak: impl FnOnce(&mut ChainSpec),
) -> (tempfile::TempDir, Node, HttpClient, AttestationServer) {
    let service = AttestationService::new(key(200));
    service.provision(enclave.platform_address()).unwrap();
    let root = service.root_address();
    let attestation = AttestationServer::start(service, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("http://{}", attestation.local_addr);
    let mut bootstrap = vec![(enclave.address(), enclave.platform_id())];
    bootstrap.extend(others.iter().map(|e| (e.address(), e.platform_id())));
    let mut spec = devnet::pouw_spec_with_period(root, bootstrap, period);
    spec.genesis_difficulty = U256::from(difficulty);
    spec.target_block_time_ms = 1_000;
    tweak(&mut spec);
    let account = devnet::accounts()[9].clone();
    let mining = MinerConfig {
        enclave,
        attestation: AttestationClient::new(&url).unwrap(),
        account: account.secret,
        beneficiary: account.address,
        workloads: builtin(),
        builtin_duty: 1.0,
        stats: Default::default(),
    };
    let (dir, node, client) = start(spec, Some(mining)).await;
    (dir, node, client, attestation)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_01_forged_instruction_counts_buy_no_more_than_the_fastest_honest_rate() {
    let attacker = enclave(1);
    let honest = enclave(2);
    let mut spec = spec(
        Address::ZERO,
        &[attacker.clone(), honest.clone()],
        1_000,
        1_000,
    );
    // A platform at the fastest honest rate expects 0.2 wins per one-second block at the
    // minimum difficulty, so a key holder winning every second stands out within seconds.
    spec.pouw.max_platform_rate = 200;
    spec.pouw.defence_window = 50;
    let params = ankr_pouw::DefenceParams::from_spec(&spec.pouw);
    let max_tickets = spec.pouw.max_subtask_tickets;
    let (_dir, node, client) = start(spec, None).await;
    let platform = attacker.platform_id();

    // 2^64 − 1 claimed instructions: an instant win once; now refused outright.
    let mut block = template(&client).await;
    forge(&key(1), platform, &mut block, u64::MAX);
    let (_, message) = submit(&client, &block).await.unwrap_err();
    assert!(
        message.contains("more than the 4294967296 one subtask may hold"),
        "{message}"
    );

    // Claiming exactly a subtask's cap wins every draw at this difficulty; the key holder
    // tries every second for 12 s.
    let (mut accepted, mut refused) = (0u64, 0u64);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(12) {
        pace(&node).await;
        let mut block = template(&client).await;
        forge(&key(1), platform, &mut block, max_tickets);
        match submit(&client, &block).await {
            Ok(_) => accepted += 1,
            Err((_, message)) => {
                assert!(message.contains("fastest honest rate"), "{message}");
                refused += 1;
            }
        }
    }
    // What it got is what a platform at the fastest honest rate may win in that time.
    let head = node.chain.head();
    let (window, _) = node.chain.defence_window(platform, &head).unwrap();
    let cap = params.cap(&window);
    println!("key holder: {accepted} blocks accepted, {refused} refused; cap now {cap}");
    assert!(refused > 0, "the key holder was never refused");
    assert!(accepted <= cap + 1, "{accepted} accepted, cap {cap}");

    // The honest platform seals at once: the cap binds the key holder, not the chain.
    pace(&node).await;
    let mut block = template(&client).await;
    assert!(seal_honestly(&honest, &mut block, 1));
    submit(&client, &block).await.unwrap();
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_02_made_up_platforms_are_not_certified() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("platforms");
    let service = AttestationService::with_records(key(100), records.clone());
    let root = service.root_address();
    let honest = enclave(10);
    service.provision(honest.platform_address()).unwrap();
    let server = AttestationServer::start(service, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let client = AttestationClient::new(&format!("http://{}", server.local_addr)).unwrap();
    let nonce = B256::repeat_byte(7);

    // The honest, provisioned platform is certified over HTTP.
    client.certify(&honest.quote(nonce), root).await.unwrap();

    // A key holder makes ten platforms of its own: none is certified.
    for seed in 20..30 {
        let sybil = enclave(seed);
        let error = client.certify(&sybil.quote(nonce), root).await.unwrap_err();
        assert!(error.to_string().contains("not provisioned"), "{error}");
    }
    // Nor can it claim the honest host's platform: it lacks that CPU's provisioning key.
    let thief = enclave(31);
    let mut quote = thief.quote(nonce);
    quote.platform_id = honest.platform_id();
    quote.signature = signing::sign(&key(31), quote.digest()).to_vec().into();
    let error = client.certify(&quote, root).await.unwrap_err();
    assert!(error.to_string().contains("provisioning key"), "{error}");

    // Only the manufacturer's records add platforms (the service rereads them).
    let new = enclave(40);
    ankr_pouw::attestation::provision_in(&records, new.platform_address()).unwrap();
    client.certify(&new.quote(nonce), root).await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_03_idle_registrations_and_unequal_miners_do_not_halt_the_chain() {
    // Two honest miners and six registered platforms that never mine (miners gone offline,
    // or Sybils that stopped). PoET's z-test over 12 blocks with p = 1/8 refused a miner
    // winning half the blocks (z ≈ 3.9) and froze the chain for good.
    let (a, b) = (enclave(50), enclave(51));
    let idle: Vec<_> = (52..58).map(enclave).collect();
    let mut all = vec![a.clone(), b.clone()];
    all.extend(idle.iter().cloned());
    let mut spec = spec(Address::ZERO, &all, 1_000, 1_000);
    spec.pouw.defence_window = 12;
    let (_dir, node, client) = start(spec, None).await;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for index in 1..=30u64 {
        // A wins three blocks in four: unequal honest miners.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let miner = if seed.is_multiple_of(4) { &b } else { &a };
        pace(&node).await;
        let mut block = template(&client).await;
        assert!(seal_honestly(miner, &mut block, index));
        submit(&client, &block)
            .await
            .unwrap_or_else(|e| panic!("block {index} refused: {e:?}"));
    }
    assert_eq!(node.chain.head().number, 30);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_04_a_second_encoding_of_a_losing_signature_is_no_second_draw() {
    let miner = enclave(60);
    let (_dir, node, client) = start(
        spec(Address::ZERO, std::slice::from_ref(&miner), 1_000, 1_000),
        None,
    )
    .await;
    let mut block = template(&client).await;
    assert!(seal_honestly(&miner, &mut block, 1));
    let mut seal = PouwSeal::decode(&block.header.seal.proof).unwrap();
    let mut signature = seal.signature.to_vec();
    signature[64] -= 27; // v ∈ {0, 1}: the same signature, another hash, another draw
    seal.signature = signature.into();
    block.header.seal.proof = seal.encode();
    let (_, message) = submit(&client, &block).await.unwrap_err();
    assert!(message.contains("invalid PoUW seal"), "{message}");
    assert_eq!(node.chain.head().number, 0);
    node.stop().await;
}

/// Posts a WorkMarket task for `module` with an empty input from account 0 and uploads its
/// blobs; returns the task id.
async fn post_task(client: &HttpClient, module: &[u8], budget: u64) -> u64 {
    let input: Vec<u8> = Vec::new();
    let price = 1u128;
    let post = WorkMarket::postCall {
        moduleHash: keccak256(module),
        inputHash: keccak256(&input),
        pricePerInstruction: price,
        maxInstructions: budget,
        deadlineBlocks: 200,
    };
    let escrow = U256::from(price) * U256::from(budget);
    let receipt = transact(client, 0, WORK_MARKET_ADDRESS, escrow, post.abi_encode()).await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    let id = U256::from_be_slice(
        &hex::decode(receipt["logs"][0]["topics"][1].as_str().unwrap()).unwrap(),
    );
    for blob in [module, &input] {
        call(
            client,
            "ankr_putBlob",
            json!([Bytes::copy_from_slice(blob)]),
        )
        .await
        .unwrap();
    }
    id.to()
}

async fn market_task(client: &HttpClient, id: u64) -> WorkMarket::tasksReturn {
    let data = WorkMarket::tasksCall(U256::from(id)).abi_encode();
    let out = call(
        client,
        "eth_call",
        json!([{ "to": WORK_MARKET_ADDRESS, "data": Bytes::from(data) }, "latest"]),
    )
    .await
    .unwrap();
    WorkMarket::tasksCall::abi_decode_returns(&hex::decode(out.as_str().unwrap()).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_05_and_06_cheap_tickets_and_an_endless_task_neither_pay_nor_stop_mining() {
    let (_dir, node, client, attestation) =
        mining_node(enclave(70), &[], 1_000, 50_000_000, |_| {}).await;
    wait_for("a first block", Duration::from_secs(30), async || {
        node.chain.head().number >= 1
    })
    .await;

    // 5. 10,000 iterations of 200 nops: 2 M operators, but nops compile to nothing, so the
    // weighted count is the loop's decrement and branch: 2 tickets an iteration, plus 1.
    let nops = wat::parse_str(format!(
        r#"(module (func (export "_start") (local i32)
             (local.set 0 (i32.const 10000))
             (loop {} (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br_if 0 (local.get 0)))))"#,
        "nop ".repeat(200)
    ))
    .unwrap();
    let cheap = post_task(&client, &nops, 10_000_000).await;

    // 6. An endless loop: once with a budget of 10^13 (it held every miner), once within one
    // subtask's tickets (it runs out of budget in a bounded slice and is paid for).
    let endless = wat::parse_str(r#"(module (func (export "_start") (loop br 0)))"#).unwrap();
    let huge = post_task(&client, &endless, 10_000_000_000_000).await;
    let bounded = post_task(&client, &endless, 1 << 30).await;

    let posted_at = node.chain.head().number;
    wait_for(
        "both runnable tasks delivered",
        Duration::from_secs(60),
        async || {
            market_task(&client, cheap).await.state == 2
                && market_task(&client, bounded).await.state == 2
        },
    )
    .await;
    let task = market_task(&client, cheap).await;
    assert_eq!(
        task.instructions,
        1 + 10_000 * 2,
        "weighted tickets of the nop loop"
    );
    let task = market_task(&client, bounded).await;
    assert_eq!(
        task.instructions,
        1 << 30,
        "the endless loop ran one bounded slice"
    );
    // Mining goes on while the huge task stays open (skipped: it cannot fit a subtask).
    wait_for(
        "blocks after the tasks",
        Duration::from_secs(60),
        async || node.chain.head().number >= posted_at + 5,
    )
    .await;
    assert_eq!(
        market_task(&client, huge).await.state,
        1,
        "still open, refundable"
    );
    node.stop().await;
    attestation.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_07_gapped_transactions_cannot_pin_the_pool() {
    // Registrations last 8 blocks: the miner must renew during the attack to go on mining.
    let (_dir, node, client, attestation) =
        mining_node(enclave(80), &[], 8, 50_000_000, |_| {}).await;
    wait_for("a first block", Duration::from_secs(30), async || {
        node.chain.head().number >= 1
    })
    .await;

    // Fund 130 fresh attacker accounts from the devnet accounts 1–8.
    let attackers: Vec<secp256k1::SecretKey> = (0..130u32)
        .map(|i| secp256k1::SecretKey::from_byte_array(keccak256(i.to_be_bytes()).0).unwrap())
        .collect();
    let mut funding = Vec::new();
    for (i, attacker) in attackers.iter().enumerate() {
        let from = &devnet::accounts()[1 + i % 8];
        let n = nonce(&client, from.address).await;
        let raw = signed(
            &from.secret,
            n,
            signing::address_of(attacker),
            U256::from(10u128.pow(18)),
            vec![],
            21_000,
        );
        funding.push(
            call(&client, "eth_sendRawTransaction", json!([raw]))
                .await
                .unwrap(),
        );
    }
    wait_for(
        "the attackers funded",
        Duration::from_secs(60),
        async || {
            let last = funding.last().unwrap();
            !call(&client, "eth_getTransactionReceipt", json!([last]))
                .await
                .unwrap()
                .is_null()
        },
    )
    .await;

    // 130 accounts × 64 transfers at nonces 1..=64 (nonce 0 never sent: all gapped) at a high
    // tip: 8,320 transactions, more than the whole pool held.
    let mut accepted = 0;
    for attacker in &attackers {
        let mut batch = jsonrpsee::core::params::BatchRequestBuilder::new();
        for n in 1..=64 {
            let raw = signed(
                attacker,
                n,
                Address::repeat_byte(0xad),
                U256::from(1),
                vec![],
                21_000,
            );
            batch
                .insert("eth_sendRawTransaction", jsonrpsee::rpc_params![raw])
                .unwrap();
        }
        let answers = client.batch_request::<Value>(batch).await.unwrap();
        accepted += answers.iter().filter(|a| a.is_ok()).count();
    }
    assert!(accepted <= 1_024, "{accepted} gapped transactions pooled");

    // An honest transfer gets in and is mined, and the miner keeps renewing and sealing.
    let receipt = transact(
        &client,
        0,
        Address::repeat_byte(0x11),
        U256::from(5),
        vec![],
    )
    .await;
    assert_eq!(receipt["status"], "0x1");
    let now = node.chain.head().number;
    wait_for(
        "mining past two renewals",
        Duration::from_secs(90),
        async || node.chain.head().number >= now + 16,
    )
    .await;
    node.stop().await;
    attestation.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_08_a_bad_branch_costs_one_failed_reorganisation_not_one_per_block() {
    let target = ankr_node::test_utils::DevChain::start(devnet::spec(), DevSealing::Off).await;
    let attacker = ankr_node::test_utils::DevChain::start(devnet::spec(), DevSealing::Off).await;
    let build = |chain: &Arc<ankr_chain::Chain>, beneficiary: u8| {
        chain
            .build_block(
                Address::repeat_byte(beneficiary),
                ankr_chain::now_seconds(),
                &ankr_chain::Sealer::Dev,
                Contents::AnyNumber,
            )
            .unwrap()
            .unwrap()
    };
    // The target's chain: 6 blocks.
    for _ in 0..6 {
        build(&target.node.chain, 0xbe);
    }
    // The attacker's branch: 4 valid blocks, then one with a garbage state root, then blocks
    // on top of it — more blocks than the target has, so the branch looks heavier.
    let mut branch = Vec::new();
    for _ in 0..5 {
        let header = build(&attacker.node.chain, 0xa0);
        let raw = attacker
            .rpc(
                "debug_getRawBlock",
                json!([format!("0x{:x}", header.number)]),
            )
            .await
            .unwrap();
        branch.push(Block::decode_exact(&hex::decode(raw.as_str().unwrap()).unwrap()).unwrap());
    }
    let mut bad = branch.pop().unwrap();
    bad.header.state_root = B256::repeat_byte(0xba);
    branch.push(bad);
    for _ in 0..22 {
        let parent = branch.last().unwrap().header.clone();
        let mut header = parent.clone();
        header.parent_hash = parent.hash();
        header.number += 1;
        header.timestamp += 1;
        header.base_fee_per_gas = ankr_chain::next_base_fee(&parent);
        branch.push(Block {
            header,
            transactions: vec![],
        });
    }
    let head = target.node.chain.head();
    let mut refusals = Vec::new();
    for block in &branch {
        let raw = format!("0x{}", hex::encode(alloy_rlp::encode(block)));
        if let Err(message) = target.rpc("ankr_submitBlock", json!([raw])).await {
            refusals.push(message);
        }
    }
    // The 7th branch block made it heavier: one reorganisation, which failed on the bad
    // block and restored the head; every later block was refused without touching state.
    assert_eq!(target.node.chain.failed_reorganisations(), 1);
    assert_eq!(target.node.chain.head().hash(), head.hash());
    let descendants = refusals
        .iter()
        .filter(|m| m.contains("descends from a block found invalid"))
        .count();
    assert!(descendants >= 20, "{refusals:#?}");
    target.node.stop().await;
    attacker.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_09_a_parent_stamped_ahead_does_not_make_honest_miners_wait() {
    // A key holder's platform registered beside the honest miner; the difficulty stays put
    // (a very long ASERT half-life) so that the honest miner wins within milliseconds.
    let attacker = enclave(91);
    let (_dir, node, client, attestation) =
        mining_node(enclave(90), &[&attacker], 1_000, 50_000_000, |spec| {
            spec.pouw.difficulty_halflife_ms = 1 << 50;
        })
        .await;
    wait_for("a first block", Duration::from_secs(30), async || {
        node.chain.head().number >= 1
    })
    .await;
    let tickets = node.chain.spec().pouw.max_subtask_tickets;
    let forged = async |ahead: u64| {
        let mut block = template(&client).await;
        block.header.timestamp = ankr_chain::now_seconds() + ahead;
        forge(&key(91), attacker.platform_id(), &mut block, tickets);
        (submit(&client, &block).await, block)
    };
    // Beyond the drift (now 3 s, was 15 s) a block is refused outright...
    let (result, _) = forged(ankr_chain::MAX_FUTURE_SECONDS + 1).await;
    let (_, message) = result.unwrap_err();
    assert!(message.contains("ahead of local time"), "{message}");
    // ...within it, it is taken as the head (retried if the miner moved the head first)...
    let parent = loop {
        let (result, block) = forged(ankr_chain::MAX_FUTURE_SECONDS).await;
        if result.is_ok() && node.chain.head().hash() == block.header.hash() {
            break block.header;
        }
    };
    // ...and the honest miner builds on it before its own clock reaches the parent's stamp
    // (it used to wait until the clock had passed it, handing that time to the attacker).
    wait_for(
        "a child of the parent stamped ahead",
        Duration::from_secs(20),
        async || node.chain.head().number > parent.number,
    )
    .await;
    assert!(
        ankr_chain::now_seconds() <= parent.timestamp,
        "the miner waited for its clock to pass the parent's stamp"
    );
    let child = node
        .chain
        .reader()
        .unwrap()
        .header_by_number(parent.number + 1)
        .unwrap()
        .unwrap();
    assert_eq!(child.parent_hash, parent.hash());
    assert_eq!(child.timestamp, parent.timestamp + 1);
    node.stop().await;
    attestation.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_10_blobs_no_task_pays_for_are_not_stored() {
    let chain = ankr_node::test_utils::DevChain::start(devnet::spec(), DevSealing::Instant).await;
    // 100 blobs of 1 MB from an unauthenticated client: none stored.
    for i in 0..100u8 {
        let blob = vec![i; 1 << 20];
        let message = chain
            .rpc("ankr_putBlob", json!([Bytes::from(blob)]))
            .await
            .unwrap_err();
        assert!(
            message.contains("no open WorkMarket task names blob"),
            "{message}"
        );
    }
    assert!(chain.node.chain.reader().is_ok());
    // A posted task's module and input are stored (and nothing else is).
    let module = wat::parse_str(r#"(module (func (export "_start")))"#).unwrap();
    let client = HttpClientBuilder::default()
        .build(chain.node.rpc_url())
        .unwrap();
    let id = post_task(&client, &module, 1_000).await;
    assert!(id >= 1);
    let stored = call(&client, "ankr_getBlob", json!([keccak256(&module)]))
        .await
        .unwrap();
    assert!(!stored.is_null());
    let stored = call(&client, "ankr_getBlob", json!([keccak256([0u8; 1 << 20])]))
        .await
        .unwrap();
    assert!(stored.is_null());
    chain.node.stop().await;
}

/// Audit M-7: the registry's `livePlatforms` loops over every platform ever registered, and
/// consensus called it at every import with 30M gas: ~3,100 registrations (~500M gas of
/// transactions) made every block fail to import. Consensus no longer reads it. Here 3,500
/// platforms are registered at genesis: the loop no longer fits in 30M gas, and blocks still
/// import.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_m7_thousands_of_registered_platforms_do_not_stop_block_import() {
    let miner = enclave(90);
    let mut bootstrap = vec![(miner.address(), miner.platform_id())];
    bootstrap.extend((0..3_500u32).map(|i| {
        let seed = keccak256(i.to_be_bytes());
        (Address::from_slice(&seed[12..]), keccak256(seed))
    }));
    let mut spec = devnet::pouw_spec_with_period(Address::ZERO, bootstrap, 1_000);
    spec.genesis_difficulty = U256::from(1_000u64);
    spec.target_block_time_ms = 1_000;
    let (_dir, node, client) = start(spec, None).await;
    let live_platforms = ankr_contracts::EnclaveRegistry::livePlatformsCall {
        blockNumber: U256::from(1),
    };
    let looped = call(
        &client,
        "eth_call",
        json!([{
            "to": ankr_contracts::genesis::ENCLAVE_REGISTRY_ADDRESS,
            "data": Bytes::from(live_platforms.abi_encode()),
            "gas": "0x1c9c380",
        }, "latest"]),
    )
    .await;
    assert!(looped.is_err(), "livePlatforms fits in 30M gas: {looped:?}");
    for index in 1..=3u64 {
        pace(&node).await;
        let mut block = template(&client).await;
        assert!(seal_honestly(&miner, &mut block, index));
        submit(&client, &block)
            .await
            .unwrap_or_else(|e| panic!("block {index} refused: {e:?}"));
    }
    assert_eq!(node.chain.head().number, 3);
    node.stop().await;
}
