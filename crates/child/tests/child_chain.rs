//! An EVM child chain end to end on loopback: a main-chain node, the child chain's operator
//! (sealing, serving JSON-RPC, committing to its manager on the main chain) and a follower that
//! re-executes every block it hears of over libp2p. A contract deployed and called on the child
//! chain through its JSON-RPC is seen by the follower, and the main chain's headers commit to
//! the child chain's blocks.

use alloy_primitives::U256;
use alloy_sol_types::SolValue;
use ankr_child::manager::{self, ManagerSettings};
use ankr_child::{ChildConfig, ChildNode, MainLink, Profile, Role, ValidityMode};
use ankr_client::{MainChain, Sender};
use ankr_contracts::{EvmChildChain, Greeter};
use ankr_node::DevSealing;
use ankr_node::test_utils::{ANKR, DevChain, address, key};
use ankr_rpc::api::AnkrRpcClient;
use ankr_types::GenesisAccount;
use std::time::Duration;

const CHILD_CHAIN_ID: u64 = 7_001;
/// Devnet account 3 operates the child chain (on both chains); account 4 uses it.
const OPERATOR: usize = 3;
const USER: usize = 4;
/// Devnet account 5 proves wrong blocks on the main chain.
const PROVER: usize = 5;

fn network(
    dir: &std::path::Path,
    boot_peers: Vec<ankr_network::Multiaddr>,
) -> ankr_network::NetworkConfig {
    ankr_network::NetworkConfig {
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        boot_peers,
        key_file: dir.join("network.key"),
        discovery: false,
    }
}

/// Polls `check` every 100 ms for up to 60 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A dev-sealed main chain (a block every 500 ms), a client of it and the operator's sender.
async fn main_chain() -> (DevChain, MainChain, Sender) {
    let main = DevChain::start(
        ankr_node::devnet::spec(),
        DevSealing::Interval(Duration::from_millis(500)),
    )
    .await;
    let main_client = MainChain::connect(&main.node.rpc_url()).await.unwrap();
    let operator_on_main = Sender::new(main_client.clone(), key(OPERATOR));
    (main, main_client, operator_on_main)
}

