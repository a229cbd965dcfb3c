//! The PoUW system contracts' rules, driven through a real node's JSON-RPC with real signed
//! transactions: EnclaveRegistry admits only attested, allowed, fresh enclaves, one per
//! platform, for K blocks; WorkMarket pays only results signed by a live enclave for the
//! account that delivers them, refunds after the deadline, and pays out by withdrawal.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::SolCall;
use ankr_client::attest::register_call;
use ankr_contracts::genesis::{
    ENCLAVE_REGISTRY_ADDRESS, RegistryGenesis, WORK_MARKET_ADDRESS, enclave_registry_genesis,
};
use ankr_contracts::{EnclaveRegistry, WorkMarket};
use ankr_enclave::simulated_measurement;
use ankr_enclave::{Enclave, Limits, ResultClaim, SimulatedEnclave, Subtask, Template};
use ankr_node::test_utils::DevChain;
use ankr_node::{DevSealing, devnet};
use ankr_pouw::AttestationService;
use serde_json::{Value, json};
use std::sync::Arc;

const PERIOD: u64 = 5;

fn key(seed: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array(keccak256([seed, 0x53]).0).unwrap()
}

/// The account that sends the tests' transactions.
const SENDER: usize = 5;

struct Harness {
    chain: DevChain,
    root: AttestationService,
}

impl Harness {
    async fn start() -> Self {
        let root = AttestationService::new(key(1));
        // The simulated manufacturer made the platforms these tests name (keccak256([p])).
        for p in 0..=255u8 {
            root.provision(ankr_pouw::Platform::from_secret(keccak256([p])).address())
                .unwrap();
        }
        let mut spec = devnet::spec();
        spec.alloc.insert(
            ENCLAVE_REGISTRY_ADDRESS,
            enclave_registry_genesis(&RegistryGenesis {
                attestation_root: root.root_address(),
                registration_period: PERIOD,
                allowed_measurements: vec![simulated_measurement(Limits::default())],
                ..Default::default()
            }),
        );
        Self {
            chain: DevChain::start(spec, DevSealing::Instant).await,
            root,
        }
    }

    fn from(&self) -> Address {
        ankr_node::test_utils::address(SENDER)
    }

    /// `eth_call` from the sender: the output, or the error message (with the revert reason).
    async fn call(&self, to: Address, data: Vec<u8>, value: U256) -> Result<Bytes, String> {
        self.chain.call(SENDER, to, data, value).await
    }

    /// Sends a transaction and waits for its receipt; panics if it reverted.
    async fn send(&mut self, to: Address, data: Vec<u8>, value: U256) -> Value {
        let hash = self
            .chain
            .pool(SENDER, Some(to), data, value, 1_000_000)
            .await;
        let receipt = self.chain.receipt(&hash).await;
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        receipt
    }

    /// Moves the chain on by one block (a self-transfer).
    async fn next_block(&mut self) {
        let me = self.from();
        self.send(me, vec![], U256::from(1)).await;
    }

    async fn owed(&self, who: Address) -> U256 {
        let call = WorkMarket::owedCall(who).abi_encode();
        U256::from_be_slice(
            &self
                .call(WORK_MARKET_ADDRESS, call, U256::ZERO)
                .await
                .unwrap(),
        )
    }

    /// A recent block hash for a quote's nonce: the head's parent, which is among the last 10
    /// both for `eth_call` (run in the head's context) and for a transaction in the next block.
    fn head_hash(&self) -> B256 {
        self.chain.node.chain.head().parent_hash
    }

    async fn is_live(&self, enclave: Address) -> bool {
        let next = self.chain.node.chain.head().number + 1;
        let call = EnclaveRegistry::isLiveCall {
            enclave,
            blockNumber: U256::from(next),
        };
        let out = self
            .call(ENCLAVE_REGISTRY_ADDRESS, call.abi_encode(), U256::ZERO)
            .await
            .unwrap();
        EnclaveRegistry::isLiveCall::abi_decode_returns(&out)
            .unwrap()
            .live
    }
}

