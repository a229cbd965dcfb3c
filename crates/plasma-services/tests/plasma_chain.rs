//! A child chain end to end on loopback: a main-chain node sealing every 300 ms, the RootChain
//! and ChildChainRegistry on it, a real operator (`plasma_*` JSON-RPC, redb, gossip) and a
//! watcher for Bob. Deposits, payments with confirm signatures, a restart of the operator, an
//! exit of a spent output that the watcher challenges, exits paid after maturity; a withheld
//! block and an invalid block (gossiped by an operator gone bad) after which every honest user
//! gets all their funds out.

use alloy_primitives::{Address, B256, Bytes, U256};
use ankr_client::{MainChain, Sender};
use ankr_contracts::genesis::CHILD_CHAIN_REGISTRY_ADDRESS;
use ankr_contracts::{ChildChainRegistry, RootChain};
use ankr_node::test_utils::{ANKR, address, ankr, key};
use ankr_node::{DevSealing, Node, NodeConfig, devnet};
use ankr_plasma::{ChildBlock, Ledger, Output, PlasmaTx, TxDomain, UtxoPos};
use ankr_plasma_services::api::{InclusionProof, PlasmaApiClient};
use ankr_plasma_services::client::PlasmaClient;
use ankr_plasma_services::gossip;
use ankr_plasma_services::operator::{self, OperatorConfig, RootChainSettings, RunningOperator};
use ankr_plasma_services::store::{ChildStore, Event, block_event};
use ankr_plasma_services::watcher::{self, Verdict, WatcherConfig};
use ankr_rpc::api::AnkrRpcClient;
use std::path::Path;
use std::time::Duration;

/// Main-chain seconds (blocks are ≥ 1 s apart and come every 300 ms, so time runs ~3× fast).
const CHALLENGE_PERIOD: u64 = 10;
const MATURITY_PERIOD: u64 = 20;
const BOND: u128 = ANKR / 100;

const OPERATOR: usize = 0;
const ALICE: usize = 1;
const BOB: usize = 2;
const CAROL: usize = 3;

struct World {
    dir: tempfile::TempDir,
    node: Node,
    main: MainChain,
    root_chain: Address,
}

/// Every test chain's RootChain: short periods, a 0.01 ANKR bond, a 2 ANKR stake.
fn settings() -> RootChainSettings {
    RootChainSettings {
        challenge_period: CHALLENGE_PERIOD,
        maturity_period: MATURITY_PERIOD,
        exit_bond: ankr(BOND),
        stake: ankr(2 * ANKR),
    }
}

impl World {
    async fn start() -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let node = Node::start(NodeConfig {
            operator: None,
            data_dir: dir.path().join("main"),
            spec: devnet::spec(),
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            sealing: DevSealing::Interval(Duration::from_millis(300)),
            beneficiary: Address::repeat_byte(0xbe),
            mining: None,
            network: None,
            pool: Default::default(),
        })
        .await
        .unwrap();
        let main = MainChain::connect(&node.rpc_url()).await.unwrap();
        let root_chain =
            operator::deploy_child_chain(&main, &key(OPERATOR), "test chain", settings())
                .await
                .unwrap();
        // Registered once, as this chain.
        assert_eq!(
            main.read(
                CHILD_CHAIN_REGISTRY_ADDRESS,
                ChildChainRegistry::countCall {}
            )
            .await
            .unwrap(),
            U256::from(1)
        );
        let registered = main
            .read(
                CHILD_CHAIN_REGISTRY_ADDRESS,
                ChildChainRegistry::chainCall { id: U256::from(1) },
            )
            .await
            .unwrap();
        assert_eq!(registered.rootChain, root_chain);
        assert_eq!(
            root_chain,
            address(OPERATOR).create(0),
            "the domain() tests sign in"
        );
        Self {
            dir,
            node,
            main,
            root_chain,
        }
    }

    /// Starts (or restarts, on the same addresses) the operator whose files are in `dir`,
    /// making a block every 300 ms.
    async fn operator(
        &self,
        dir: &Path,
        previous: Option<(std::net::SocketAddr, libp2p::Multiaddr)>,
    ) -> RunningOperator {
        self.operator_every(dir, previous, Duration::from_millis(300))
            .await
    }

    /// [`World::operator`] with a block every `block_interval`.
    async fn operator_every(
        &self,
        dir: &Path,
        previous: Option<(std::net::SocketAddr, libp2p::Multiaddr)>,
        block_interval: Duration,
    ) -> RunningOperator {
        let mut config = self.operator_config(dir);
        if let Some((rpc_addr, p2p_listen)) = previous {
            config.rpc_addr = rpc_addr;
            config.p2p_listen = p2p_listen;
        }
        config.block_interval = block_interval;
        operator::start(config).await.unwrap()
    }

    /// The world chain's operator with its file in `dir`: free loopback ports, a block every
    /// 300 ms, logs one block deep, the default early-block threshold.
    fn operator_config(&self, dir: &Path) -> OperatorConfig {
        OperatorConfig {
            main_rpc: self.node.rpc_url(),
            root_chain: self.root_chain,
            key: key(OPERATOR),
            data_dir: dir.to_path_buf(),
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            p2p_listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            block_interval: Duration::from_millis(300),
            confirmations: 1,
            early_block_deposits: operator::EARLY_BLOCK_DEPOSITS,
        }
    }

    /// A second child chain, "chain b": its own RootChain (deployed by account 5, with the
    /// world's settings) and its operator, with its file in `dir`.
    async fn chain_b(&self, dir: &Path) -> (Address, RunningOperator) {
        let root_chain = operator::deploy_child_chain(&self.main, &key(5), "chain b", settings())
            .await
            .unwrap();
        let running = operator::start(OperatorConfig {
            root_chain,
            key: key(5),
            ..self.operator_config(dir)
        })
        .await
        .unwrap();
        (root_chain, running)
    }

    async fn client(&self, operator: &RunningOperator) -> PlasmaClient {
        PlasmaClient::connect(
            &self.node.rpc_url(),
            &format!("http://{}", operator.rpc_addr),
        )
        .await
        .unwrap()
    }

    async fn watcher(&self, operator: &RunningOperator, who: usize) -> watcher::RunningWatcher {
        self.watcher_of(
            format!("http://{}", operator.rpc_addr),
            vec![operator.p2p_addr.clone()],
            who,
        )
        .await
    }

    /// Starts (or restarts, from its file in the world's folder) `who`'s watcher of the
    /// operator at `operator_rpc`, dialling `peers` for block gossip.
    async fn watcher_of(
        &self,
        operator_rpc: String,
        peers: Vec<libp2p::Multiaddr>,
        who: usize,
    ) -> watcher::RunningWatcher {
        watcher::start(WatcherConfig {
            main_rpc: self.node.rpc_url(),
            operator_rpc,
            key: key(who),
            p2p_listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            p2p_peers: peers,
            withhold_timeout: Duration::from_secs(3),
            confirmations: 1,
            data_dir: self.dir.path().join(format!("watcher-{who}")),
        })
        .await
        .unwrap()
    }

    /// Finalizes until `who` is owed `expected`, then withdraws it; returns what came out.
    async fn collect(&self, client: &PlasmaClient, who: usize, expected: U256) -> U256 {
        for _ in 0..200 {
            if client.owed(address(who)).await.unwrap() >= expected {
                return client.withdraw(&key(who)).await.unwrap();
            }
            let _ = client.finalize(&key(CAROL)).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        panic!("{} was never owed {expected}", address(who));
    }
}

