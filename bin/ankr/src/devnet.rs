//! `ankr devnet`: the project's main job, what a newcomer runs first.
//!
//! The chain is sealed by Proof of Useful Work and nothing else: the devnet starts the
//! SIMULATED attestation service as its own process (`ankr attest`, which alone holds the root
//! key), opens one simulated enclave per node, registers them in genesis, and runs the nodes
//! as one libp2p network on loopback, each mining. Beside them run the Native Oracle (a local
//! HTTPS source, a relay, an example consumer), two Plasma child chains with their
//! operators and three EVM child chains (one per application profile) with theirs.

use ankr_client::attest::AttestationClient;
use ankr_enclave::{Limits, SimulatedEnclave};
use ankr_node::miner::MinerConfig;
use ankr_node::{DevSealing, Node, NodeConfig, devnet};
use std::io::BufRead;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct DevnetArgs {
    /// Data folder; the same folder resumes the same chain. Default: a fresh temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// JSON-RPC port on 127.0.0.1.
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// Target seconds between blocks (whole seconds: timestamps count seconds).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
    block_time: u64,
    /// Mining nodes, each with its own simulated enclave; node i serves JSON-RPC on
    /// `--port` + i and libp2p on `--p2p-port` + i, all on 127.0.0.1.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=8))]
    nodes: u32,
    /// First libp2p port; 0 lets each node pick a free one.
    #[arg(long, default_value_t = 30303)]
    p2p_port: u16,
    /// A root certificate (PEM) the oracle enclave trusts besides the system's and the devnet
    /// feeds' own CA, so that your local HTTPS source works (repeatable).
    #[arg(long = "oracle-ca")]
    oracle_cas: Vec<PathBuf>,
    /// The first child chain's operator serves `plasma_*` JSON-RPC on this port of 127.0.0.1,
    /// the second on the next (0: any free ports).
    #[arg(long, default_value_t = 9545)]
    plasma_port: u16,
    /// The EVM child chains (real-estate, e-commerce, prediction-market) serve JSON-RPC on
    /// this port of 127.0.0.1 and the next two (0: any free ports).
    #[arg(long, default_value_t = 8645)]
    child_port: u16,
    /// Do not start the EVM child chains (they cost CPU: a prediction-market chain makes four
    /// blocks a second).
    #[arg(long)]
    no_child_chains: bool,
    /// Share of one core the devnet's miners together give to built-in useful work, in
    /// (0, 1]: the genesis difficulty is scaled to it so blocks still come every
    /// `--block-time`. Providers' market tasks always run flat out. 1 gives the miners one
    /// whole core between them.
    #[arg(long, default_value_t = DEFAULT_MINING_DUTY, value_parser = crate::duty)]
    mining_duty: f64,
    /// Print every log line here; by default they go to `devnet.log` in the data folder and
    /// the terminal shows one line per block and per child-chain, oracle and market event.
    #[arg(short, long)]
    verbose: bool,
    #[command(flatten)]
    pool: crate::pool::PoolArgs,
}

/// The devnet's miners together keep a twentieth of a core busy with built-in work: enough
/// for a block a second (a subtask is ~10 ms), little enough that an idle devnet idles.
const DEFAULT_MINING_DUTY: f64 = 0.05;

/// Built-in work's instructions per second on one core of a slow machine (the three
/// workloads in turn average ~4·10^9 here, `ankr bench --only pouw`; shared cores do less).
const BUILTIN_INSTRUCTIONS_PER_CORE_SECOND: u64 = 2_000_000_000;

/// Node `i`'s libp2p port.
fn p2p_port(first: u16, i: u32) -> u16 {
    if first == 0 { 0 } else { first + i as u16 }
}

/// The miner of a node: its simulated enclave (sealed in `enclave_dir`), the attestation
/// service, the account that pays registrations and the beneficiary of its blocks.
pub fn miner_config(
    enclave_dir: &Path,
    attestation_url: &str,
    account: secp256k1::SecretKey,
    beneficiary: Option<alloy_primitives::Address>,
    builtin_duty: f64,
) -> anyhow::Result<MinerConfig> {
    let enclave = SimulatedEnclave::open(enclave_dir, Limits::default())?;
    Ok(MinerConfig {
        enclave: Arc::new(enclave),
        attestation: AttestationClient::new(attestation_url)?,
        beneficiary: beneficiary.unwrap_or_else(|| ankr_types::recovery::address_of(&account)),
        account,
        workloads: ankr_enclave::workloads::builtin(),
        builtin_duty,
        stats: Default::default(),
    })
}

/// The `ankr attest` child process; killed when dropped.
struct AttestProcess {
    child: Child,
    root: alloy_primitives::Address,
    url: String,
}

impl AttestProcess {
    fn start(dir: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(std::env::current_exe()?)
            .args([
                "attest",
                "--exit-with-stdin",
                "--listen",
                "127.0.0.1:0",
                "--dir",
            ])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut next = |prefix: &str| -> anyhow::Result<String> {
            let line = lines
                .next()
                .ok_or_else(|| anyhow::anyhow!("ankr attest exited before starting"))??;
            line.strip_prefix(prefix)
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("unexpected line from ankr attest: {line}"))
        };
        let root = next("root ")?.parse()?;
        let url = next("listening ")?;
        Ok(Self { child, root, url })
    }
}