/// The child chain of `profile` sealed by the operator, with the user funded at genesis.
fn funded_spec(profile: Profile) -> ankr_types::ChainSpec {
    let user = GenesisAccount {
        balance: U256::from(100 * ANKR),
        ..Default::default()
    };
    profile.spec(
        CHILD_CHAIN_ID,
        address(OPERATOR),
        [(address(USER), user)].into(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_run_on_a_child_chain_that_the_main_chain_commits_to() {
    let (main, main_client, operator_on_main) = main_chain().await;
    let spec = funded_spec(Profile::ECommerce);
    let managed = manager::deploy(
        &operator_on_main,
        &ManagerSettings::for_spec(
            &spec,
            "shop",
            ValidityMode::Optimistic,
            U256::from(10 * ANKR),
        ),
    )
    .await
    .unwrap();
    let state = manager::state(&main_client, managed).await.unwrap();
    assert_eq!(state.operator, address(OPERATOR));
    assert_eq!(state.stake, U256::from(10 * ANKR));

    let (op_dir, follower_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let operator = ChildNode::start(ChildConfig {
        data_dir: op_dir.path().to_path_buf(),
        spec: spec.clone(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        role: Role::Operator {
            key: key(OPERATOR),
            main: Some(MainLink {
                rpc_url: main.node.rpc_url(),
                manager: managed,
                key: key(OPERATOR),
            }),
        },
        network: Some(network(op_dir.path(), vec![])),
        pool: Default::default(),
    })
    .await
    .unwrap();
    let operator_peer = operator.node.network.as_ref().unwrap().listen_addr.clone();
    let follower = ChildNode::start(ChildConfig {
        data_dir: follower_dir.path().to_path_buf(),
        spec: spec.clone(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        role: Role::Follower { watch: None },
        network: Some(network(follower_dir.path(), vec![operator_peer])),
        pool: Default::default(),
    })
    .await
    .unwrap();

    // A wallet deploys and calls a contract on the child chain over its JSON-RPC, as on any chain.
    let child = MainChain::connect(&operator.rpc_url()).await.unwrap();
    assert_eq!(child.chain_id(), CHILD_CHAIN_ID);
    let user = Sender::new(child.clone(), key(USER));
    let mut code = ankr_contracts::artifact("Greeter")
        .unwrap()
        .bytecode
        .to_vec();
    code.extend(("hello from a child chain".to_string(),).abi_encode_params());
    let sent = user.send(None, code, U256::ZERO, 1_000_000).await.unwrap();
    let deployed = child
        .wait(sent.hash, Duration::from_secs(30))
        .await
        .unwrap();
    let greeter = deployed.contract_address.unwrap();
    let set = user
        .transact(
            greeter,
            &Greeter::setGreetingCall {
                next: "sealed by the operator".into(),
            },
            U256::ZERO,
            200_000,
        )
        .await
        .unwrap();
    let set_block = set.block_number.unwrap();
    let block = child.latest_block().await.unwrap();
    assert!(block.header.number >= set_block);
    assert_eq!(
        child.read(greeter, Greeter::greetingCall {}).await.unwrap(),
        "sealed by the operator"
    );
    let fees_paid = child.balance(address(OPERATOR)).await.unwrap();
    assert!(
        fees_paid > U256::ZERO,
        "the operator collects its chain's fees"
    );

    // The follower re-executed the same blocks: same head hash, same contract state.
    let on_follower = MainChain::connect(&follower.rpc_url()).await.unwrap();
    let target = operator
        .node
        .chain
        .reader()
        .unwrap()
        .header_by_number(set_block)
        .unwrap()
        .unwrap()
        .hash();
    eventually("the follower holds the operator's block", || {
        let chain = follower.node.chain.clone();
        async move {
            chain
                .reader()
                .unwrap()
                .header_by_number(set_block)
                .unwrap()
                .is_some_and(|h| h.hash() == target)
        }
    })
    .await;
    assert_eq!(
        on_follower
            .read(greeter, Greeter::greetingCall {})
            .await
            .unwrap(),
        "sealed by the operator"
    );

    // The main chain holds a commitment at or past that block, and its headers commit to it as
    // the child chain's boundary.
    eventually(
        "the manager holds a commitment past the contract call",
        || {
            let main_client = main_client.clone();
            async move {
                main_client
                    .read(managed, EvmChildChain::latestNumberCall {})
                    .await
                    .unwrap()
                    >= U256::from(set_block)
            }
        },
    )
    .await;
    let committed = manager::state(&main_client, managed).await.unwrap();
    let child_header = operator
        .node
        .chain
        .reader()
        .unwrap()
        .header_by_number(committed.latest_number)
        .unwrap()
        .unwrap();
    assert_eq!(
        committed.latest_hash,
        child_header.hash(),
        "the committed hash is the operator's block"
    );
    assert_eq!(
        main_client
            .read(
                managed,
                EvmChildChain::blockHashCall(U256::from(committed.latest_number))
            )
            .await
            .unwrap(),
        child_header.hash()
    );
    let main_rpc = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(main.node.rpc_url())
        .unwrap();
    eventually(
        "a main-chain header commits to the child chain's boundary",
        || {
            let main_rpc = main_rpc.clone();
            async move {
                let chains = main_rpc.child_chains(None).await.unwrap();
                chains
                    .chains
                    .iter()
                    .any(|c| c.root_chain == managed && c.blknum >= set_block)
            }
        },
    )
    .await;
    let chains = main_rpc.child_chains(None).await.unwrap();
    let boundary = chains
        .chains
        .iter()
        .find(|c| c.root_chain == managed)
        .unwrap();
    assert_eq!(boundary.kind.as_deref(), Some("evm"));
    let header = operator
        .node
        .chain
        .reader()
        .unwrap()
        .header_by_number(boundary.blknum)
        .unwrap()
        .unwrap();
    assert_eq!(boundary.root, header.hash());

    // Only the operator commits, and only forward.
    let stranger = Sender::new(main_client.clone(), key(5));
    let refused = stranger
        .transact(
            managed,
            &EvmChildChain::commitBlocksCall {
                first: U256::from(1_000_000),
                hashes: vec![header.hash()],
            },
            U256::ZERO,
            200_000,
        )
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("only the operator commits blocks"),
        "{refused}"
    );
    let backwards = operator_on_main
        .transact(
            managed,
            &EvmChildChain::commitBlocksCall {
                first: U256::from(1),
                hashes: vec![header.hash()],
            },
            U256::ZERO,
            200_000,
        )
        .await
        .unwrap_err();
    assert!(
        backwards
            .to_string()
            .contains("a commitment must follow the latest block"),
        "{backwards}"
    );

    follower.stop().await;
    operator.stop().await;
    main.node.stop().await;
}

#[tokio::test]
async fn a_child_node_refuses_a_key_that_is_not_its_operator_or_a_spec_without_one() {
    let spec = Profile::RealEstate.spec(CHILD_CHAIN_ID, address(OPERATOR), Default::default());
    let dir = tempfile::tempdir().unwrap();
    let config = ChildConfig {
        data_dir: dir.path().to_path_buf(),
        spec: spec.clone(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        role: Role::Operator {
            key: key(USER),
            main: None,
        },
        network: None,
        pool: Default::default(),
    };
    let error = ChildNode::start(config.clone()).await.err().unwrap();
    assert!(
        error.to_string().contains("this chain spec's operator is"),
        "{error}"
    );
    let error = ChildNode::start(ChildConfig {
        role: Role::Follower { watch: None },
        ..config.clone()
    })
    .await
    .err()
    .unwrap();
    assert!(matches!(
        error,
        ankr_child::ChildError::FollowerWithoutNetwork
    ));
    let error = ChildNode::start(ChildConfig {
        spec: ankr_node::devnet::spec(),
        ..config
    })
    .await
    .err()
    .unwrap();
    assert!(matches!(error, ankr_child::ChildError::NoOperator(_)));
}

/// The operator's pool keeps the limits it was started with: a sender's second transaction
/// behind a nonce gap is refused when `account_queue` is 1 (geth's default keeps 16).
#[tokio::test]
async fn a_child_chain_s_pool_keeps_the_operator_s_limits() {
    let dir = tempfile::tempdir().unwrap();
    let limits = ankr_node::PoolLimits {
        account_queue: 1,
        global_queue: 2,
        ..Default::default()
    };
    let operator = ChildNode::start(ChildConfig {
        data_dir: dir.path().to_path_buf(),
        spec: funded_spec(Profile::RealEstate),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        role: Role::Operator {
            key: key(OPERATOR),
            main: None,
        },
        network: None,
        pool: limits,
    })
    .await
    .unwrap();
    let child = MainChain::connect(&operator.rpc_url()).await.unwrap();
    let gapped = |nonce| {
        let tx = alloy_consensus::TxEip1559 {
            chain_id: CHILD_CHAIN_ID,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1,
            to: alloy_primitives::TxKind::Call(address(7)),
            value: U256::from(1),
            ..Default::default()
        };
        let signed = ankr_types::recovery::sign_transaction(&key(USER), tx);
        alloy_eips::Encodable2718::encoded_2718(&signed)
    };
    child.send_raw(gapped(5)).await.unwrap();
    let refused = child.send_raw(gapped(6)).await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("1 queued transactions behind a nonce gap"),
        "{refused}"
    );
    operator.stop().await;
}

/// An operator on loopback without a main-chain link, and a follower of it; the follower's
/// JSON-RPC client.
async fn operator_and_follower(
    profile: Profile,
    dirs: &(tempfile::TempDir, tempfile::TempDir),
) -> (ChildNode, ChildNode, jsonrpsee::http_client::HttpClient) {
    let spec = funded_spec(profile);
    let operator = ChildNode::start(ChildConfig {
        data_dir: dirs.0.path().to_path_buf(),
        spec: spec.clone(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        role: Role::Operator {
            key: key(OPERATOR),
            main: None,
        },
        network: Some(network(dirs.0.path(), vec![])),
        pool: Default::default(),
    })
    .await
    .unwrap();
    let peer = operator.node.network.as_ref().unwrap().listen_addr.clone();
    let follower = ChildNode::start(ChildConfig {
        data_dir: dirs.1.path().to_path_buf(),
        spec,
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        role: Role::Follower { watch: None },
        network: Some(network(dirs.1.path(), vec![peer])),
        pool: Default::default(),
    })
    .await
    .unwrap();
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(follower.rpc_url())
        .unwrap();
    (operator, follower, client)
}

/// Attack: a block signed by anyone but the operator (a forged seal, the operator's signature
/// lifted onto a changed block, a dev or PoUW seal) is handed to a follower over JSON-RPC; each
/// is refused by its rule and the follower stays on the operator's chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_forged_operator_seals_are_refused_by_a_follower() {
    use ankr_rpc::api::PouwRpcClient;
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (operator, follower, client) = operator_and_follower(Profile::ECommerce, &dirs).await;
    eventually("the follower has the operator's block 2", || {
        let chain = follower.node.chain.clone();
        async move { chain.head().number >= 2 }
    })
    .await;
    let head = follower.node.chain.head();
    // A block on the follower's head, as the operator would make it, but signed by another key.
    let honest = operator
        .node
        .chain
        .reader()
        .unwrap()
        .header_by_number(head.number)
        .unwrap()
        .unwrap();
    assert_eq!(honest.hash(), head.hash());
    let mut forged = ankr_types::Block {
        header: ankr_types::Header {
            parent_hash: head.hash(),
            number: head.number + 1,
            timestamp: head.timestamp,
            base_fee_per_gas: ankr_chain::next_base_fee(&head),
            gas_used: 0,
            transactions_root: alloy_trie_empty(),
            receipts_root: alloy_trie_empty(),
            logs_bloom: Default::default(),
            ..head.clone()
        },
        transactions: vec![],
    };
    forged.header.seal =
        ankr_types::Seal::operator(&key(USER), CHILD_CHAIN_ID, forged.header.template_hash());
    let refusal = client
        .submit_block(alloy_rlp_encode(&forged))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refusal.contains(&format!(
            "not by the chain's operator {}",
            address(OPERATOR)
        )),
        "{refusal}"
    );

    let signed = ankr_types::Seal::operator(
        &key(OPERATOR),
        CHILD_CHAIN_ID,
        forged.header.template_hash(),
    );
    let mut lifted = forged.clone();
    lifted.header.seal = signed;
    lifted.header.extra_data = alloy_primitives::Bytes::from_static(b"changed after signing");
    let refusal = client
        .submit_block(alloy_rlp_encode(&lifted))
        .await
        .unwrap_err()
        .to_string();
    assert!(refusal.contains("not by the chain's operator"), "{refusal}");

    let mut dev = forged.clone();
    dev.header.seal = ankr_types::Seal::dev();
    let refusal = client
        .submit_block(alloy_rlp_encode(&dev))
        .await
        .unwrap_err()
        .to_string();
    assert!(refusal.contains("dev seal is not allowed"), "{refusal}");
    let mut work = forged.clone();
    work.header.seal.kind = ankr_types::SealKind::UsefulWork;
    let refusal = client
        .submit_block(alloy_rlp_encode(&work))
        .await
        .unwrap_err()
        .to_string();
    assert!(refusal.contains("never by useful work"), "{refusal}");

    // The follower keeps following the operator.
    let next = head.number + 2;
    eventually("the follower goes on with the operator's blocks", || {
        let (f, o) = (follower.node.chain.clone(), operator.node.chain.clone());
        async move {
            f.head().number >= next
                && o.reader()
                    .unwrap()
                    .header_by_number(next)
                    .unwrap()
                    .map(|h| h.hash())
                    == f.reader()
                        .unwrap()
                        .header_by_number(next)
                        .unwrap()
                        .map(|h| h.hash())
        }
    })
    .await;
    follower.stop().await;
    operator.stop().await;
}

/// A prediction-market chain makes a block every 250 ms: blocks share a second, stay within
/// the clock, and the follower takes every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_second_blocks_share_seconds_and_never_run_ahead_of_the_clock() {
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (operator, follower, _) = operator_and_follower(Profile::PredictionMarket, &dirs).await;
    eventually("twelve blocks on the follower", || {
        let chain = follower.node.chain.clone();
        async move { chain.head().number >= 12 }
    })
    .await;
    let reader = follower.node.chain.reader().unwrap();
    let stamps: Vec<u64> = (1..=12)
        .map(|n| reader.header_by_number(n).unwrap().unwrap().timestamp)
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
    assert!(
        stamps.windows(2).any(|w| w[0] == w[1]),
        "four blocks a second share seconds: {stamps:?}"
    );
    assert!(stamps[11] <= ankr_chain::now_seconds() + 1, "{stamps:?}");
    follower.stop().await;
    operator.stop().await;
}

/// keccak256(rlp("")): the root of an empty trie (no transactions, no receipts).
fn alloy_trie_empty() -> alloy_primitives::B256 {
    alloy_primitives::b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
}

/// `block` sealed again by `signer` after a test changed it.
fn resealed(mut block: ankr_types::Block, signer: usize) -> ankr_types::Block {
    block.header.seal =
        ankr_types::Seal::operator(&key(signer), CHILD_CHAIN_ID, block.header.template_hash());
    block
}

/// Shows `block` to a node, which must refuse it by `rule` and keep it as its newest bad block.
async fn shown_as_bad(
    client: &jsonrpsee::http_client::HttpClient,
    block: &ankr_types::Block,
    rule: &str,
) {
    use ankr_rpc::api::PouwRpcClient;
    let refused = client
        .submit_block(alloy_rlp_encode(block))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains(rule), "{refused}");
    let bad = ankr_rpc::api::DebugRpcClient::bad_blocks(client)
        .await
        .unwrap();
    assert_eq!(
        bad[0].hash,
        block.header.hash(),
        "kept: the operator's seal held"
    );
    assert!(bad[0].reason.contains(rule), "{}", bad[0].reason);
}

fn alloy_rlp_encode(block: &ankr_types::Block) -> alloy_primitives::Bytes {
    alloy_rlp::encode(block).into()
}

/// A dev-sealed main chain and an optimistic e-commerce child chain's manager on it (300 ms
/// child blocks, the user funded, a challenge window of `window` main blocks): the main chain,
/// a client of it, the operator's sender there, the child spec and the manager's address.
async fn optimistic_shop(
    window: u64,
) -> (
    DevChain,
    MainChain,
    Sender,
    ankr_types::ChainSpec,
    alloy_primitives::Address,
) {
    let (main, main_client, operator_on_main) = main_chain().await;
    let mut spec = funded_spec(Profile::ECommerce);
    spec.target_block_time_ms = 300;
    let mut settings = ManagerSettings::for_spec(
        &spec,
        "shop",
        ValidityMode::Optimistic,
        U256::from(10 * ANKR),
    );
    settings.challenge_window = window;
    let manager = manager::deploy(&operator_on_main, &settings).await.unwrap();
    (main, main_client, operator_on_main, spec, manager)
}

/// The operator's configuration for `spec` in `dir`, on the network, linked to the main chain
/// (committer and bridge relay) when `main` is given.
fn operator_config(
    spec: &ankr_types::ChainSpec,
    dir: &std::path::Path,
    main: Option<MainLink>,
) -> ChildConfig {
    ChildConfig {
        data_dir: dir.to_path_buf(),
        spec: spec.clone(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        role: Role::Operator {
            key: key(OPERATOR),
            main,
        },
        network: Some(network(dir, vec![])),
        pool: Default::default(),
    }
}

/// The operator's link to `manager` on the main chain at `main_rpc`.
fn operator_link(main_rpc: String, manager: alloy_primitives::Address) -> MainLink {
    MainLink {
        rpc_url: main_rpc,
        manager,
        key: key(OPERATOR),
    }
}

/// The operator of `spec` in `dir`, linked to `manager` on `main` (committer and relay).
async fn linked_operator(
    main: &DevChain,
    spec: &ankr_types::ChainSpec,
    manager: alloy_primitives::Address,
    dir: &std::path::Path,
) -> ChildNode {
    let link = operator_link(main.node.rpc_url(), manager);
    ChildNode::start(operator_config(spec, dir, Some(link)))
        .await
        .unwrap()
}

/// A follower of `operator` in `dir` that watches `manager`, proving with account PROVER.
async fn watcher_of(
    operator: &ChildNode,
    main_rpc: String,
    manager: alloy_primitives::Address,
    dir: &std::path::Path,
) -> ChildNode {
    let peer = operator.node.network.as_ref().unwrap().listen_addr.clone();
    ChildNode::start(ChildConfig {
        data_dir: dir.to_path_buf(),
        spec: operator.node.chain.spec().clone(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        role: Role::Follower {
            watch: Some(MainLink {
                rpc_url: main_rpc,
                manager,
                key: key(PROVER),
            }),
        },
        network: Some(network(dir, vec![peer])),
        pool: Default::default(),
    })
    .await
    .unwrap()
}

/// Waits until `chain` no longer has block `hash` at `number` (it followed a reversal).
async fn eventually_dropped(
    what: &str,
    chain: &std::sync::Arc<ankr_chain::Chain>,
    number: u64,
    hash: alloy_primitives::B256,
) {
    eventually(what, || {
        let chain = chain.clone();
        async move { chain.reader().unwrap().canonical_hash(number).unwrap() != Some(hash) }
    })
    .await;
}

/// The base fees child blocks 1..=`head` burnt.
fn burnt_fees(reader: &ankr_storage::StoreReader, head: u64) -> U256 {
    (1..=head)
        .map(|number| {
            let header = reader.header_by_number(number).unwrap().unwrap();
            U256::from(header.base_fee_per_gas) * U256::from(header.gas_used)
        })
        .sum()
}

/// A main chain (dev-sealed every 500 ms), a child chain's operator on it without a committer
/// or bridge relay (the test commits by hand, so that it can slip forged blocks in between; its
/// blocks anchor no deposit), and its manager deployed in `mode` with a challenge window of
/// `window` main blocks.
struct ManagedChild {
    main: DevChain,
    main_client: MainChain,
    operator_on_main: Sender,
    /// `None` once stopped (its chain stays readable through `child`).
    operator: Option<ChildNode>,
    /// The operator's copy of the child chain, and its JSON-RPC URL.
    child: std::sync::Arc<ankr_chain::Chain>,
    child_rpc: String,
    manager: alloy_primitives::Address,
    _dir: tempfile::TempDir,
}

impl ManagedChild {
    async fn start(mode: ValidityMode, window: u64) -> Self {
        let (main, main_client, operator_on_main) = main_chain().await;
        let mut spec = funded_spec(Profile::RealEstate);
        spec.target_block_time_ms = 300;
        let mut settings = ManagerSettings::for_spec(&spec, "estate", mode, U256::from(10 * ANKR));
        settings.challenge_window = window;
        // Deposits are due in child blocks 2 s after they are made: a test need not wait 60 s.
        settings.anchor_deadline = 2;
        let manager = manager::deploy(&operator_on_main, &settings).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let operator = ChildNode::start(ChildConfig {
            data_dir: dir.path().to_path_buf(),
            spec,
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            role: Role::Operator {
                key: key(OPERATOR),
                main: None,
            },
            network: Some(network(dir.path(), vec![])),
            pool: Default::default(),
        })
        .await
        .unwrap();
        Self {
            main,
            main_client,
            operator_on_main,
            child: operator.node.chain.clone(),
            child_rpc: operator.rpc_url(),
            operator: Some(operator),
            manager,
            _dir: dir,
        }
    }

    /// A user's transfer on the child chain, mined.
    async fn child_transfer(&self) {
        let child = MainChain::connect(&self.child_rpc).await.unwrap();
        let sent = Sender::new(child.clone(), key(USER))
            .send(Some(address(6)), vec![], U256::from(ANKR), 21_000)
            .await
            .unwrap();
        child
            .wait(sent.hash, Duration::from_secs(30))
            .await
            .unwrap();
    }

    /// Brings the manager up to the child head as it is now, as the committer does (the
    /// head moves on meanwhile: 300 ms child blocks outrun 500 ms main blocks).
    async fn catch_up(&self) {
        let target = self.child.head().number;
        while self.latest().await < target {
            ankr_child::committer::catch_up(&self.child, &self.operator_on_main, self.manager)
                .await
                .unwrap();
        }
    }

    async fn latest(&self) -> u64 {
        manager::state(&self.main_client, self.manager)
            .await
            .unwrap()
            .latest_number
    }

    /// Child block `number` re-sealed by the operator with a state root that credits nobody
    /// knows what: a block only a dishonest operator makes.
    fn forged(&self, number: u64) -> ankr_types::Block {
        let reader = self.child.reader().unwrap();
        let mut block = ankr_child::committer::stored_block(&reader, number).unwrap();
        block.header.state_root = alloy_primitives::B256::repeat_byte(0x66);
        resealed(block, OPERATOR)
    }

    /// Stops the operator once `watcher` has its head, commits every honest block and
    /// returns that head: the chain then moves only as the test makes it.
    async fn stop_operator_with_all_committed(
        &mut self,
        watcher: &ChildNode,
    ) -> ankr_types::Header {
        self.operator.take().unwrap().stop().await;
        let head = self.child.head();
        eventually("the watcher has every honest block", || {
            let w = watcher.node.chain.clone();
            let target = head.hash();
            async move { w.head().hash() == target }
        })
        .await;
        self.catch_up().await;
        head
    }

    /// Commits the operator's blocks after the manager's latest up to `number`, honestly.
    async fn commit_through(&self, number: u64) {
        let first = self.latest().await + 1;
        if number < first {
            return;
        }
        let reader = self.child.reader().unwrap();
        let hashes = (first..=number)
            .map(|n| reader.canonical_hash(n).unwrap().unwrap())
            .collect();
        self.operator_on_main
            .transact(
                self.manager,
                &EvmChildChain::commitBlocksCall {
                    first: U256::from(first),
                    hashes,
                },
                U256::ZERO,
                3_000_000,
            )
            .await
            .unwrap();
    }

    /// With the operator stopped, makes its next block on its own store (executed and sealed
    /// honestly): the raw material of blocks a test then breaks in one rule.
    fn build_next(&self) -> ankr_types::Block {
        assert!(
            self.operator.is_none(),
            "the operator's node makes its own blocks"
        );
        let head = self.child.head();
        let header = self
            .child
            .build_block(
                address(OPERATOR),
                ankr_chain::now_seconds().max(head.timestamp),
                &ankr_chain::Sealer::Operator(key(OPERATOR)),
                ankr_chain::Contents::AnyNumber,
            )
            .unwrap()
            .expect("a block is built");
        ankr_child::committer::stored_block(&self.child.reader().unwrap(), header.number).unwrap()
    }

    /// A follower of the operator that watches the manager, proving with devnet account 5.
    async fn watcher(&self, dir: &std::path::Path) -> ChildNode {
        let operator = self.operator.as_ref().expect("the operator runs");
        watcher_of(operator, self.main.node.rpc_url(), self.manager, dir).await
    }

    /// Commits `block`'s hash as the next child block, as a dishonest operator would.
    async fn commit(&self, block: &ankr_types::Block) {
        self.operator_on_main
            .transact(
                self.manager,
                &EvmChildChain::commitBlocksCall {
                    first: U256::from(block.header.number),
                    hashes: vec![block.header.hash()],
                },
                U256::ZERO,
                300_000,
            )
            .await
            .unwrap();
    }

    fn witness(&self, block: &ankr_types::Block) -> ankr_execution::stateless::ExecutionWitness {
        ankr_execution::stateless::make_witness(
            &self.child.reader().unwrap(),
            self.child.execution_config(),
            block,
        )
        .unwrap()
    }

    async fn stop(self) {
        if let Some(operator) = self.operator {
            operator.stop().await;
        }
        self.main.node.stop().await;
    }
}

fn prove_call(
    number: u64,
    block: &ankr_types::Block,
    witness: ankr_execution::stateless::ExecutionWitness,
) -> EvmChildChain::proveInvalidCall {
    EvmChildChain::proveInvalidCall {
        number: U256::from(number),
        block_: alloy_rlp_encode(block),
        state: witness.state,
        codes: witness.codes,
        headers: witness.headers,
    }
}

/// Attack: on an every-block chain the operator submits a block whose state root lies; the
/// manager runs EXECUTE on it and refuses it at submission, and honest blocks go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_an_every_block_chain_refuses_a_wrong_block_at_submission() {
    let chain = ManagedChild::start(ValidityMode::EveryBlock, 0).await;
    chain.child_transfer().await;
    chain.catch_up().await;
    let latest = chain.latest().await;
    assert!(latest >= 1);
    let honest = chain
        .child
        .reader()
        .unwrap()
        .header_by_number(latest)
        .unwrap()
        .unwrap();
    assert_eq!(
        manager::state(&chain.main_client, chain.manager)
            .await
            .unwrap()
            .latest_hash,
        honest.hash(),
        "the manager holds the operator's blocks, each executed on submission"
    );

    eventually("the child chain has a block the manager lacks", || {
        let c = chain.child.clone();
        async move { c.head().number > latest }
    })
    .await;
    let forged = chain.forged(latest + 1);
    let witness = chain.witness(&forged);
    let submit = EvmChildChain::submitBlockCall {
        block_: alloy_rlp_encode(&forged),
        state: witness.state,
        codes: witness.codes,
        headers: witness.headers,
    };
    let refused = chain
        .operator_on_main
        .transact(chain.manager, &submit, U256::ZERO, 5_000_000)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("does not match its execution"),
        "{refused}"
    );
    assert_eq!(chain.latest().await, latest, "nothing was taken");
    chain.catch_up().await;
    assert!(chain.latest().await > latest, "honest blocks go on");
    chain.stop().await;
}

/// Attack: on an optimistic chain the operator commits a forged block; anyone proves it wrong
/// in one transaction, the block (and later ones) are reverted and the stake pays the prover.
/// A proof of an honest block, a replayed proof and a proof after the window are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_forged_block_on_an_optimistic_chain_is_reverted_by_one_proof() {
    let chain = ManagedChild::start(ValidityMode::Optimistic, 6).await;
    chain.child_transfer().await;
    chain.catch_up().await;
    let honest_latest = chain.latest().await;
    eventually("the child chain has a block the manager lacks", || {
        let c = chain.child.clone();
        async move { c.head().number > honest_latest }
    })
    .await;
    let wrong_number = honest_latest + 1;
    let forged = chain.forged(wrong_number);
    chain
        .operator_on_main
        .transact(
            chain.manager,
            &EvmChildChain::commitBlocksCall {
                first: U256::from(wrong_number),
                hashes: vec![forged.header.hash()],
            },
            U256::ZERO,
            300_000,
        )
        .await
        .unwrap();
    assert_eq!(chain.latest().await, wrong_number);

    // A proof of an honest block fails, and costs its sender the gas.
    let prover = Sender::new(chain.main_client.clone(), key(5));
    let honest =
        ankr_child::committer::stored_block(&chain.child.reader().unwrap(), honest_latest).unwrap();
    let refused = prover
        .transact(
            chain.manager,
            &prove_call(honest_latest, &honest, chain.witness(&honest)),
            U256::ZERO,
            5_000_000,
        )
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("the block is valid"),
        "{refused}"
    );

    // The forged block's proof: one transaction.
    let before = chain.main_client.balance(address(5)).await.unwrap();
    let proof = prove_call(wrong_number, &forged, chain.witness(&forged));
    let receipt = prover
        .transact(chain.manager, &proof, U256::ZERO, 5_000_000)
        .await
        .unwrap();
    let reverted =
        ankr_client::main_chain::receipt_events::<EvmChildChain::BlocksReverted>(&receipt);
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].wrongHash, forged.header.hash());
    assert_eq!(reverted[0].reward, U256::from(5 * ANKR), "half the stake");
    let forfeited = chain
        .main_client
        .read(chain.manager, EvmChildChain::forfeitedCall {})
        .await
        .unwrap();
    assert_eq!(
        forfeited,
        U256::from(5 * ANKR),
        "and half is forfeited for good"
    );
    let after = chain.main_client.balance(address(5)).await.unwrap();
    assert!(
        after > before + U256::from(4 * ANKR),
        "the stake paid the prover"
    );
    let state = manager::state(&chain.main_client, chain.manager)
        .await
        .unwrap();
    assert_eq!(
        state.latest_number, honest_latest,
        "the forged block is reverted"
    );
    assert_eq!(state.stake, U256::ZERO);

    // Replaying the proof finds no such block.
    let replayed = prover
        .transact(chain.manager, &proof, U256::ZERO, 5_000_000)
        .await
        .unwrap_err();
    assert!(
        replayed.to_string().contains("no such committed block"),
        "{replayed}"
    );

    // The chain takes no block until the operator stakes again; then it goes on honestly.
    let refused = chain
        .operator_on_main
        .transact(
            chain.manager,
            &EvmChildChain::commitBlocksCall {
                first: U256::from(wrong_number),
                hashes: vec![forged.header.hash()],
            },
            U256::ZERO,
            300_000,
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("stake is below"), "{refused}");
    chain
        .operator_on_main
        .transact(
            chain.manager,
            &EvmChildChain::addStakeCall {},
            U256::from(10 * ANKR),
            100_000,
        )
        .await
        .unwrap();
    chain.catch_up().await;
    let resumed = chain.latest().await;
    assert!(resumed >= wrong_number);
    let honest_hash = chain
        .child
        .reader()
        .unwrap()
        .canonical_hash(wrong_number)
        .unwrap()
        .unwrap();
    assert_eq!(
        ankr_child::committer::committed_hash(&chain.operator_on_main, chain.manager, wrong_number)
            .await
            .unwrap(),
        honest_hash
    );

    // A forged block proven too late: final blocks stand.
    eventually("the child chain has a block the manager lacks", || {
        let c = chain.child.clone();
        async move { c.head().number > resumed }
    })
    .await;
    let late = chain.forged(resumed + 1);
    chain
        .operator_on_main
        .transact(
            chain.manager,
            &EvmChildChain::commitBlocksCall {
                first: U256::from(resumed + 1),
                hashes: vec![late.header.hash()],
            },
            U256::ZERO,
            300_000,
        )
        .await
        .unwrap();
    let committed_at = chain.main.node.chain.head().number;
    eventually("the challenge window has passed", || {
        let c = chain.main.node.chain.clone();
        async move { c.head().number >= committed_at + 7 }
    })
    .await;
    let too_late = prover
        .transact(
            chain.manager,
            &prove_call(resumed + 1, &late, chain.witness(&late)),
            U256::ZERO,
            5_000_000,
        )
        .await
        .unwrap_err();
    assert!(
        too_late.to_string().contains("the block is final"),
        "{too_late}"
    );
    chain.stop().await;
}