/// Alice exits `deposit`, which she has spent; Bob's watcher must challenge the exit and win
/// its bond.
async fn alice_exit_is_challenged(
    client: &PlasmaClient,
    bob_watch: &watcher::RunningWatcher,
    deposit: UtxoPos,
    deposit_proof: InclusionProof,
) {
    client
        .start_exit(
            &key(ALICE),
            deposit,
            deposit_proof.transaction,
            deposit_proof.proof,
            Bytes::new(),
        )
        .await
        .unwrap();
    wait_for("the watcher's challenge", async || {
        said(bob_watch, "challenged")
    })
    .await;
    // Half the bond: the other half stays in the contract (audit L-2).
    assert_eq!(client.owed(address(BOB)).await.unwrap(), ankr(BOND / 2));
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until `watcher` has withdrawn at least `expected` for its user in a mass exit;
/// returns what it withdrew.
async fn watcher_paid(watcher: &watcher::RunningWatcher, expected: U256) -> U256 {
    for _ in 0..300 {
        let withdrawn = *watcher.withdrawn.lock().unwrap();
        if withdrawn >= expected {
            return withdrawn;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("the watcher never withdrew {expected}");
}

fn said(watcher: &watcher::RunningWatcher, words: &str) -> bool {
    watcher
        .actions
        .lock()
        .unwrap()
        .iter()
        .any(|a| a.contains(words))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_runs_a_child_chain_and_a_watcher_challenges_a_double_exit() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let bob_watch = world.watcher(&operator, BOB).await;
    let timeout = Duration::from_secs(20);

    let deposit = client
        .deposit(&key(ALICE), ankr(5 * ANKR), timeout)
        .await
        .unwrap();
    assert_eq!(
        client.balance(address(ALICE)).await.unwrap(),
        ankr(5 * ANKR)
    );
    let (blknum, txindex) = client
        .send(
            &key(ALICE),
            address(BOB),
            ankr(2 * ANKR),
            U256::ZERO,
            timeout,
        )
        .await
        .unwrap();
    assert_eq!(blknum, 1000);
    assert_eq!(
        client.balance(address(ALICE)).await.unwrap(),
        ankr(3 * ANKR)
    );
    wait_for(
        "Bob's watcher to hold the confirm signatures of 1000:0",
        async || said(&bob_watch, "of 1 transactions of block 1000"),
    )
    .await;
    assert_eq!(client.balance(address(BOB)).await.unwrap(), ankr(2 * ANKR));
    assert!(
        client
            .confirmations(blknum, txindex)
            .await
            .unwrap()
            .is_some()
    );
    // The root is on chain and the main chain's header commits to the boundary.
    wait_for("block 1000 on the root chain", async || {
        world
            .main
            .read(world.root_chain, RootChain::currentChildBlockCall {})
            .await
            .unwrap()
            == U256::from(2000)
    })
    .await;

    // The operator restarts from its redb file and goes on.
    let addresses = Some((operator.rpc_addr, operator.p2p_addr.clone()));
    operator.stop().await;
    let operator = world.operator(operator_dir.path(), addresses).await;
    let client = world.client(&operator).await;
    assert_eq!(client.balance(address(BOB)).await.unwrap(), ankr(2 * ANKR));
    let (blknum, _) = client
        .send(
            &key(BOB),
            address(CAROL),
            ankr(ANKR / 2),
            U256::ZERO,
            timeout,
        )
        .await
        .unwrap();
    assert_eq!(blknum, 2000);
    let boundary = world.main.client().child_chains(None).await.unwrap();
    assert_eq!(boundary.chains[0].root_chain, world.root_chain);

    // Bob's watcher restarts from its file while the operator does not answer it (an address
    // nothing listens on, no gossip peer): it goes on from where it stood, without checking
    // block 1000 again, and still holds Alice's confirm signature.
    wait_for("Bob's watcher to check block 2000", async || {
        said(&bob_watch, "block 2000 checks out")
    })
    .await;
    bob_watch.stop().await;
    let unreachable = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let bob_watch = world
        .watcher_of(format!("http://{unreachable}"), Vec::new(), BOB)
        .await;
    assert_eq!(bob_watch.root_chain, world.root_chain);

    // Alice exits the deposit she spent; Bob's watcher challenges with her confirm signature.
    let deposit_proof = client.proof(deposit.blknum, 0).await.unwrap();
    alice_exit_is_challenged(&client, &bob_watch, deposit, deposit_proof).await;
    assert_eq!(*bob_watch.verdict.lock().unwrap(), Verdict::Sound);
    assert!(
        !said(&bob_watch, "checks out"),
        "the restarted watcher replayed blocks it had checked"
    );

    // Bob exits his change; the operator stops taking spends of it.
    let bob_utxo = client.utxos(address(BOB)).await.unwrap()[0].clone();
    assert_eq!(bob_utxo.denom, ankr(3 * ANKR / 2));
    client.exit(&key(BOB), bob_utxo.pos()).await.unwrap();
    wait_for("the operator to lock the exiting output", async || {
        client.balance(address(BOB)).await.unwrap().is_zero()
    })
    .await;
    let refused = client
        .send(&key(BOB), address(CAROL), ankr(1), U256::ZERO, timeout)
        .await;
    assert!(refused.is_err());
    let paid = world
        .collect(&client, BOB, ankr(3 * ANKR / 2 + BOND + BOND / 2))
        .await;
    assert_eq!(
        paid,
        ankr(3 * ANKR / 2 + BOND + BOND / 2),
        "the exit, its bond and half Alice's bond"
    );

    bob_watch.stop().await;
    operator.stop().await;
    world.node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watcher_challenges_anyones_double_exit_after_the_operator_is_gone() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let bob_watch = world.watcher(&operator, BOB).await;
    let timeout = Duration::from_secs(20);

    // Alice pays Carol, who runs no watcher; Bob's keeps block 1000's confirm signatures.
    let deposit = client
        .deposit(&key(ALICE), ankr(5 * ANKR), timeout)
        .await
        .unwrap();
    let (blknum, _) = client
        .send(
            &key(ALICE),
            address(CAROL),
            ankr(2 * ANKR),
            U256::ZERO,
            timeout,
        )
        .await
        .unwrap();
    assert_eq!(blknum, 1000);
    wait_for(
        "Bob's watcher to hold block 1000's confirm signatures",
        async || {
            said(
                &bob_watch,
                "holds the confirm signatures of 1 of 1 transactions of block 1000",
            )
        },
    )
    .await;
    let deposit_proof = client.proof(deposit.blknum, 0).await.unwrap();
    operator.stop().await;

    // The operator is gone; Alice exits the deposit she spent paying Carol. Bob's watcher
    // challenges with Alice's confirm signature from its file.
    alice_exit_is_challenged(&client, &bob_watch, deposit, deposit_proof).await;
    bob_watch.stop().await;
    world.node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_block_over_json_rpcs_default_size_is_served_whole() {
    // 30,000 payments in one block, ~11.5 MB as JSON (jsonrpsee's default limit is 10 MB),
    // written into the operator's file as the events a running operator would have written.
    // (Their deposits are not on the root chain: this is about serving the block.)
    const PAYMENTS: usize = 30_000;
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let mut events = Vec::new();
    let mut deposits = Vec::new();
    let mut next = 1;
    while deposits.len() < PAYMENTS {
        if next % 1000 == 0 {
            events.push(block_event(ledger.seal_block()));
            next += 1;
        }
        ledger.deposit(next, address(ALICE), ankr(1)).unwrap();
        events.push(Event::Deposit {
            blknum: next,
            owner: address(ALICE),
            amount: ankr(1),
        });
        deposits.push(UtxoPos {
            blknum: next,
            txindex: 0,
            oindex: 0,
        });
        next += 1;
    }
    for deposit in deposits {
        ledger
            .add_transaction(payment(deposit, ALICE, BOB, ankr(1)))
            .unwrap();
    }
    let big = ledger.seal_block().clone();
    events.push(block_event(&big));
    {
        let store = ChildStore::open(&operator_dir.path().join("child-chain.redb")).unwrap();
        store.bind(world.root_chain).unwrap();
        store.append(&events, None).unwrap();
    }

    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let block = client
        .operator()
        .get_block(big.number)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(block.transactions.len(), PAYMENTS);
    assert!(serde_json::to_vec(&block).unwrap().len() > 10 << 20);
    assert_eq!(block.root, big.root);
    operator.stop().await;
    world.node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transaction_the_operator_took_survives_its_restart() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    // No block for an hour: the payment waits in the pool when the operator stops.
    let operator = world
        .operator_every(operator_dir.path(), None, Duration::from_secs(3600))
        .await;
    let client = world.client(&operator).await;
    let timeout = Duration::from_secs(20);
    let deposit = client
        .deposit(&key(ALICE), ankr(5 * ANKR), timeout)
        .await
        .unwrap();
    let tx = payment(deposit, ALICE, BOB, ankr(5 * ANKR));
    let hash = client
        .operator()
        .send_raw_transaction(tx.encode().into())
        .await
        .unwrap();
    assert_eq!(hash, tx.hash());
    let info = client.operator().chain_info().await.unwrap();
    assert_eq!(info.pooled, 1);

    let addresses = Some((operator.rpc_addr, operator.p2p_addr.clone()));
    operator.stop().await;
    let operator = world.operator(operator_dir.path(), addresses).await;
    let client = world.client(&operator).await;
    wait_for("the pooled payment in a block", async || {
        client
            .operator()
            .get_transaction_position(hash)
            .await
            .unwrap()
            == Some((1000, 0))
    })
    .await;
    assert_eq!(client.balance(address(BOB)).await.unwrap(), ankr(5 * ANKR));
    operator.stop().await;
    world.node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withheld_block_makes_the_watcher_exit_everything() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let timeout = Duration::from_secs(20);
    client
        .deposit(&key(BOB), ankr(4 * ANKR), timeout)
        .await
        .unwrap();
    client
        .send(&key(BOB), address(CAROL), ankr(ANKR), U256::ZERO, timeout)
        .await
        .unwrap();
    let bob_watch = world.watcher(&operator, BOB).await;
    wait_for("the watcher to check block 1000", async || {
        said(&bob_watch, "block 1000 checks out")
    })
    .await;

    // The operator submits a root for block 2000 and never publishes the block.
    let addresses = Some((operator.rpc_addr, operator.p2p_addr.clone()));
    operator.stop().await;
    Sender::new(world.main.clone(), key(OPERATOR))
        .transact(
            world.root_chain,
            &RootChain::submitBlockCall {
                root: B256::repeat_byte(0x77),
            },
            U256::ZERO,
            300_000,
        )
        .await
        .unwrap();
    let operator = world.operator(operator_dir.path(), addresses).await; // serves reads, lacks block 2000
    wait_for("the watcher to call the block withheld", async || {
        matches!(
            *bob_watch.verdict.lock().unwrap(),
            Verdict::Withheld { blknum: 2000 }
        )
    })
    .await;
    assert!(said(&bob_watch, "started the exit of 1000:0:1"));
    // The watcher settles Bob's exit once it matures and withdraws it.
    let paid = watcher_paid(&bob_watch, ankr(3 * ANKR + BOND)).await;
    assert_eq!(paid, ankr(3 * ANKR + BOND));

    bob_watch.stop().await;
    operator.stop().await;
    world.node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_block_is_proven_by_the_watcher_and_everyone_exits() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let timeout = Duration::from_secs(20);
    client
        .deposit(&key(BOB), ankr(4 * ANKR), timeout)
        .await
        .unwrap();
    let operator_deposit = client
        .deposit(&key(OPERATOR), ankr(1), timeout)
        .await
        .unwrap();
    let (blknum, _) = client
        .send(&key(BOB), address(ALICE), ankr(ANKR), U256::ZERO, timeout)
        .await
        .unwrap();
    let block_1000 = client.proof(blknum, 0).await.unwrap().root;
    let bob_watch = world.watcher(&operator, BOB).await;
    wait_for("the watcher to check block 1000", async || {
        said(&bob_watch, "block 1000 checks out")
    })
    .await;
    let addresses = Some((operator.rpc_addr, operator.p2p_addr.clone()));
    operator.stop().await;

    // The operator goes bad: block 2000 turns its 1 wei into 100 ANKR, gossiped and submitted.
    let theft = payment(operator_deposit, OPERATOR, OPERATOR, ankr(100 * ANKR));
    let _rogue = go_rogue(
        &world,
        &bob_watch,
        ChildBlock::new(2000, vec![theft], block_1000).unwrap(),
    )
    .await;
    wait_for("the watcher's fraud proof", async || {
        matches!(
            *bob_watch.verdict.lock().unwrap(),
            Verdict::Invalid {
                blknum: 2000,
                proven: true
            }
        )
    })
    .await;
    assert_eq!(
        world
            .main
            .read(world.root_chain, RootChain::rolledBackFromCall {})
            .await
            .unwrap(),
        U256::from(2000)
    );
    let operator = world.operator(operator_dir.path(), addresses).await;
    let client = world.client(&operator).await;
    // Bob's watcher withdraws half the operator's stake, his 3 ANKR change and his bond.
    let paid = watcher_paid(&bob_watch, ankr(ANKR + 3 * ANKR + BOND)).await;
    assert_eq!(paid, ankr(ANKR + 3 * ANKR + BOND));
    // Alice (no watcher) exits her own output with the client.
    let alice = client.utxos(address(ALICE)).await.unwrap()[0].pos();
    assert_eq!(
        alice,
        UtxoPos {
            blknum: 1000,
            txindex: 0,
            oindex: 0
        }
    );
    client.exit(&key(ALICE), alice).await.unwrap();
    assert_eq!(
        world.collect(&client, ALICE, ankr(ANKR + BOND)).await,
        ankr(ANKR + BOND)
    );

    bob_watch.stop().await;
    operator.stop().await;
    world.node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ankr_moves_between_child_chains_through_the_main_chain() {
    let world = World::start().await;
    let dir_a = tempfile::tempdir().unwrap();
    let operator_a = world.operator(dir_a.path(), None).await;
    // Chain B: its own RootChain and operator key.
    let dir_b = tempfile::tempdir().unwrap();
    let (root_chain_b, operator_b) = world.chain_b(dir_b.path()).await;
    let a = world.client(&operator_a).await;
    let b = world.client(&operator_b).await;
    assert_eq!(b.root_chain, root_chain_b);
    let timeout = Duration::from_secs(60);
    a.deposit(&key(ALICE), ankr(3 * ANKR), timeout)
        .await
        .unwrap();

    use ankr_plasma_services::client::MoveProgress;
    let steps = std::sync::Mutex::new(Vec::new());
    let waits = std::sync::Mutex::new(Vec::new());
    let landed = ankr_plasma_services::client::move_between(
        &a,
        &b,
        &key(ALICE),
        ankr(2 * ANKR),
        timeout,
        |progress| match progress {
            MoveProgress::Step(step) => steps.lock().unwrap().push(step.to_string()),
            MoveProgress::Maturing {
                now,
                since,
                matures_at,
            } => waits.lock().unwrap().push((now, since, matures_at)),
        },
    )
    .await
    .unwrap();
    let steps = steps.into_inner().unwrap();
    assert_eq!(steps.len(), 4, "{steps:?}");
    // The wait for maturity is reported as it goes: time moves towards the exit's maturity.
    let waits = waits.into_inner().unwrap();
    assert!(!waits.is_empty());
    assert!(
        waits
            .windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].2 == w[1].2),
        "{waits:?}"
    );
    assert!(
        waits.last().unwrap().0 >= waits.last().unwrap().2,
        "{waits:?}"
    );
    assert!(steps[2].contains("withdrew"), "{steps:?}");
    assert_eq!(a.balance(address(ALICE)).await.unwrap(), ankr(ANKR));
    assert_eq!(b.balance(address(ALICE)).await.unwrap(), ankr(2 * ANKR));
    assert_eq!(b.utxos(address(ALICE)).await.unwrap()[0].pos(), landed);
    // Both chains are in the registry, and main-chain headers commit to both boundaries.
    wait_for("both boundaries in a header", async || {
        let chains = world.main.client().child_chains(None).await.unwrap();
        chains.chains.len() == 2 && chains.chains[0].blknum == 1000
    })
    .await;

    operator_a.stop().await;
    operator_b.stop().await;
    world.node.stop().await;
}

/// A payment of `denom` from output `from` (signed by `signer`) to `to`.
/// The domain of the World's RootChain: the operator's first deployment on the devnet.
fn domain() -> TxDomain {
    TxDomain::new(devnet::DEVNET_CHAIN_ID, address(OPERATOR).create(0))
}

fn payment(from: UtxoPos, signer: usize, to: usize, denom: U256) -> PlasmaTx {
    let to = Output {
        owner: address(to),
        denom,
    };
    let mut tx = PlasmaTx::spending(&[from], &[to], U256::ZERO);
    tx.sign_input(0, &key(signer), domain());
    tx
}

/// The operator gone bad: gossips `block` to the watcher (which keeps it until its root
/// appears), then submits its root. Meanwhile a stranger gossips blocks of its own on the
/// chain's topic — an empty block of that number and blocks far ahead — which the watcher
/// must drop. Returns the gossip nodes' stop switch (keep it alive).
async fn go_rogue(
    world: &World,
    watcher: &watcher::RunningWatcher,
    block: ChildBlock,
) -> tokio::sync::watch::Sender<bool> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let gossip_node = async || {
        gossip::start(
            world.root_chain,
            address(OPERATOR),
            "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            vec![watcher.p2p_addr.clone()],
            stopped.clone(),
        )
        .await
        .unwrap()
    };
    let (rogue, stranger) = (gossip_node().await, gossip_node().await);
    let signed = gossip::SignedBlock::of_block(world.root_chain, &block, &key(OPERATOR));
    let forged = |number: u64| {
        let empty = ChildBlock::new(number, Vec::new(), B256::ZERO).unwrap();
        gossip::SignedBlock::of_block(world.root_chain, &empty, &key(CAROL))
    };
    let forgeries: Vec<_> = (0..150u64)
        .map(|i| forged(block.number + i * 1_000_000))
        .collect();
    tokio::spawn(async move {
        for forged in forgeries {
            if stranger.publish.send(forged).is_err() || rogue.publish.send(signed.clone()).is_err()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    Sender::new(world.main.clone(), key(OPERATOR))
        .transact(
            world.root_chain,
            &RootChain::submitBlockCall { root: block.root },
            U256::ZERO,
            300_000,
        )
        .await
        .unwrap();
    stop
}

/// Block 2000 holds `bad` (made from Bob's change 1000:0:1 and the operator's deposit, spent in
/// block 1000): the watcher must prove it with `kind` and get Bob half the stake and his change.
async fn watcher_proves(kind: &str, bad: impl FnOnce(UtxoPos, UtxoPos) -> Vec<PlasmaTx>) {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let timeout = Duration::from_secs(20);
    client
        .deposit(&key(BOB), ankr(4 * ANKR), timeout)
        .await
        .unwrap();
    let operator_deposit = client
        .deposit(&key(OPERATOR), ankr(ANKR), timeout)
        .await
        .unwrap();
    let (blknum, txindex) = client
        .send(&key(BOB), address(ALICE), ankr(ANKR), U256::ZERO, timeout)
        .await
        .unwrap();
    let (last, _) = client
        .send(
            &key(OPERATOR),
            address(CAROL),
            ankr(ANKR),
            U256::ZERO,
            timeout,
        )
        .await
        .unwrap();
    let bob_watch = world.watcher(&operator, BOB).await;
    let checked = format!("block {last} checks out");
    wait_for("the watcher to check the operator's blocks", async || {
        said(&bob_watch, &checked)
    })
    .await;
    let previous = client.proof(last, 0).await.unwrap().root;
    let bob_change = UtxoPos {
        blknum,
        txindex,
        oindex: 1,
    };
    let block = ChildBlock::new(last + 1000, bad(bob_change, operator_deposit), previous).unwrap();
    let addresses = Some((operator.rpc_addr, operator.p2p_addr.clone()));
    operator.stop().await;
    let _rogue = go_rogue(&world, &bob_watch, block).await;
    wait_for("the watcher's fraud proof", async || {
        matches!(
            *bob_watch.verdict.lock().unwrap(),
            Verdict::Invalid { proven: true, .. }
        )
    })
    .await;
    assert!(said(&bob_watch, kind), "{kind}");
    assert!(
        bob_watch
            .gossip_rejected
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "the stranger's blocks were taken"
    );
    let operator = world.operator(operator_dir.path(), addresses).await;
    let paid = watcher_paid(&bob_watch, ankr(ANKR + 3 * ANKR + BOND)).await;
    assert_eq!(
        paid,
        ankr(ANKR + 3 * ANKR + BOND),
        "half the stake, Bob's change and his bond"
    );
    bob_watch.stop().await;
    operator.stop().await;
    world.node.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watcher_proves_a_forged_signature() {
    // The operator spends Bob's change to itself with its own key.
    watcher_proves("a signature not by the input's owner", |bob_change, _| {
        vec![payment(bob_change, OPERATOR, OPERATOR, ankr(3 * ANKR))]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_watcher_proves_a_double_spend() {
    // The operator spends its deposit again (it paid Carol with it in block 1000).
    watcher_proves("an output spent twice", |_, operator_deposit| {
        vec![payment(operator_deposit, OPERATOR, OPERATOR, ankr(ANKR))]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn attack_h1_the_watcher_proves_a_mint_from_a_leaf_that_cannot_exist() {
    // Audit H-1: the operator mints 3 ANKR for itself behind an input naming leaf 70,000 of a
    // live block (the tree holds 65,536). That input is worth nothing, so the overspend proof
    // convicts; it used to revert, leaving the operator's stake and the minted exit intact.
    watcher_proves("outputs and fee above its inputs", |bob_change, _| {
        let impossible = UtxoPos {
            blknum: bob_change.blknum,
            txindex: 70_000,
            oindex: 0,
        };
        vec![payment(impossible, OPERATOR, OPERATOR, ankr(3 * ANKR))]
    })
    .await;
}

/// Audit C-1: Alice pays her second key (Bob) and never confirms; had the operator let Bob
/// spend that output, Alice could exit her deposit unchallenged (no confirmation exists) while
/// Bob exited the spend: twice the deposit out. The operator refuses Bob's spend until Alice's
/// confirm signatures are posted, so the only exit left is Alice's own.
#[tokio::test(flavor = "multi_thread")]
async fn attack_c1_an_unconfirmed_payment_cannot_be_spent_so_nothing_is_paid_twice() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let timeout = Duration::from_secs(20);
    let deposit = client
        .deposit(&key(ALICE), ankr(10 * ANKR), timeout)
        .await
        .unwrap();

    // T1: Alice → Bob, sent raw, included, never confirmed.
    let t1 = payment(deposit, ALICE, BOB, ankr(10 * ANKR));
    client
        .operator()
        .send_raw_transaction(t1.encode().into())
        .await
        .unwrap();
    let mut position = None;
    wait_for("T1 in a child block", async || {
        position = client
            .operator()
            .get_transaction_position(t1.hash())
            .await
            .ok()
            .flatten();
        position.is_some()
    })
    .await;
    let (blknum, txindex) = position.unwrap();
    let t1_output = UtxoPos {
        blknum,
        txindex,
        oindex: 0,
    };

    // T2: Bob spends T1's output; refused while T1 is unconfirmed.
    let t2 = payment(t1_output, BOB, CAROL, ankr(10 * ANKR));
    let refusal = client
        .operator()
        .send_raw_transaction(t2.encode().into())
        .await
        .unwrap_err()
        .to_string();
    assert!(refusal.contains("have not confirmed"), "{refusal}");

    // The honest path still works: once Alice confirms T1 (after its root is on the root
    // chain), Bob's spend is taken.
    let proof = client.proof(blknum, txindex).await.unwrap();
    wait_for("T1's block on the root chain", async || {
        world
            .main
            .read(world.root_chain, RootChain::blocksCall(U256::from(blknum)))
            .await
            .unwrap()
            .root
            == proof.root
    })
    .await;
    let signature = ankr_plasma::transaction::confirm(&key(ALICE), t1.hash(), proof.root);
    client
        .operator()
        .confirm(blknum, txindex, signature.to_vec().into())
        .await
        .unwrap();
    client
        .operator()
        .send_raw_transaction(t2.encode().into())
        .await
        .unwrap();
    operator.stop().await;
}

/// Audit M-1: after a shortfall (an operator's mint nobody proved), exits are paid in
/// priority order from what the contract holds. Alice's exit (block 1000) comes before the
/// operator's minted one (block 2000); the operator withdrawing first used to take Alice's
/// funds and leave her a "transfer failed". Now the mint is credited only what is left.
#[tokio::test(flavor = "multi_thread")]
async fn attack_m1_after_a_shortfall_exits_are_paid_in_priority_order() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let timeout = Duration::from_secs(20);
    client
        .deposit(&key(ALICE), ankr(5 * ANKR), timeout)
        .await
        .unwrap();
    let (blknum, txindex) = client
        .send(
            &key(ALICE),
            address(ALICE),
            ankr(5 * ANKR),
            U256::ZERO,
            timeout,
        )
        .await
        .unwrap();
    let alice_output = UtxoPos {
        blknum,
        txindex,
        oindex: 0,
    };
    client.exit(&key(ALICE), alice_output).await.unwrap();
    let previous = client.proof(blknum, txindex).await.unwrap().root;
    operator.stop().await;

    // The operator gone bad: block 2000 mints 6 ANKR to itself (at txindex 1), unproven.
    let minted = |to: usize, denom: u128| {
        let impossible = UtxoPos {
            blknum,
            txindex: 70_000,
            oindex: 0,
        };
        payment(impossible, OPERATOR, to, ankr(denom))
    };
    let mint = minted(OPERATOR, 6 * ANKR);
    let block = ChildBlock::new(blknum + 1000, vec![minted(CAROL, ANKR), mint], previous).unwrap();
    Sender::new(world.main.clone(), key(OPERATOR))
        .transact(
            world.root_chain,
            &RootChain::submitBlockCall { root: block.root },
            U256::ZERO,
            300_000,
        )
        .await
        .unwrap();
    let confirm = ankr_plasma::transaction::confirm(&key(OPERATOR), mint.hash(), block.root);
    let minted_output = UtxoPos {
        blknum: block.number,
        txindex: 1,
        oindex: 0,
    };
    client
        .start_exit(
            &key(OPERATOR),
            minted_output,
            mint.encode().into(),
            block.proof(1).into(),
            Bytes::from(confirm.to_vec()),
        )
        .await
        .unwrap();

    // Both exits mature and are settled in priority order.
    wait_for("both exits settled", async || {
        let _ = client.finalize(&key(CAROL)).await;
        world
            .main
            .read(world.root_chain, RootChain::exitQueueLengthCall {})
            .await
            .unwrap()
            == U256::ZERO
    })
    .await;
    // The operator withdraws first: its bond, not Alice's funds.
    let taken = client.withdraw(&key(OPERATOR)).await.unwrap();
    assert_eq!(
        taken,
        ankr(BOND),
        "the mint is paid nothing beyond its bond"
    );
    let paid = client.withdraw(&key(ALICE)).await.unwrap();
    assert_eq!(paid, ankr(5 * ANKR + BOND), "Alice is paid in full");
    world.node.stop().await;
}

/// Audit L-5: once the watcher had flagged a withheld block and exited its user's outputs, it
/// stopped following the RootChain. During the mass exit that followed, an exit of an output
/// it had seen spent went unchallenged (a double exit), and it neither settled nor withdrew
/// its user's exit. Now it keeps following: it challenges Carol's exit of her spent deposit,
/// settles Bob's matured exit and withdraws all Bob is owed.
#[tokio::test(flavor = "multi_thread")]
async fn attack_l5_after_a_withheld_block_the_watcher_still_challenges_and_settles() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let timeout = Duration::from_secs(20);
    let bob_watch = world.watcher(&operator, BOB).await;
    client
        .deposit(&key(BOB), ankr(4 * ANKR), timeout)
        .await
        .unwrap();
    let carol_deposit = client
        .deposit(&key(CAROL), ankr(2 * ANKR), timeout)
        .await
        .unwrap();
    // Carol pays Alice her whole deposit; Bob pays Carol 1.
    let (spent_in, _) = client
        .send(
            &key(CAROL),
            address(ALICE),
            ankr(2 * ANKR),
            U256::ZERO,
            timeout,
        )
        .await
        .unwrap();
    client
        .send(&key(BOB), address(CAROL), ankr(ANKR), U256::ZERO, timeout)
        .await
        .unwrap();
    let bob_block = client.utxos(address(BOB)).await.unwrap()[0].pos().blknum;
    let n = if spent_in == bob_block { 2 } else { 1 };
    wait_for("the watcher to hold every confirm signature", async || {
        said(
            &bob_watch,
            &format!("{n} of {n} transactions of block {bob_block}"),
        ) && said(
            &bob_watch,
            &format!("{n} of {n} transactions of block {spent_in}"),
        )
    })
    .await;

    // The operator submits a root and never publishes its block.
    let addresses = Some((operator.rpc_addr, operator.p2p_addr.clone()));
    operator.stop().await;
    let withheld = world
        .main
        .read(world.root_chain, RootChain::currentChildBlockCall {})
        .await
        .unwrap()
        .to::<u64>();
    Sender::new(world.main.clone(), key(OPERATOR))
        .transact(
            world.root_chain,
            &RootChain::submitBlockCall {
                root: B256::repeat_byte(0x78),
            },
            U256::ZERO,
            300_000,
        )
        .await
        .unwrap();
    let operator = world.operator(operator_dir.path(), addresses).await;
    wait_for("the watcher to call the block withheld", async || {
        *bob_watch.verdict.lock().unwrap() == Verdict::Withheld { blknum: withheld }
    })
    .await;

    // During the mass exit Carol exits the deposit she spent.
    let client = world.client(&operator).await;
    let deposit_proof = client.proof(carol_deposit.blknum, 0).await.unwrap();
    client
        .start_exit(
            &key(CAROL),
            carol_deposit,
            deposit_proof.transaction,
            deposit_proof.proof,
            Bytes::new(),
        )
        .await
        .unwrap();
    wait_for("the watcher's challenge", async || {
        said(&bob_watch, &format!("exit of {carol_deposit}")) && said(&bob_watch, "challenged")
    })
    .await;
    assert!(
        client.exitable_at(carol_deposit).await.unwrap().is_none(),
        "Carol's exit is gone"
    );
    // Bob's 3 ANKR change, his bond back and half of Carol's bond, settled and withdrawn by
    // the watcher alone.
    let expected = ankr(3 * ANKR + BOND + BOND / 2);
    assert_eq!(watcher_paid(&bob_watch, expected).await, expected);
    assert!(said(&bob_watch, "settled"));

    bob_watch.stop().await;
    operator.stop().await;
    world.node.stop().await;
}

/// Audit item 15: the RootChain takes at most 999 deposits between two child blocks, and an
/// operator made blocks only when transactions waited, so on a quiet chain anyone could fill
/// the slots with 1-wei deposits and stop everyone's deposits. The operator now makes a block
/// (empty if need be) once the deposits reach `early_block_deposits`, which frees the slots.
#[tokio::test(flavor = "multi_thread")]
async fn attack_15_tiny_deposits_cannot_fill_the_deposit_slots() {
    let world = World::start().await;
    let dir = tempfile::tempdir().unwrap();
    let operator = operator::start(OperatorConfig {
        early_block_deposits: 3,
        ..world.operator_config(dir.path())
    })
    .await
    .unwrap();
    let next_child_block = async || -> u64 {
        world
            .main
            .read(world.root_chain, RootChain::currentChildBlockCall {})
            .await
            .unwrap()
            .to()
    };
    assert_eq!(next_child_block().await, 1000);
    for _ in 0..4 {
        Sender::new(world.main.clone(), key(CAROL))
            .transact(
                world.root_chain,
                &RootChain::depositCall {},
                U256::from(1),
                300_000,
            )
            .await
            .unwrap();
    }
    wait_for(
        "the operator to make a block and free the slots",
        async || next_child_block().await > 1000,
    )
    .await;
    let slots_used: u64 = world
        .main
        .read(world.root_chain, RootChain::currentDepositBlockCall {})
        .await
        .unwrap()
        .to();
    assert!(
        slots_used <= 2,
        "the deposit count starts again ({slots_used})"
    );
    operator.stop().await;
    world.node.stop().await;
}

/// Audit item 15: an operator credits a deposit `confirmations` blocks deep; a main-chain
/// reorganisation deeper than that removes it, and the operator's next block, spending it,
/// was provably invalid (the operator's stake lost, the chain rolled back). The operator
/// now checks every deposit its pool spends against the root chain before it makes a block.
/// The state after such a reorganisation is made directly: the operator's file holds a
/// deposit the RootChain never had.
#[tokio::test(flavor = "multi_thread")]
async fn attack_15_a_deposit_undone_by_a_deep_reorganisation_is_never_spent() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let timeout = Duration::from_secs(20);
    client
        .deposit(&key(CAROL), ankr(2 * ANKR), timeout)
        .await
        .unwrap();
    let carol_watch = world.watcher(&operator, CAROL).await;
    let addresses = Some((operator.rpc_addr, operator.p2p_addr.clone()));
    operator.stop().await;
    // The operator's file gets Bob's deposit 2 of 5 ANKR, which the main chain lost.
    {
        let store = ChildStore::open(&operator_dir.path().join("child-chain.redb")).unwrap();
        let event = Event::Deposit {
            blknum: 2,
            owner: address(BOB),
            amount: ankr(5 * ANKR),
        };
        store.append(&[event], None).unwrap();
    }
    let operator = world.operator(operator_dir.path(), addresses).await;
    let client = world.client(&operator).await;
    assert_eq!(client.balance(address(BOB)).await.unwrap(), ankr(5 * ANKR));
    // Bob spends it; Carol pays Alice. Only Carol's payment makes it into a block.
    let bob_spend = client
        .send(
            &key(BOB),
            address(6),
            ankr(5 * ANKR),
            U256::ZERO,
            Duration::from_secs(5),
        )
        .await;
    assert!(
        bob_spend.is_err(),
        "the lost deposit was spent: {bob_spend:?}"
    );
    let (blknum, _) = client
        .send(&key(CAROL), address(ALICE), ankr(ANKR), U256::ZERO, timeout)
        .await
        .unwrap();
    wait_for("Carol's watcher to check the block", async || {
        said(&carol_watch, &format!("block {blknum} checks out"))
    })
    .await;
    assert_eq!(*carol_watch.verdict.lock().unwrap(), Verdict::Sound);
    assert_eq!(client.balance(address(6)).await.unwrap(), U256::ZERO);
    assert_eq!(
        world
            .main
            .read(world.root_chain, RootChain::rolledBackFromCall {})
            .await
            .unwrap(),
        U256::ZERO
    );
    carol_watch.stop().await;
    operator.stop().await;
    world.node.stop().await;
}

/// Audit L-3: a child transaction's signature named no chain, so a payment signed on one
/// child chain could be replayed on another where the same position holds the same amount
/// for the same owner. Signatures now cover the main chain's id and the RootChain's address:
/// chain B's operator refuses chain A's payment.
#[tokio::test(flavor = "multi_thread")]
async fn attack_l3_a_payment_signed_on_one_child_chain_does_not_replay_on_another() {
    let world = World::start().await;
    let dir_a = tempfile::tempdir().unwrap();
    let operator_a = world.operator(dir_a.path(), None).await;
    let dir_b = tempfile::tempdir().unwrap();
    let (_, operator_b) = world.chain_b(dir_b.path()).await;
    let a = world.client(&operator_a).await;
    let b = world.client(&operator_b).await;
    let timeout = Duration::from_secs(20);
    // Alice's first deposit on each chain: the same position, the same amount.
    let on_a = a.deposit(&key(ALICE), ankr(ANKR), timeout).await.unwrap();
    let on_b = b.deposit(&key(ALICE), ankr(ANKR), timeout).await.unwrap();
    assert_eq!(on_a, on_b);
    // Alice pays Bob on chain A; the signed transaction is public (gossip, blocks).
    let mut pay_bob = PlasmaTx::spending(
        &[on_a],
        &[Output {
            owner: address(BOB),
            denom: ankr(ANKR),
        }],
        U256::ZERO,
    );
    pay_bob.sign_input(0, &key(ALICE), a.domain());
    let raw = Bytes::from(pay_bob.encode());
    a.operator()
        .send_raw_transaction(raw.clone())
        .await
        .unwrap();
    // Bob replays it on chain B.
    let replay = b.operator().send_raw_transaction(raw).await;
    let error = replay
        .expect_err("chain B took chain A's payment")
        .to_string();
    assert!(error.contains("not signed by the owner"), "{error}");
    assert_eq!(b.balance(address(ALICE)).await.unwrap(), ankr(ANKR));
    assert_eq!(b.balance(address(BOB)).await.unwrap(), U256::ZERO);
    wait_for("Bob paid on chain A", async || {
        a.balance(address(BOB)).await.unwrap() == ankr(ANKR)
    })
    .await;
    operator_a.stop().await;
    operator_b.stop().await;
    world.node.stop().await;
}

/// Audit L-4: the `fee` a child transaction pays was collected nowhere: it stayed in the
/// RootChain for good. Each transaction's fee is now an output of its own, (block, txindex, 2),
/// owned by the operator: the operator spends it on the child chain like any output, and
/// exits what it gathered.
#[tokio::test(flavor = "multi_thread")]
async fn attack_l4_the_operator_collects_the_fees_users_pay() {
    let world = World::start().await;
    let operator_dir = tempfile::tempdir().unwrap();
    let operator = world.operator(operator_dir.path(), None).await;
    let client = world.client(&operator).await;
    let timeout = Duration::from_secs(20);
    client
        .deposit(&key(ALICE), ankr(5 * ANKR), timeout)
        .await
        .unwrap();
    let fee = ankr(ANKR / 10);
    client
        .send(&key(ALICE), address(BOB), ankr(2 * ANKR), fee, timeout)
        .await
        .unwrap();
    client
        .send(&key(ALICE), address(CAROL), ankr(ANKR), fee, timeout)
        .await
        .unwrap();
    // Two fee outputs, the operator's.
    let fees = client.utxos(address(OPERATOR)).await.unwrap();
    assert_eq!(fees.len(), 2, "{fees:?}");
    assert!(fees.iter().all(|u| u.oindex == 2 && u.denom == fee));
    assert_eq!(client.balance(address(OPERATOR)).await.unwrap(), fee + fee);
    // The operator gathers them into one output of its own, paying no fee itself.
    let (blknum, txindex) = client
        .send(
            &key(OPERATOR),
            address(OPERATOR),
            fee + fee,
            U256::ZERO,
            timeout,
        )
        .await
        .unwrap();
    let gathered = UtxoPos {
        blknum,
        txindex,
        oindex: 0,
    };
    assert_eq!(
        client
            .utxos(address(OPERATOR))
            .await
            .unwrap()
            .iter()
            .map(|u| u.pos())
            .collect::<Vec<_>>(),
        vec![gathered]
    );
    // And takes it to the main chain.
    client.exit(&key(OPERATOR), gathered).await.unwrap();
    let paid = world
        .collect(&client, OPERATOR, fee + fee + ankr(BOND))
        .await;
    assert_eq!(paid, fee + fee + ankr(BOND));
    operator.stop().await;
    world.node.stop().await;
}