impl Drop for AttestProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let pool = args.pool.limits()?;
    let temporary;
    let dir = match args.dir {
        Some(dir) => dir,
        None => {
            temporary = tempfile::Builder::new().prefix("ankr-devnet-").tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&dir)?;
    let log_file = dir.join("devnet.log");
    crate::init_devnet_logging(&log_file, args.verbose)?;
    println!(
        "  ankr devnet starting in {} (logs: {})",
        dir.display(),
        log_file.display()
    );
    let accounts = devnet::accounts();
    let attest = AttestProcess::start(&dir.join("attest"))?;
    let node_dir = |i: u32| dir.join(format!("node{i}"));
    let mut minings = Vec::new();
    // The simulated manufacturer provisions one platform per miner and one for the oracle
    // enclave; the attestation service certifies no other.
    crate::attest::provision(&dir.join("attest"), &dir.join("oracle").join("enclave"))?;
    for i in 0..args.nodes {
        crate::attest::provision(&dir.join("attest"), &node_dir(i).join("enclave"))?;
        let miner = devnet::miner_account(i);
        minings.push(miner_config(
            &node_dir(i).join("enclave"),
            &attest.url,
            miner.secret,
            Some(miner.address),
            args.mining_duty / f64::from(args.nodes),
        )?);
    }
    let mut spec = devnet::pouw_spec(
        attest.root,
        minings
            .iter()
            .map(|m| (m.enclave.address(), m.enclave.platform_id()))
            .collect(),
    );
    spec.target_block_time_ms = args.block_time * 1000;
    // The difficulty is the instructions a block takes: the miners' share of a core times the
    // block time. Started on the fast side; ASERT settles it within a minute or two.
    let per_block =
        BUILTIN_INSTRUCTIONS_PER_CORE_SECOND as f64 * args.mining_duty * args.block_time as f64;
    spec.genesis_difficulty =
        alloy_primitives::U256::from((per_block as u64).max(ankr_pouw::difficulty::MIN_DIFFICULTY));

    let mut nodes: Vec<Node> = Vec::new();
    let mut boot_peers = Vec::new();
    for (i, mining) in minings.iter().enumerate() {
        let i = i as u32;
        let node = Node::start(NodeConfig {
            operator: None,
            data_dir: node_dir(i),
            spec: spec.clone(),
            rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port + i as u16)),
            sealing: DevSealing::Off,
            beneficiary: mining.beneficiary,
            mining: Some(mining.clone()),
            network: Some(ankr_network::NetworkConfig {
                listen: format!("/ip4/127.0.0.1/tcp/{}", p2p_port(args.p2p_port, i)).parse()?,
                boot_peers: boot_peers.clone(),
                key_file: node_dir(i).join("network.key"),
                discovery: true,
            }),
            pool: pool.clone(),
        })
        .await?;
        if let Some(network) = &node.network {
            boot_peers.push(network.listen_addr.clone());
        }
        nodes.push(node);
    }

    let oracle = crate::oracle::DevnetOracle::start(
        &dir.join("oracle"),
        &nodes[0].rpc_url(),
        &attest.url,
        &args.oracle_cas,
    )
    .await?;

    // The child chains need a few blocks (deploy, register): they come up in the background.
    let plasma_dir = dir.clone();
    let plasma_rpc = nodes[0].rpc_url();
    let plasma_port = args.plasma_port;
    let plasma = tokio::spawn(async move {
        match crate::plasma::DevnetPlasma::start(&plasma_dir, &plasma_rpc, plasma_port).await {
            Ok(plasma) => Some(plasma),
            Err(error) => {
                println!("  plasma: the child chains could not start: {error:#}");
                None
            }
        }
    });

    let children_dir = dir.clone();
    let children_rpc = nodes[0].rpc_url();
    let child_port = args.child_port;
    let start_children = !args.no_child_chains;
    let children_pool = pool.clone();
    let children = tokio::spawn(async move {
        if !start_children {
            return None;
        }
        let starting = crate::child::DevnetChildren::start(
            &children_dir,
            &children_rpc,
            child_port,
            &children_pool,
        );
        match starting.await {
            Ok(children) => Some(children),
            Err(error) => {
                println!("  evm child chains could not start: {error:#}");
                None
            }
        }
    });

    let oracle_banner = format!(
        "  Native Oracle {} · relay with enclave {} (SIMULATED), metrics {} · example feeds {} and {} (CA {}) · PriceConsumer {}",
        ankr_contracts::genesis::NATIVE_ORACLE_ADDRESS,
        oracle.enclave,
        oracle.metrics_url,
        oracle.source.url("/ankr-usd.json"),
        oracle.source.url("/mls/listing-1001.xml"),
        oracle.source.ca_file.display(),
        devnet::PRICE_CONSUMER_ADDRESS,
    );
    let demo_rpc = nodes[0].rpc_url();
    let demo = tokio::spawn(async move {
        let result = oracle.demonstrate(&demo_rpc).await;
        match &result {
            Ok((value, blocks)) => println!(
                "  oracle: PriceConsumer received ANKR/USD = {value} (×10^-6) over HTTPS, {blocks} blocks after its request"
            ),
            Err(error) => println!("  oracle: the example request failed: {error:#}"),
        }
        oracle
    });

    // The banner comes last, once everything runs, so that it stays on screen above the
    // console's lines (the child chains need a few blocks to deploy and register).
    println!("  starting the child chains (a few blocks)…");
    let plasma = plasma.await?;
    let children = children.await?;
    let head = nodes[0].chain.head();
    println!();
    println!("  ankr devnet");
    println!("  ===========");
    println!("  chain id    {}", spec.chain_id);
    println!("  data        {}", dir.display());
    println!("  head        block {} {}", head.number, head.hash());
    println!(
        "  sealing     Proof of Useful Work, target {} s per block",
        args.block_time
    );
    println!(
        "  attestation {} root {} (SIMULATED, own process)",
        attest.url, attest.root
    );
    for (i, (node, mining)) in nodes.iter().zip(&minings).enumerate() {
        println!(
            "  node {i}      JSON-RPC {} · enclave {} (SIMULATED) · miner {}",
            node.rpc_url(),
            mining.enclave.address(),
            mining.beneficiary
        );
    }
    println!(
        "  explorer    {}{} · metrics {}{}",
        nodes[0].rpc_url(),
        ankr_rpc::explorer::PATH,
        nodes[0].rpc_url(),
        ankr_rpc::metrics::METRICS_PATH
    );
    println!();
    println!(
        "  Funded accounts ({} ANKR each), from the mnemonic",
        devnet::DEV_BALANCE_ANKR
    );
    println!("  \"{}\"", ankr_types::dev_accounts::TEST_MNEMONIC);
    println!();
    for (i, account) in accounts.iter().enumerate() {
        println!(
            "  ({i}) {}  0x{}",
            account.address,
            alloy_primitives::hex::encode(account.secret.secret_bytes())
        );
    }
    println!();
    println!("{oracle_banner}");
    println!(
        "  Miners have their own accounts (the mnemonic's indices {} and up).",
        devnet::DEV_ACCOUNTS
    );
    if let Some(plasma) = &plasma {
        for (name, root_chain, operator) in &plasma.operators {
            println!(
                "  plasma: child chain {name:?} · RootChain {root_chain} · operator JSON-RPC http://{} · gossip {}",
                operator.rpc_addr, operator.p2p_addr
            );
        }
    }
    if let Some(children) = &children {
        for chain in &children.chains {
            println!(
                "  evm child chain: {} · chain id {} · JSON-RPC {} · manager {} · {} · dev accounts hold 100 ANKR there (deposits)",
                chain.profile.name(),
                chain.chain_id,
                chain.node.rpc_url(),
                chain.manager,
                match chain.profile.validity() {
                    ankr_child::ValidityMode::EveryBlock =>
                        "every block executed on the main chain",
                    ankr_child::ValidityMode::Optimistic =>
                        "optimistic (watch with `ankr child watch`)",
                },
            );
        }
    }
    println!(
        "  Ctrl-C stops; `ankr devnet --dir {} --nodes {}` resumes this chain.",
        dir.display(),
        args.nodes
    );
    println!();

    let platforms = minings.iter().map(|m| m.enclave.platform_id()).collect();
    let console = crate::console::spawn(nodes[0].chain.clone(), platforms);
    let watched: Vec<_> = nodes
        .iter()
        .zip(&minings)
        .map(|(node, mining)| (node.chain.clone(), mining.stats.clone()))
        .collect();
    let status = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(30));
        every.tick().await;
        loop {
            every.tick().await;
            let (chain, _) = &watched[0];
            let head = chain.head();
            let next = chain.next_difficulty(&head).unwrap_or_default();
            let relaxed = std::sync::atomic::Ordering::Relaxed;
            let wins: Vec<String> = watched
                .iter()
                .map(|(_, stats)| stats.wins.load(relaxed).to_string())
                .collect();
            let rate: u64 = watched
                .iter()
                .map(|(_, stats)| stats.instruction_rate())
                .sum();
            println!(
                "  pouw: block {} · next difficulty {} · {:.2} G instr/s · wins per node [{}] (SIMULATED enclaves)",
                head.number,
                next,
                rate as f64 / 1e9,
                wins.join(", "),
            );
        }
    });

    tokio::signal::ctrl_c().await?;
    tracing::info!("stopping devnet");
    status.abort();
    match tokio::time::timeout(Duration::from_secs(1), demo).await {
        Ok(Ok(oracle)) => oracle.stop().await,
        _ => tracing::warn!("the oracle example was still waiting"),
    }
    console.abort();
    if let Some(plasma) = plasma {
        plasma.stop().await;
    }
    if let Some(children) = children {
        children.stop().await;
    }
    for node in nodes {
        node.stop().await;
    }
    drop(attest);
    Ok(())
}