/// Waits for the watcher's next proof.
async fn next_proof(
    proofs: &mut tokio::sync::mpsc::UnboundedReceiver<ankr_child::watcher::Proven>,
) -> ankr_child::watcher::Proven {
    tokio::time::timeout(Duration::from_secs(60), proofs.recv())
        .await
        .expect("the watcher proves the forged block within 60 s")
        .expect("the watcher runs")
}

/// Attack: the operator commits blocks no honest node takes (a forged state root) and shows
/// them to the network; a watcher (a follower with a main-chain account) proves each wrong by
/// itself in one transaction before the window closes, the block is reverted, the blocks
/// before it stand and the prover is paid. First a forged block beside the watcher's own (kept
/// as a side block), proven by a watcher that restarted after hearing of it; then one on top of
/// the watcher's head (refused by execution and kept among its bad blocks, which
/// `debug_getBadBlocks` shows).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_watcher_proves_forged_blocks_by_itself() {
    use ankr_rpc::api::PouwRpcClient;
    let mut chain = ManagedChild::start(ValidityMode::Optimistic, 40).await;
    let watcher_dir = tempfile::tempdir().unwrap();
    let watcher = chain.watcher(watcher_dir.path()).await;
    chain.child_transfer().await;
    chain.catch_up().await;
    let honest_latest = chain.latest().await;
    eventually("the watcher has the operator's next block", || {
        let w = watcher.node.chain.clone();
        async move { w.head().number > honest_latest }
    })
    .await;

    // 1. A forged block beside the watcher's canonical one; the watcher stops before the
    //    commitment and restarts after it.
    let forged = chain.forged(honest_latest + 1);
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(watcher.rpc_url())
        .unwrap();
    client
        .submit_block(alloy_rlp_encode(&forged))
        .await
        .expect("kept as a side block: it does not outweigh the watcher's own");
    watcher.stop().await;
    chain.commit(&forged).await;
    let before = chain.main_client.balance(address(PROVER)).await.unwrap();
    let mut watcher = chain.watcher(watcher_dir.path()).await;
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(watcher.rpc_url())
        .unwrap();
    let mut proofs = watcher.take_proofs().unwrap();
    let proven = next_proof(&mut proofs).await;
    assert_eq!(proven.number, honest_latest + 1);
    assert_eq!(proven.wrong_hash, forged.header.hash());
    assert_eq!(proven.reward, U256::from(5 * ANKR), "half the stake");
    eprintln!(
        "figure: a forged block reverted {} ms after the watcher first read its commitment",
        proven.took.as_millis()
    );
    let state = manager::state(&chain.main_client, chain.manager)
        .await
        .unwrap();
    assert_eq!(
        state.latest_number, honest_latest,
        "the forged block is reverted"
    );
    assert_eq!(
        state.latest_hash,
        chain
            .child
            .reader()
            .unwrap()
            .canonical_hash(honest_latest)
            .unwrap()
            .unwrap(),
        "the blocks before it stand"
    );
    assert!(chain.main_client.balance(address(PROVER)).await.unwrap() > before);

    // The operator stakes again and commits its honest blocks: the watcher finds them all
    // standing and proves nothing.
    chain
        .operator_on_main
        .transact(
            chain.manager,
            &EvmChildChain::addStakeCall {},
            U256::from(10 * ANKR),
            100_000,
        )
        .await
        .unwrap();
    // 2. A forged block on the watcher's head: the operator stops making blocks, commits
    //    every honest one, and shows the watcher one more whose state root lies.
    let head = chain.stop_operator_with_all_committed(&watcher).await;
    let forged = ankr_types::Block {
        header: ankr_types::Header {
            parent_hash: head.hash(),
            number: head.number + 1,
            base_fee_per_gas: ankr_chain::next_base_fee(&head),
            gas_used: 0,
            transactions_root: alloy_trie_empty(),
            receipts_root: alloy_trie_empty(),
            logs_bloom: Default::default(),
            state_root: alloy_primitives::B256::repeat_byte(0x77),
            ..head.clone()
        },
        transactions: vec![],
    };
    let forged = resealed(forged, OPERATOR);
    shown_as_bad(&client, &forged, "state root").await;
    chain.commit(&forged).await;
    let proven = next_proof(&mut proofs).await;
    assert_eq!(proven.wrong_hash, forged.header.hash());
    let state = manager::state(&chain.main_client, chain.manager)
        .await
        .unwrap();
    assert_eq!(
        state.latest_number, head.number,
        "the forged block is reverted"
    );
    assert_eq!(state.latest_hash, head.hash(), "every honest block stands");
    watcher.stop().await;
    chain.stop().await;
}