fn enclave(seed: u8, platform: u8) -> Arc<SimulatedEnclave> {
    Arc::new(SimulatedEnclave::new(
        key(seed),
        keccak256([platform]),
        Limits::default(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registry_admits_only_attested_allowed_fresh_enclaves_one_per_platform() {
    let mut h = Harness::start().await;
    h.next_block().await;
    let a = enclave(10, 1);
    let registry = ENCLAVE_REGISTRY_ADDRESS;
    let refused = |result: Result<Bytes, String>| result.expect_err("accepted");

    // Certified by another "root": refused.
    let impostor = AttestationService::new(key(99));
    impostor.provision(a.platform_address()).unwrap();
    let forged = impostor.certify(&a.quote(h.head_hash())).unwrap();
    let message = refused(h.call(registry, register_call(&forged), U256::ZERO).await);
    assert!(
        message.contains("not signed by the attestation root"),
        "{message}"
    );

    // A measurement outside the allowed set (another runtime build): refused.
    let other = SimulatedEnclave::new(
        key(11),
        keccak256([1u8]),
        Limits {
            max_memory: 1 << 20,
            ..Limits::default()
        },
    );
    let certificate = h.root.certify(&other.quote(h.head_hash())).unwrap();
    let message = refused(
        h.call(registry, register_call(&certificate), U256::ZERO)
            .await,
    );
    assert!(message.contains("measurement not allowed"), "{message}");

    // The quote must be signed by the enclave it names (the root alone is not enough).
    let mut certificate = h.root.certify(&a.quote(h.head_hash())).unwrap();
    certificate.quote.signature = enclave(12, 1).quote(h.head_hash()).signature;
    let message = refused(
        h.call(registry, register_call(&certificate), U256::ZERO)
            .await,
    );
    assert!(
        message.contains("quote not signed by the enclave"),
        "{message}"
    );

    // A fresh certificate registers; the enclave is live for K blocks.
    let certificate = h.root.certify(&a.quote(h.head_hash())).unwrap();
    let receipt = h
        .send(registry, register_call(&certificate), U256::ZERO)
        .await;
    assert_eq!(receipt["logs"].as_array().unwrap().len(), 1);
    assert!(h.is_live(a.address()).await);

    // A certificate whose nonce is older than the last 10 blocks: refused.
    let stale = h.root.certify(&a.quote(h.head_hash())).unwrap();
    for _ in 0..11 {
        h.next_block().await;
    }
    let message = refused(h.call(registry, register_call(&stale), U256::ZERO).await);
    assert!(
        message.contains("nonce is not one of the last 10 block hashes"),
        "{message}"
    );

    // K = 5 blocks have passed since registration: expired until it registers again.
    assert!(!h.is_live(a.address()).await);
    let renewal = h.root.certify(&a.quote(h.head_hash())).unwrap();
    h.send(registry, register_call(&renewal), U256::ZERO).await;
    assert!(h.is_live(a.address()).await);

    // A second enclave on the same platform replaces the first: one live enclave per platform.
    let b = enclave(13, 1);
    let certificate = h.root.certify(&b.quote(h.head_hash())).unwrap();
    h.send(registry, register_call(&certificate), U256::ZERO)
        .await;
    assert!(h.is_live(b.address()).await);
    assert!(!h.is_live(a.address()).await);

    // An enclave cannot move to another platform.
    let moved = SimulatedEnclave::new(key(13), keccak256([2u8]), Limits::default());
    let certificate = h.root.certify(&moved.quote(h.head_hash())).unwrap();
    let message = refused(
        h.call(registry, register_call(&certificate), U256::ZERO)
            .await,
    );
    assert!(
        message.contains("registered on another platform"),
        "{message}"
    );
    h.chain.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_market_pays_attested_results_refunds_late_tasks_and_pays_out_by_withdrawal() {
    let mut h = Harness::start().await;
    h.next_block().await;
    let market = WORK_MARKET_ADDRESS;
    let miner = enclave(20, 7);
    let certificate = h.root.certify(&miner.quote(h.head_hash())).unwrap();
    h.send(
        ENCLAVE_REGISTRY_ADDRESS,
        register_call(&certificate),
        U256::ZERO,
    )
    .await;

    let module: Arc<[u8]> = ankr_enclave::workloads::builtin()[0].module.clone();
    let input: Arc<[u8]> = 1u32.to_le_bytes().to_vec().into();
    let post = |price: u128, max: u64, deadline: u64| {
        WorkMarket::postCall {
            moduleHash: keccak256(&module),
            inputHash: keccak256(&input),
            pricePerInstruction: price,
            maxInstructions: max,
            deadlineBlocks: deadline,
        }
        .abi_encode()
    };

    // The escrow must cover the budget.
    let message = h
        .call(market, post(10, 1_000_000, 50), U256::from(9_999_999))
        .await
        .unwrap_err();
    assert!(message.contains("escrow must cover"), "{message}");

    // Task 1: posted, run in the enclave, delivered for the sender's account.
    h.send(
        market,
        post(10, 1_000_000_000, 50),
        U256::from(10_000_000_000u64),
    )
    .await;
    let subtask = Subtask {
        task_id: B256::from(U256::from(1)),
        index: 0,
        module: module.clone(),
        input: input.clone(),
        budget: 1_000_000_000,
    };
    let template = Template {
        hash: B256::repeat_byte(1),
        difficulty: U256::from(1u64 << 40),
    };
    let report = miner.run_subtask(&template, &subtask).unwrap();
    let payee = h.from();
    let claim = |payee| ResultClaim {
        chain_id: devnet::DEVNET_CHAIN_ID,
        market,
        task: U256::from(1),
        payee,
    };
    let deliver = |signature: [u8; 65]| {
        WorkMarket::deliverCall {
            id: U256::from(1),
            resultHash: report.execution.result_hash(),
            instructions: report.execution.instructions,
            outcome: 0,
            enclave: miner.address(),
            enclaveSig: signature.to_vec().into(),
        }
        .abi_encode()
    };
    // A signature made out to another account pays no one here.
    let for_someone_else = miner
        .sign_result(&claim(Address::repeat_byte(0x99)))
        .unwrap();
    let message = h
        .call(market, deliver(for_someone_else), U256::ZERO)
        .await
        .unwrap_err();
    assert!(
        message.contains("result not signed by the enclave"),
        "{message}"
    );
    // The enclave signs each result once, and only for tasks it ran.
    assert!(miner.sign_result(&claim(payee)).is_err());
    let report_again = {
        let again = SimulatedEnclave::new(key(20), keccak256([7u8]), Limits::default());
        again.run_subtask(&template, &subtask).unwrap();
        again.sign_result(&claim(payee)).unwrap()
    };
    h.send(market, deliver(report_again), U256::ZERO).await;
    let message = h
        .call(market, deliver(report_again), U256::ZERO)
        .await
        .unwrap_err();
    assert!(message.contains("task is not open"), "{message}");

    // Sender is both provider and miner here: owed the whole escrow back in two parts.
    let paid = U256::from(report.execution.instructions) * U256::from(10);
    assert!(paid > U256::ZERO);
    assert_eq!(h.owed(payee).await, U256::from(10_000_000_000u64));

    // Task 2: never delivered; refundable only after its deadline.
    h.send(market, post(1, 1_000, 2), U256::from(1_000)).await;
    let refund = WorkMarket::refundCall { id: U256::from(2) }.abi_encode();
    let message = h
        .call(market, refund.clone(), U256::ZERO)
        .await
        .unwrap_err();
    assert!(message.contains("deadline not reached"), "{message}");
    for _ in 0..3 {
        h.next_block().await;
    }
    h.send(market, refund, U256::ZERO).await;
    assert_eq!(h.owed(payee).await, U256::from(10_000_001_000u64));

    // Withdraw pays everything out and zeroes the balance.
    let before = h
        .chain
        .rpc("eth_getBalance", json!([payee, "latest"]))
        .await
        .unwrap();
    let receipt = h
        .send(market, WorkMarket::withdrawCall {}.abi_encode(), U256::ZERO)
        .await;
    let after = h
        .chain
        .rpc("eth_getBalance", json!([payee, "latest"]))
        .await
        .unwrap();
    let parse =
        |v: &Value| U256::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let gas = parse(&receipt["gasUsed"]) * parse(&receipt["effectiveGasPrice"]);
    assert_eq!(
        parse(&after) + gas - parse(&before),
        U256::from(10_000_001_000u64)
    );
    assert_eq!(h.owed(payee).await, U256::ZERO);
    h.chain.node.stop().await;
}

/// Audit item 15: a certificate stayed good for the whole nonce window, so anyone holding the
/// certificate of an enclave that a platform had just replaced (it is public, in the
/// registration's calldata) could register it again and swap the platform back to the old
/// enclave. A platform's certificate must now be newer than its latest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_15_a_replayed_certificate_cannot_swap_a_platform_back() {
    let mut h = Harness::start().await;
    h.next_block().await;
    let registry = ENCLAVE_REGISTRY_ADDRESS;
    let old = enclave(20, 7);
    let old_certificate = h.root.certify(&old.quote(h.head_hash())).unwrap();
    h.send(registry, register_call(&old_certificate), U256::ZERO)
        .await;
    h.next_block().await;
    let new = enclave(21, 7);
    let new_certificate = h.root.certify(&new.quote(h.head_hash())).unwrap();
    h.send(registry, register_call(&new_certificate), U256::ZERO)
        .await;
    assert!(h.is_live(new.address()).await);
    // Still inside the nonce window: the old certificate is replayed.
    let message = h
        .call(registry, register_call(&old_certificate), U256::ZERO)
        .await
        .expect_err("the replay was accepted");
    assert!(
        message.contains("certificate older than the platform's latest"),
        "{message}"
    );
    assert!(h.is_live(new.address()).await);
    assert!(!h.is_live(old.address()).await);
    // A fresh certificate still moves the platform back, as its owner may.
    h.next_block().await;
    let fresh = h.root.certify(&old.quote(h.head_hash())).unwrap();
    h.send(registry, register_call(&fresh), U256::ZERO).await;
    assert!(h.is_live(old.address()).await);
    h.chain.node.stop().await;
}