/// Attack: the operator commits blocks whose state root is right but which break another rule
/// nodes check: (1) a transaction that failed, shown as succeeded (its receipt rewritten);
/// (2) a block whose base fee it raised, every root right; (3) a block signed with another key,
/// whose body it publishes only when challenged. A watcher proves each in one transaction by
/// itself; none of them can become final.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_watcher_proves_a_failed_transaction_shown_as_succeeded_and_broken_header_rules() {
    use ankr_rpc::api::PouwRpcClient;
    let mut chain = ManagedChild::start(ValidityMode::Optimistic, 40).await;
    let watcher_dir = tempfile::tempdir().unwrap();
    let mut watcher = chain.watcher(watcher_dir.path()).await;
    let mut proofs = watcher.take_proofs().unwrap();
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .build(watcher.rpc_url())
        .unwrap();
    let restake = async |chain: &ManagedChild| {
        chain
            .operator_on_main
            .transact(
                chain.manager,
                &EvmChildChain::addStakeCall {},
                U256::from(10 * ANKR),
                100_000,
            )
            .await
            .unwrap();
    };

    // 1. A call that fails (only the node may write anchors into the bridge), mined honestly
    //    with status 0; the operator commits a copy of its block whose receipt says 1.
    let child = MainChain::connect(&chain.child_rpc).await.unwrap();
    let sent = Sender::new(child.clone(), key(USER))
        .send(
            Some(ankr_execution::CHILD_BRIDGE_ADDRESS),
            vec![0x11; 32],
            U256::ZERO,
            100_000,
        )
        .await
        .unwrap();
    eventually("the failing call is mined", || {
        let child = child.clone();
        async move { child.receipt(sent.hash).await.unwrap().is_some() }
    })
    .await;
    let receipt = child.receipt(sent.hash).await.unwrap().unwrap();
    assert!(!receipt.status(), "the call failed");
    let number = receipt.block_number.unwrap();
    let reader = chain.child.reader().unwrap();
    let honest = ankr_child::committer::stored_block(&reader, number).unwrap();
    let mut receipts = reader.receipts(honest.header.hash()).unwrap().unwrap();
    let index = receipt.transaction_index.unwrap() as usize;
    match &mut receipts[index] {
        alloy_consensus::ReceiptEnvelope::Eip1559(r) => r.receipt.status = true.into(),
        other => panic!("an EIP-1559 receipt, not {other:?}"),
    }
    let mut succeeded = honest.clone();
    succeeded.header.receipts_root = ankr_execution::receipts_root(&receipts);
    let succeeded = resealed(succeeded, OPERATOR);
    client
        .submit_block(alloy_rlp_encode(&succeeded))
        .await
        .expect("kept as a side block beside the watcher's own");
    chain.commit_through(number - 1).await;
    chain.commit(&succeeded).await;
    let proven = next_proof(&mut proofs).await;
    assert_eq!(proven.wrong_hash, succeeded.header.hash());
    assert_eq!(
        chain.latest().await,
        number - 1,
        "the lying block is reverted"
    );
    restake(&chain).await;

    // 2. The operator stops; every honest block is committed; then one more block, executed
    //    honestly, whose base fee the operator raised after building it.
    let head = chain.stop_operator_with_all_committed(&watcher).await;
    let next = chain.build_next();
    let mut dearer = next.clone();
    dearer.header.base_fee_per_gas += 1;
    let dearer = resealed(dearer, OPERATOR);
    shown_as_bad(&client, &dearer, "base fee").await;
    chain.commit(&dearer).await;
    let proven = next_proof(&mut proofs).await;
    assert_eq!(proven.wrong_hash, dearer.header.hash());
    assert_eq!(
        chain.latest().await,
        head.number,
        "the dearer block is reverted"
    );
    restake(&chain).await;

    // 3. The same honest block signed with another key: no node takes it, so nobody sees it
    //    until the watcher challenges its availability and the operator publishes it.
    let stranger = resealed(next.clone(), USER);
    chain.commit(&stranger).await;
    eventually("the watcher challenges the unseen block", || {
        let main = chain.main_client.clone();
        let manager = chain.manager;
        async move {
            main.read(manager, EvmChildChain::challengedBlockCall {})
                .await
                .unwrap()
                == U256::from(stranger.header.number)
        }
    })
    .await;
    chain
        .operator_on_main
        .transact(
            chain.manager,
            &EvmChildChain::publishBlockCall {
                block_: alloy_rlp_encode(&stranger),
            },
            U256::ZERO,
            1_000_000,
        )
        .await
        .unwrap();
    let proven = next_proof(&mut proofs).await;
    assert_eq!(proven.wrong_hash, stranger.header.hash());
    assert_eq!(
        chain.latest().await,
        head.number,
        "the stranger's block is reverted"
    );
    watcher.stop().await;
    chain.stop().await;
}

/// The ANKR the child chain's accounts hold outside its bridge, plus the base fees its blocks
/// burnt, at the operator's head (one snapshot of its store).
fn child_supply_outside_bridge(chain: &ankr_chain::Chain) -> (U256, U256) {
    let reader = chain.reader().unwrap();
    let state = reader.state().unwrap();
    let bridge = state
        .account(ankr_execution::CHILD_BRIDGE_ADDRESS)
        .unwrap()
        .unwrap()
        .balance;
    let burnt = burnt_fees(&reader, reader.head().unwrap().unwrap().number);
    let genesis = ankr_child::bridge::genesis_supply(chain.spec());
    (
        ankr_child::bridge::premint() + genesis - bridge - burnt,
        burnt,
    )
}

/// ANKR goes main → child → main through the bridge: a deposit escrowed by the manager is
/// anchored and credited on the child chain by the operator's relay, a withdrawal recorded in
/// the child's bridge is proven on the main chain with `eth_getProof` against a final child
/// header and paid once; the escrow equals the ANKR outside the child's bridge (plus burnt
/// fees and the withdrawal not paid yet). A withdrawal proven before its block is final, twice,
/// or for another amount is refused by its rule.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ankr_goes_main_to_child_to_main_with_the_escrow_conserved() {
    use ankr_child::bridge;
    let (main, main_client, operator_on_main) = main_chain().await;
    let mut spec = funded_spec(Profile::ECommerce);
    spec.target_block_time_ms = 300;
    let mut settings = ManagerSettings::for_spec(
        &spec,
        "shop",
        ValidityMode::Optimistic,
        U256::from(10 * ANKR),
    );
    settings.challenge_window = 4;
    let genesis = settings.genesis_supply;
    assert_eq!(
        genesis,
        U256::from(100 * ANKR) + U256::from(ankr_child::profile::OPERATOR_FLOAT),
        "the user's genesis ANKR and the operator's float"
    );
    let manager = manager::deploy(&operator_on_main, &settings).await.unwrap();
    let escrow = |main_client: MainChain| async move {
        manager::state(&main_client, manager).await.unwrap().escrow
    };
    assert_eq!(escrow(main_client.clone()).await, genesis);
    let dir = tempfile::tempdir().unwrap();
    let operator = ChildNode::start(ChildConfig {
        data_dir: dir.path().to_path_buf(),
        spec,
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        role: Role::Operator {
            key: key(OPERATOR),
            main: Some(MainLink {
                rpc_url: main.node.rpc_url(),
                manager,
                key: key(OPERATOR),
            }),
        },
        network: None,
        pool: Default::default(),
    })
    .await
    .unwrap();
    let child = MainChain::connect(&operator.rpc_url()).await.unwrap();

    // In: account 6 has nothing on the child chain until its deposit is credited there.
    let depositor = Sender::new(main_client.clone(), key(USER));
    let deposit = bridge::deposit(&depositor, manager, address(6), U256::from(5 * ANKR))
        .await
        .unwrap();
    assert_eq!(deposit.index, 1);
    eventually("the deposit is credited on the child chain", || {
        let child = child.clone();
        async move { child.balance(address(6)).await.unwrap() == U256::from(5 * ANKR) }
    })
    .await;
    assert_eq!(
        escrow(main_client.clone()).await,
        genesis + U256::from(5 * ANKR)
    );

    // Out: 2 ANKR to account 7 on the main chain, relayed by account 5.
    let holder = Sender::new(child.clone(), key(6));
    let withdrawal = bridge::start_withdrawal(&holder, address(7), U256::from(2 * ANKR))
        .await
        .unwrap();
    let relayer = Sender::new(main_client.clone(), key(PROVER));
    let early = bridge::withdrawal_proof(&child, &withdrawal, withdrawal.block)
        .await
        .unwrap();
    let refused = relayer
        .transact(manager, &early, U256::ZERO, 600_000)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("not final"), "{refused}");
    let before = main_client.balance(address(7)).await.unwrap();
    let receipt = bridge::finish_withdrawal(
        &relayer,
        manager,
        &child,
        &withdrawal,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let paid = ankr_client::main_chain::receipt_events::<EvmChildChain::WithdrawalPaid>(&receipt);
    assert_eq!(paid.len(), 1);
    assert_eq!(
        main_client.balance(address(7)).await.unwrap(),
        before + U256::from(2 * ANKR),
        "the withdrawal is paid on the main chain"
    );
    let proven_at: u64 = paid[0].childBlock.saturating_to();
    let twice = bridge::withdrawal_proof(&child, &withdrawal, proven_at)
        .await
        .unwrap();
    let refused = relayer
        .transact(manager, &twice, U256::ZERO, 600_000)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("already paid"), "{refused}");

    // A second withdrawal, claimed for more than it holds.
    let second = bridge::start_withdrawal(&holder, address(7), U256::from(ANKR))
        .await
        .unwrap();
    let inflated = bridge::Withdrawal {
        amount: U256::from(3 * ANKR),
        ..second.clone()
    };
    let refused = bridge::finish_withdrawal(
        &relayer,
        manager,
        &child,
        &inflated,
        Duration::from_secs(60),
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("records no such withdrawal"),
        "{refused}"
    );

    // Conservation: escrow = ANKR outside the child's bridge + burnt fees + the withdrawal
    // started but not paid.
    let (outside, burnt) = child_supply_outside_bridge(&operator.node.chain);
    let held = escrow(main_client.clone()).await;
    assert_eq!(held, genesis + U256::from(3 * ANKR));
    assert_eq!(
        held,
        outside + burnt + second.amount,
        "escrow {held} = outside {outside} + burnt {burnt} + pending {}",
        second.amount
    );
    operator.stop().await;
    main.node.stop().await;
}

/// Attack: the operator invents a deposit — it anchors a deposit hash the manager never gave
/// and credits itself 1,000 ANKR against it. The chain's own nodes take the block (only the
/// main chain can judge an anchor), but a watcher asks the manager, proves the block wrong in
/// one transaction and the block is reverted; the operator's node and the watcher's follow the
/// reversal (the blocks are dropped, their transactions sequenced again), so the invented ANKR
/// is gone from the child chain's RPC, and the chain goes on with honest blocks once the
/// operator stakes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_an_invented_deposit_is_reverted_and_the_child_chain_follows() {
    use ankr_child::bridge;
    let (main, main_client, operator_on_main, spec, manager) = optimistic_shop(40).await;
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let operator = linked_operator(&main, &spec, manager, dirs.0.path()).await;
    let mut watcher = watcher_of(&operator, main.node.rpc_url(), manager, dirs.1.path()).await;
    let mut proofs = watcher.take_proofs().unwrap();
    let child = MainChain::connect(&operator.rpc_url()).await.unwrap();

    // An honest deposit, credited.
    let depositor = Sender::new(main_client.clone(), key(USER));
    let honest = bridge::deposit(&depositor, manager, address(6), U256::from(5 * ANKR))
        .await
        .unwrap();
    eventually("the honest deposit is credited", || {
        let child = child.clone();
        async move { child.balance(address(6)).await.unwrap() == U256::from(5 * ANKR) }
    })
    .await;

    // The invented deposit: 1,000 ANKR to the operator, folded onto the credited hash.
    let invented = U256::from(1_000 * ANKR);
    let chain = operator.node.chain.clone();
    let wrong = anchor_invented_deposit(&chain, honest.hash, invented).await;
    let cheat = Sender::new(child.clone(), key(OPERATOR));
    let before = child.balance(address(OPERATOR)).await.unwrap();
    cheat
        .transact(
            ankr_execution::CHILD_BRIDGE_ADDRESS,
            &ankr_contracts::ChildBridge::creditCall {
                deposits: vec![ankr_contracts::ChildBridge::Deposit {
                    to: address(OPERATOR),
                    amount: invented,
                }],
            },
            U256::ZERO,
            200_000,
        )
        .await
        .unwrap();
    assert!(
        child.balance(address(OPERATOR)).await.unwrap() > before + U256::from(999 * ANKR),
        "the child chain's nodes credited the invented ANKR"
    );

    // The watcher proves the block wrong by its anchor alone; the chain follows.
    let proven = next_proof(&mut proofs).await;
    assert_eq!(proven.number, wrong.number);
    assert_eq!(proven.wrong_hash, wrong.hash());
    eprintln!(
        "figure: a block with an invented deposit reverted {} ms after the watcher first read its commitment",
        proven.took.as_millis()
    );
    for (name, node) in [("operator", &operator), ("watcher", &watcher)] {
        let what = format!("the {name} drops the reverted block");
        eventually_dropped(&what, &node.node.chain, wrong.number, wrong.hash()).await;
    }
    assert!(
        child.balance(address(OPERATOR)).await.unwrap() < before + U256::from(ANKR),
        "the invented ANKR is gone from the child chain"
    );
    assert_eq!(
        child.balance(address(6)).await.unwrap(),
        U256::from(5 * ANKR),
        "the honest deposit stands"
    );

    // The operator stakes again; its new blocks are committed and stand.
    operator_on_main
        .transact(
            manager,
            &EvmChildChain::addStakeCall {},
            U256::from(10 * ANKR),
            100_000,
        )
        .await
        .unwrap();
    let resumed = wrong.number + 2;
    eventually("the manager takes the operator's new blocks", || {
        let main_client = main_client.clone();
        async move {
            manager::state(&main_client, manager)
                .await
                .unwrap()
                .latest_number
                >= resumed
        }
    })
    .await;
    let standing = ankr_child::committer::committed_hash(&operator_on_main, manager, wrong.number)
        .await
        .unwrap();
    assert_ne!(standing, wrong.hash());
    assert_eq!(
        Some(standing),
        operator
            .node
            .chain
            .reader()
            .unwrap()
            .canonical_hash(wrong.number)
            .unwrap()
    );
    assert!(
        tokio::time::timeout(Duration::from_secs(3), proofs.recv())
            .await
            .is_err(),
        "the watcher finds nothing wrong in the new blocks"
    );
    watcher.stop().await;
    operator.stop().await;
    main.node.stop().await;
}

/// Attack: the operator holds a deposit back — its blocks go on anchoring the old deposit hash
/// after the deposit is due (here 2 s after it was made). The first such block committed is
/// proven wrong by a watcher; the blocks before it stand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_deposit_held_back_makes_the_block_provably_wrong() {
    let chain = ManagedChild::start(ValidityMode::Optimistic, 40).await;
    let dir = tempfile::tempdir().unwrap();
    let mut watcher = chain.watcher(dir.path()).await;
    let mut proofs = watcher.take_proofs().unwrap();
    let depositor = Sender::new(chain.main_client.clone(), key(USER));
    ankr_child::bridge::deposit(&depositor, chain.manager, address(6), U256::from(ANKR))
        .await
        .unwrap();
    let made_at: u64 = chain
        .main_client
        .read(chain.manager, EvmChildChain::depositedAtCall(U256::from(1)))
        .await
        .unwrap()
        .saturating_to();
    eventually("child blocks are stamped after the deposit is due", || {
        let child = chain.child.clone();
        async move { child.head().timestamp >= made_at + 3 }
    })
    .await;
    chain.catch_up().await;
    let proven = next_proof(&mut proofs).await;
    let reader = chain.child.reader().unwrap();
    let wrong = reader.header_by_number(proven.number).unwrap().unwrap();
    let before = reader.header_by_number(proven.number - 1).unwrap().unwrap();
    assert_eq!(proven.wrong_hash, wrong.hash());
    assert_eq!(
        wrong.child_chains_root,
        alloy_primitives::B256::ZERO,
        "it anchors no deposit"
    );
    assert!(wrong.timestamp >= made_at + 2, "the deposit was due in it");
    assert!(
        before.timestamp < made_at + 2,
        "but not in its parent, which stands"
    );
    assert_eq!(chain.latest().await, proven.number - 1);
    watcher.stop().await;
    chain.stop().await;
}

/// Attack: the operator commits a block whose body it shows nobody. A watcher challenges its
/// availability, the operator does not answer, the watcher freezes the chain and exits its own
/// account with an account proof; every other account exits the same way and the deposit the
/// frozen chain never credited is paid back, all from the escrow, and nothing is stuck. Before
/// that, a challenge of a block the operator has is answered by publishing it, and the
/// challenger's bond pays the operator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_withheld_body_freezes_the_chain_and_every_account_exits() {
    let chain = ManagedChild::start(ValidityMode::Optimistic, 6).await;
    let dir = tempfile::tempdir().unwrap();
    let watcher = chain.watcher(dir.path()).await;
    // The watcher's account holds 3 ANKR on the child chain.
    let child = MainChain::connect(&chain.child_rpc).await.unwrap();
    let sent = Sender::new(child.clone(), key(USER))
        .send(Some(address(PROVER)), vec![], U256::from(3 * ANKR), 21_000)
        .await
        .unwrap();
    child
        .wait(sent.hash, Duration::from_secs(30))
        .await
        .unwrap();
    chain.catch_up().await;
    let last = chain.latest().await;

    // An honest challenge: the operator publishes the block and takes the bond.
    let challenger = Sender::new(chain.main_client.clone(), key(USER));
    challenger
        .transact(
            chain.manager,
            &EvmChildChain::challengeAvailabilityCall {
                number: U256::from(last),
            },
            U256::from(ANKR),
            200_000,
        )
        .await
        .unwrap();
    ankr_child::committer::answer_challenge(&chain.child, &chain.operator_on_main, chain.manager)
        .await
        .unwrap();
    let challenged = chain
        .main_client
        .read(chain.manager, EvmChildChain::challengedBlockCall {})
        .await
        .unwrap();
    assert_eq!(
        challenged,
        U256::ZERO,
        "the published body answers the challenge"
    );

    // A deposit the chain will never credit, then a block nobody is shown.
    let depositor = Sender::new(chain.main_client.clone(), key(USER));
    ankr_child::bridge::deposit(&depositor, chain.manager, address(6), U256::from(2 * ANKR))
        .await
        .unwrap();
    let mut withheld = chain.forged(last + 1);
    withheld.header.extra_data = alloy_primitives::Bytes::from_static(b"never shown");
    chain.commit(&withheld).await;
    let escrow_before = manager::state(&chain.main_client, chain.manager)
        .await
        .unwrap()
        .escrow;

    // The watcher challenges, freezes and exits by itself.
    let main_client = chain.main_client.clone();
    let manager_address = chain.manager;
    eventually("the watcher freezes the chain and exits", || {
        let main_client = main_client.clone();
        async move {
            main_client
                .read(manager_address, EvmChildChain::exitedCall(address(PROVER)))
                .await
                .unwrap()
        }
    })
    .await;
    let state = manager::state(&chain.main_client, chain.manager)
        .await
        .unwrap();
    assert_eq!(
        state.latest_number, last,
        "frozen at the block before the withheld one"
    );
    assert_eq!(state.stake, U256::ZERO, "the stake paid the challenger");

    // Everyone else exits from the frozen chain's last block with an account proof.
    let reader = chain.child.reader().unwrap();
    let header: alloy_primitives::Bytes =
        alloy_rlp::encode(reader.header_by_number(last).unwrap().unwrap()).into();
    let state_at_last = reader.state_at(last).unwrap();
    let balance_at = |who| {
        state_at_last
            .account(who)
            .unwrap()
            .map(|a| a.balance)
            .unwrap_or_default()
    };
    let mut paid = balance_at(address(PROVER));
    for who in [USER, OPERATOR] {
        let proof = state_at_last.proof(address(who), &[]).unwrap();
        let exit = EvmChildChain::exitCall {
            header: header.clone(),
            accountProof: proof.account_proof,
        };
        let account = Sender::new(chain.main_client.clone(), key(who));
        let receipt = account
            .transact(chain.manager, &exit, U256::ZERO, 400_000)
            .await
            .unwrap();
        let exited = ankr_client::main_chain::receipt_events::<EvmChildChain::Exited>(&receipt);
        assert_eq!(exited[0].amount, balance_at(address(who)));
        paid += exited[0].amount;
        let again = account
            .transact(chain.manager, &exit, U256::ZERO, 400_000)
            .await
            .unwrap_err();
        assert!(again.to_string().contains("already exited"), "{again}");
    }
    // The uncredited deposit is paid back on the main chain.
    let slot = alloy_primitives::U256::from(3);
    let bridge_proof = state_at_last
        .proof(ankr_execution::CHILD_BRIDGE_ADDRESS, &[slot])
        .unwrap();
    let before = chain.main_client.balance(address(6)).await.unwrap();
    chain
        .operator_on_main
        .transact(
            chain.manager,
            &EvmChildChain::reclaimDepositCall {
                index: U256::from(1),
                to: address(6),
                amount: U256::from(2 * ANKR),
                header: header.clone(),
                accountProof: bridge_proof.account_proof,
                storageProof: bridge_proof.storage[0].2.clone(),
            },
            U256::ZERO,
            400_000,
        )
        .await
        .unwrap();
    assert_eq!(
        chain.main_client.balance(address(6)).await.unwrap(),
        before + U256::from(2 * ANKR)
    );
    paid += U256::from(2 * ANKR);

    // What is left in escrow is what the frozen chain's base fees burnt: nothing is stuck.
    let burnt = burnt_fees(&reader, last);
    let left = manager::state(&chain.main_client, chain.manager)
        .await
        .unwrap()
        .escrow;
    assert_eq!(escrow_before, paid + burnt, "every ANKR held is paid out");
    assert_eq!(left, burnt);
    watcher.stop().await;
    chain.stop().await;
}

/// An operator restarting mid-reversal: its blocks (here one anchoring an invented deposit)
/// are committed while it is not linked to the main chain, a watcher proves the block wrong and
/// the manager reverts it while the operator is down; when it comes back linked, it reads the
/// reversal before anything else, drops the block and what followed, and commits new blocks
/// that stand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_restarting_mid_reversal_follows_it_when_it_comes_back() {
    let (main, main_client, operator_on_main, spec, manager) = optimistic_shop(40).await;
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Unlinked: the test commits its blocks by hand.
    let operator = ChildNode::start(operator_config(&spec, dirs.0.path(), None))
        .await
        .unwrap();
    let mut watcher = watcher_of(&operator, main.node.rpc_url(), manager, dirs.1.path()).await;
    let mut proofs = watcher.take_proofs().unwrap();

    // A block anchoring a deposit hash the manager never gave, then honest anchors again.
    let fake = alloy_primitives::B256::repeat_byte(0xfa);
    let chain = operator.node.chain.clone();
    chain.set_anchor(fake);
    eventually("a block anchors the invented hash", || {
        let chain = chain.clone();
        async move { chain.head().child_chains_root == fake }
    })
    .await;
    chain.set_anchor(alloy_primitives::B256::ZERO);
    let wrong = chain.head();
    eventually("a later block builds on it", || {
        let chain = chain.clone();
        async move { chain.head().number > wrong.number + 1 }
    })
    .await;
    let target = chain.head().number;
    while manager::state(&main_client, manager)
        .await
        .unwrap()
        .latest_number
        < target
    {
        ankr_child::committer::catch_up(&chain, &operator_on_main, manager)
            .await
            .unwrap();
    }
    // The operator goes down; the watcher proves the block wrong meanwhile.
    drop(chain);
    operator.stop().await;
    let proven = next_proof(&mut proofs).await;
    assert_eq!(proven.wrong_hash, wrong.hash());
    operator_on_main
        .transact(
            manager,
            &EvmChildChain::addStakeCall {},
            U256::from(10 * ANKR),
            100_000,
        )
        .await
        .unwrap();

    // Back, linked: the reversal is followed first, then new blocks are committed and stand.
    let operator = linked_operator(&main, &spec, manager, dirs.0.path()).await;
    let chain = operator.node.chain.clone();
    let what = "the restarted operator drops the reverted block";
    eventually_dropped(what, &chain, wrong.number, wrong.hash()).await;
    assert!(chain.is_invalid(wrong.hash()), "no peer can bring it back");
    eventually("the manager takes the new blocks", || {
        let main_client = main_client.clone();
        async move {
            manager::state(&main_client, manager)
                .await
                .unwrap()
                .latest_number
                > wrong.number
        }
    })
    .await;
    let standing = ankr_child::committer::committed_hash(&operator_on_main, manager, wrong.number)
        .await
        .unwrap();
    assert_eq!(
        Some(standing),
        chain
            .reader()
            .unwrap()
            .canonical_hash(wrong.number)
            .unwrap()
    );
    drop(chain);
    watcher.stop().await;
    operator.stop().await;
    main.node.stop().await;
}

/// Attack: a withdrawal recorded in a block that is later reversed. Its holder keeps the old
/// block's header and proofs and presents them before the reversal (not final), and again once
/// a new block at the same height is final (not the committed block): both refused. The
/// withdrawal itself goes back to the operator's pool with the rest of the reversed blocks, is
/// recorded again and paid once; a second payment is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_withdrawal_from_a_block_later_reversed_is_paid_once_from_its_new_block() {
    use ankr_child::bridge;
    use ankr_contracts::ChildBridge;
    let (main, main_client, operator_on_main, spec, manager) = optimistic_shop(12).await;
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let operator = linked_operator(&main, &spec, manager, dirs.0.path()).await;
    let child = MainChain::connect(&operator.rpc_url()).await.unwrap();
    let chain = operator.node.chain.clone();
    let holder = Sender::new(child.clone(), key(6));
    let relayer = Sender::new(main_client.clone(), key(PROVER));
    bridge::deposit(
        &Sender::new(main_client.clone(), key(USER)),
        manager,
        address(6),
        U256::from(3 * ANKR),
    )
    .await
    .unwrap();
    eventually("the deposit is credited", || {
        let child = child.clone();
        async move { child.balance(address(6)).await.unwrap() > U256::ZERO }
    })
    .await;

    // The operator anchors a deposit hash the manager never gave (a provably wrong block),
    // and the holder's withdrawal is recorded after it, before any watcher looks.
    let credited = child
        .read(
            ankr_execution::CHILD_BRIDGE_ADDRESS,
            ChildBridge::creditedHashCall {},
        )
        .await
        .unwrap();
    let wrong = anchor_invented_deposit(&chain, credited, U256::from(ANKR)).await;
    let amount = U256::from(ANKR);
    let recorded = holder
        .transact(
            ankr_execution::CHILD_BRIDGE_ADDRESS,
            &ChildBridge::withdrawCall { to: address(7) },
            amount,
            150_000,
        )
        .await
        .unwrap();
    let withdrawal = |receipt: &alloy_rpc_types_eth::TransactionReceipt| {
        let event =
            ankr_client::main_chain::receipt_events::<ChildBridge::WithdrawalStarted>(receipt)[0]
                .clone();
        bridge::Withdrawal {
            id: event.id.saturating_to(),
            to: event.to,
            amount: event.amount,
            block: receipt.block_number.unwrap(),
        }
    };
    let old = withdrawal(&recorded);
    let old_hash = recorded.block_hash.unwrap();
    assert!(
        old.block > wrong.number,
        "the withdrawal's block follows the wrong one"
    );
    let old_proof = bridge::withdrawal_proof(&child, &old, old.block)
        .await
        .unwrap();
    let early = relayer
        .transact(manager, &old_proof, U256::ZERO, 600_000)
        .await
        .unwrap_err();
    assert!(early.to_string().contains("not final"), "{early}");

    // A watcher proves the wrong block; the operator drops it and everything after it.
    let mut watcher = watcher_of(&operator, main.node.rpc_url(), manager, dirs.1.path()).await;
    let mut proofs = watcher.take_proofs().unwrap();
    let proven = next_proof(&mut proofs).await;
    assert!(
        proven.number <= old.block,
        "the reversal takes the withdrawal's block"
    );
    eventually_dropped(
        "the operator drops the withdrawal's block",
        &chain,
        old.block,
        old_hash,
    )
    .await;
    operator_on_main
        .transact(
            manager,
            &EvmChildChain::addStakeCall {},
            U256::from(10 * ANKR),
            100_000,
        )
        .await
        .unwrap();

    // The withdrawal is recorded again in a new block.
    let mut again = None;
    while again.is_none() {
        tokio::time::sleep(Duration::from_millis(200)).await;
        again = child
            .receipt(recorded.transaction_hash)
            .await
            .unwrap()
            .filter(|r| r.block_hash != Some(old_hash));
    }
    let new = withdrawal(&again.unwrap());
    assert_eq!((new.to, new.amount), (address(7), amount));
    // The old block's proof, once its height is final again with another block: refused.
    eventually("the old height is final again", || {
        let main_client = main_client.clone();
        async move {
            main_client
                .read(
                    manager,
                    EvmChildChain::isFinalCall {
                        number: U256::from(old.block),
                    },
                )
                .await
                .unwrap()
        }
    })
    .await;
    let stale = relayer
        .transact(manager, &old_proof, U256::ZERO, 600_000)
        .await
        .unwrap_err();
    assert!(
        stale.to_string().contains("not the committed child block"),
        "{stale}"
    );
    let before = main_client.balance(address(7)).await.unwrap();
    bridge::finish_withdrawal(&relayer, manager, &child, &new, Duration::from_secs(90))
        .await
        .unwrap();
    assert_eq!(
        main_client.balance(address(7)).await.unwrap(),
        before + amount,
        "paid once"
    );
    let twice = bridge::finish_withdrawal(&relayer, manager, &child, &new, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(twice.to_string().contains("already paid"), "{twice}");
    assert_eq!(
        main_client.balance(address(7)).await.unwrap(),
        before + amount
    );
    drop(chain);
    watcher.stop().await;
    operator.stop().await;
    main.node.stop().await;
}

/// The operator anchors a deposit of `invented` to itself that the manager never saw, folded
/// onto `credited` (the child bridge's credited hash), until a block carries it (the relay
/// keeps restoring the true anchor); returns the first block carrying it.
async fn anchor_invented_deposit(
    chain: &std::sync::Arc<ankr_chain::Chain>,
    credited: alloy_primitives::B256,
    invented: U256,
) -> ankr_types::Header {
    let fake = alloy_primitives::keccak256((credited, address(OPERATOR), invented).abi_encode());
    eventually("a block anchors the invented deposit hash", || {
        let chain = chain.clone();
        async move {
            chain.set_anchor(fake);
            tokio::time::sleep(Duration::from_millis(50)).await;
            chain.head().child_chains_root == fake
        }
    })
    .await;
    chain.head()
}

/// What a property-test step does to a chain with a linked operator and a watcher.
#[derive(Clone, Debug)]
enum BridgeStep {
    /// The user deposits this many ANKR for account 6 on the child chain.
    Deposit(u64),
    /// Account 6 sends this many tenths of an ANKR to account 7 on the child chain.
    Transfer(u64),
    /// Account 6 withdraws this many tenths of an ANKR to the main chain (paid once final).
    Withdraw(u64),
    /// The operator anchors an invented deposit and credits it to itself; a watcher reverts it.
    Invent,
}

fn bridge_step() -> impl proptest::strategy::Strategy<Value = BridgeStep> {
    use proptest::prelude::*;
    prop_oneof![
        (1u64..4).prop_map(BridgeStep::Deposit),
        (1u64..5).prop_map(BridgeStep::Transfer),
        (1u64..5).prop_map(BridgeStep::Withdraw),
        Just(BridgeStep::Invent),
    ]
}

/// Escrow on the main chain against the child chain's ANKR outside its bridge, once the relay
/// has credited every deposit: escrow = outside + burnt base fees (nothing pending).
async fn assert_escrow_balances(
    main_client: &MainChain,
    manager: alloy_primitives::Address,
    child: &MainChain,
    chain: &ankr_chain::Chain,
) {
    let deposits = manager::state(main_client, manager).await.unwrap().deposits;
    eventually("every deposit is credited", || {
        let child = child.clone();
        async move {
            let credited: u64 = child
                .read(
                    ankr_execution::CHILD_BRIDGE_ADDRESS,
                    ankr_contracts::ChildBridge::creditedCountCall {},
                )
                .await
                .unwrap()
                .saturating_to();
            credited == deposits
        }
    })
    .await;
    let (outside, burnt) = child_supply_outside_bridge(chain);
    let escrow = manager::state(main_client, manager).await.unwrap().escrow;
    assert_eq!(
        escrow,
        outside + burnt,
        "escrow {escrow} = outside {outside} + burnt {burnt}"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 6, ..Default::default() })]

    /// Property: whatever deposits, child transfers, withdrawals and reverted invented deposits
    /// happen, in any order, the manager's escrow equals the ANKR outside the child's bridge
    /// plus the base fees burnt there, after every step (reversals included).
    #[test]
    fn the_escrow_equals_the_child_chains_ankr_after_every_step(
        steps in proptest::collection::vec(bridge_step(), 2..6)
    ) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(escrow_property(steps));
    }
}

async fn escrow_property(steps: Vec<BridgeStep>) {
    use ankr_child::bridge;
    // A 12-block (6 s) window: a watcher on a loaded 2-core machine has missed a 2 s one, and a
    // wrong block it cannot prove in time becomes final (the test's own rule, not a bug).
    let (main, main_client, operator_on_main, spec, manager) = optimistic_shop(12).await;
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let operator = linked_operator(&main, &spec, manager, dirs.0.path()).await;
    let mut watcher = watcher_of(&operator, main.node.rpc_url(), manager, dirs.1.path()).await;
    let mut proofs = watcher.take_proofs().unwrap();
    let child = MainChain::connect(&operator.rpc_url()).await.unwrap();
    let chain = operator.node.chain.clone();
    let depositor = Sender::new(main_client.clone(), key(USER));
    let holder = Sender::new(child.clone(), key(6));
    let relayer = Sender::new(main_client.clone(), key(PROVER));
    let tenth = U256::from(ANKR / 10);
    for step in steps {
        let held = child.balance(address(6)).await.unwrap();
        match step {
            BridgeStep::Deposit(ankr) => {
                bridge::deposit(
                    &depositor,
                    manager,
                    address(6),
                    U256::from(ankr as u128 * ANKR),
                )
                .await
                .unwrap();
            }
            // Account 6 acts only with what it holds (and keeps a tenth for gas).
            BridgeStep::Transfer(tenths) if held > U256::from(tenths + 1) * tenth => {
                let sent = holder
                    .send(Some(address(7)), vec![], U256::from(tenths) * tenth, 21_000)
                    .await
                    .unwrap();
                child
                    .wait(sent.hash, Duration::from_secs(30))
                    .await
                    .unwrap();
            }
            BridgeStep::Withdraw(tenths) if held > U256::from(tenths + 1) * tenth => {
                let withdrawal =
                    bridge::start_withdrawal(&holder, address(7), U256::from(tenths) * tenth)
                        .await
                        .unwrap();
                bridge::finish_withdrawal(
                    &relayer,
                    manager,
                    &child,
                    &withdrawal,
                    Duration::from_secs(60),
                )
                .await
                .unwrap();
            }
            BridgeStep::Transfer(_) | BridgeStep::Withdraw(_) => {}
            BridgeStep::Invent => {
                let credited = child
                    .read(
                        ankr_execution::CHILD_BRIDGE_ADDRESS,
                        ankr_contracts::ChildBridge::creditedHashCall {},
                    )
                    .await
                    .unwrap();
                let invented = U256::from(1_000 * ANKR);
                let wrong = anchor_invented_deposit(&chain, credited, invented).await;
                Sender::new(child.clone(), key(OPERATOR))
                    .transact(
                        ankr_execution::CHILD_BRIDGE_ADDRESS,
                        &ankr_contracts::ChildBridge::creditCall {
                            deposits: vec![ankr_contracts::ChildBridge::Deposit {
                                to: address(OPERATOR),
                                amount: invented,
                            }],
                        },
                        U256::ZERO,
                        200_000,
                    )
                    .await
                    .unwrap();
                let proven = next_proof(&mut proofs).await;
                assert_eq!(proven.wrong_hash, wrong.hash());
                let what = "the operator drops the reverted block";
                eventually_dropped(what, &chain, wrong.number, wrong.hash()).await;
                operator_on_main
                    .transact(
                        manager,
                        &EvmChildChain::addStakeCall {},
                        U256::from(10 * ANKR),
                        100_000,
                    )
                    .await
                    .unwrap();
            }
        }
        assert_escrow_balances(&main_client, manager, &child, &chain).await;
    }
    drop(chain);
    watcher.stop().await;
    operator.stop().await;
    main.node.stop().await;
}
