//! `ankr`: one binary, one subcommand per process (DESIGN §1). It parses arguments and hands
//! over to the library crates; nothing here is chain logic.

mod attest;
mod child;
mod console;
mod devnet;
mod oracle;
mod plasma;
mod pool;
mod progress;
mod report;
mod wallet;
mod work;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The process's allocator. The RPC path allocates for every request (JSON buffers, an EVM per
/// call); with jemalloc a call costs less CPU than with glibc's malloc (see bin/ankr/Cargo.toml).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "ankr",
    version,
    about = "ankr: a blockchain whose mining is useful computation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a local development chain on 127.0.0.1 with ten funded accounts.
    Devnet(devnet::DevnetArgs),
    /// Run a main-chain node from a chain spec.
    Node(NodeArgs),
    /// Buy useful work: submit a wasm task, follow it, fetch its result.
    Work(work::WorkArgs),
    /// Ask for HTTPS data through the Native Oracle, read answers, or run an oracle relay.
    Oracle(oracle::OracleArgs),
    /// Plasma child chains: run an operator or a watcher; deposit, send, exit, move between chains.
    Plasma(plasma::PlasmaArgs),
    /// EVM child chains: run an operator or a follower; print a profile's spec; register a
    /// chain's manager on the main chain; read its status there.
    Child(Box<child::ChildArgs>),
    /// Run the SIMULATED attestation service that certifies enclaves (holds the root key).
    Attest(attest::AttestArgs),
    /// Print a chain spec (TOML) to start from.
    Spec {
        #[arg(value_enum, default_value = "devnet")]
        name: SpecName,
        /// With `pouw`: the attestation root the registry trusts (`ankr attest` prints it).
        #[arg(long)]
        attestation_root: Option<alloy_primitives::Address>,
        /// With `pouw`: an enclave registered at genesis, as ENCLAVE:PLATFORM (`ankr enclave
        /// --dir D` prints it); repeat for several. Someone must be able to seal block 1.
        #[arg(long = "bootstrap", value_parser = parse_bootstrap)]
        bootstrap: Vec<(alloy_primitives::Address, alloy_primitives::B256)>,
    },
    /// Print (creating it if needed) the SIMULATED enclave kept in a folder: address, platform
    /// and measurement, as a chain spec's bootstrap list and the registry need them.
    Enclave {
        /// The enclave's folder (a mining node uses DIR/enclave of its data folder).
        #[arg(long)]
        dir: PathBuf,
    },
    /// Measure the node against raw revm and raw signature recovery in the same run.
    Bench(ankr_bench::BenchArgs),
}

#[derive(clap::Args)]
struct NodeArgs {
    /// Data folder (created if missing; resumed if it holds a chain).
    #[arg(long)]
    dir: PathBuf,
    /// Chain spec file (.toml or .json).
    #[arg(long)]
    chain_spec: PathBuf,
    /// JSON-RPC address (HTTP and WebSocket).
    #[arg(long, default_value = "127.0.0.1:8545")]
    rpc: SocketAddr,
    /// Seal blocks with the dev sealer: `instant`, an interval in milliseconds, or `off`.
    #[arg(long, default_value = "off", value_parser = parse_sealing)]
    dev_seal: ankr_node::DevSealing,
    /// Who receives the block reward and tips of blocks this node seals (default: the
    /// miner account).
    #[arg(long)]
    beneficiary: Option<alloy_primitives::Address>,
    /// Mine by Proof of Useful Work (in a SIMULATED enclave kept in DIR/enclave).
    #[arg(long)]
    mine: bool,
    /// Share of one core the built-in useful work may take when no provider has posted a
    /// task, in (0, 1]; providers' tasks always run flat out.
    #[arg(long, default_value_t = 1.0, value_parser = duty)]
    mining_duty: f64,
    /// Blocks of past state kept for JSON-RPC and reorganisations (at least 128; default
    /// 1,024); older changesets are pruned. Kept in the data folder.
    #[arg(long, conflicts_with = "archive")]
    state_history: Option<u64>,
    /// Keep the state of every block (an archive node): nothing is pruned and JSON-RPC serves
    /// any block's state. Kept in the data folder; history pruned before stays gone.
    #[arg(long)]
    archive: bool,
    /// URL of the attestation service (`ankr attest`), needed with --mine.
    #[arg(long)]
    attestation: Option<String>,
    /// File holding the hex secret key of the account that pays enclave registrations.
    #[arg(long)]
    miner_key: Option<PathBuf>,
    /// Join the peer-to-peer network listening on this multiaddr, e.g.
    /// `/ip4/127.0.0.1/tcp/30303` (identity key in DIR/network.key).
    #[arg(long)]
    p2p: Option<ankr_network::Multiaddr>,
    /// A peer to dial at start, e.g. `/ip4/127.0.0.1/tcp/30303/p2p/12D3Koo…` (repeatable).
    #[arg(long = "boot-peer")]
    boot_peers: Vec<ankr_network::Multiaddr>,
    /// Dial only the boot peers; do not look for others (Kademlia discovery is on by default).
    #[arg(long)]
    no_discovery: bool,
    #[command(flatten)]
    pool: pool::PoolArgs,
}

fn read_secret_key(path: &std::path::Path) -> anyhow::Result<secp256k1::SecretKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = alloy_primitives::hex::decode(text.trim()).context("miner key is not hex")?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("miner key must be 32 bytes"))?;
    Ok(secp256k1::SecretKey::from_byte_array(bytes)?)
}

/// `--dev-seal`: `off`, `instant` or an interval in milliseconds.
fn parse_sealing(value: &str) -> Result<ankr_node::DevSealing, String> {
    Ok(match value {
        "off" => ankr_node::DevSealing::Off,
        "instant" => ankr_node::DevSealing::Instant,
        ms => ankr_node::DevSealing::Interval(std::time::Duration::from_millis(
            ms.parse()
                .map_err(|_| format!("{ms:?} is not instant, off or milliseconds"))?,
        )),
    })
}

/// `--bootstrap ENCLAVE:PLATFORM`.
fn parse_bootstrap(
    value: &str,
) -> Result<(alloy_primitives::Address, alloy_primitives::B256), String> {
    let (enclave, platform) = value
        .split_once(':')
        .ok_or("takes ENCLAVE:PLATFORM (`ankr enclave` prints it)")?;
    Ok((
        enclave.parse().map_err(|e| format!("enclave: {e}"))?,
        platform.parse().map_err(|e| format!("platform: {e}"))?,
    ))
}

/// The chain specs `ankr spec` prints.
#[derive(Clone, Copy, clap::ValueEnum)]
enum SpecName {
    /// Dev-sealed, for contract tests.
    Devnet,
    /// Sealed by useful work only.
    Pouw,
}

/// Logs at info by default (`RUST_LOG` overrides); gossipsub warns on every block a node
/// re-publishes after receiving it from the mesh (harmless duplicates), so only its errors
/// are shown.
fn log_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,jsonrpsee=warn,libp2p_gossipsub=error".into())
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(log_filter())
        .with_target(false)
        .init();
}

/// The devnet's logs: all of them to `log_file`, and to the terminal only warnings and errors
/// (the compact console says the rest) unless `verbose`.
fn init_devnet_logging(log_file: &std::path::Path, verbose: bool) -> anyhow::Result<()> {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    use tracing_subscriber::{Layer as _, fmt};
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file)
        .with_context(|| format!("opening {}", log_file.display()))?;
    let to_file = fmt::layer()
        .with_ansi(false)
        .with_target(false)
        .with_writer(std::sync::Mutex::new(file))
        .with_filter(log_filter());
    let terminal_filter = if verbose {
        log_filter()
    } else {
        // Kademlia warns that a one-node devnet has no peers to bootstrap from.
        tracing_subscriber::EnvFilter::new("warn,libp2p_gossipsub=error,libp2p_kad=error")
    };
    let to_terminal = fmt::layer().with_target(false).with_filter(terminal_filter);
    tracing_subscriber::registry()
        .with(to_file)
        .with(to_terminal)
        .try_init()?;
    Ok(())
}

/// A share of time: a number in (0, 1].
pub(crate) fn duty(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if share > 0.0 && share <= 1.0 => Ok(share),
        _ => Err(format!("{text:?} is not a share of time in (0, 1]")),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", report::describe(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Devnet(args) => devnet::run(args).await,
        Command::Node(args) => {
            init_logging();
            let pool = args.pool.limits()?;
            let spec = ankr_types::ChainSpec::load(&args.chain_spec)?;
            let sealing = args.dev_seal;
            let mining = if args.mine {
                let url = args
                    .attestation
                    .as_deref()
                    .context("--mine needs --attestation URL of an `ankr attest` service")?;
                let key = read_secret_key(
                    args.miner_key
                        .as_deref()
                        .context("--mine needs --miner-key FILE (pays enclave registrations)")?,
                )?;
                Some(devnet::miner_config(
                    &args.dir.join("enclave"),
                    url,
                    key,
                    args.beneficiary,
                    args.mining_duty,
                )?)
            } else {
                None
            };
            let beneficiary = match (&mining, sealing, args.beneficiary) {
                (_, _, Some(address)) => address,
                (Some(mining), _, None) => mining.beneficiary,
                (None, ankr_node::DevSealing::Off, None) => Default::default(),
                (None, _, None) => {
                    anyhow::bail!("a sealing node needs --beneficiary ADDRESS for its rewards")
                }
            };
            if args.archive || args.state_history.is_some() {
                let history = if args.archive {
                    None
                } else {
                    args.state_history
                };
                ankr_storage::Store::open(&args.dir)?.set_state_history(history)?;
            }
            let network = args.p2p.map(|listen| ankr_network::NetworkConfig {
                listen,
                boot_peers: args.boot_peers.clone(),
                key_file: args.dir.join("network.key"),
                discovery: !args.no_discovery,
            });
            let node = ankr_node::Node::start(ankr_node::NodeConfig {
                operator: None,
                data_dir: args.dir,
                spec,
                rpc_addr: args.rpc,
                sealing,
                beneficiary,
                mining,
                network,
                pool,
            })
            .await?;
            if let Some(network) = &node.network {
                println!("p2p {}", network.listen_addr);
            }
            tokio::signal::ctrl_c().await?;
            tracing::info!("stopping");
            node.stop().await;
            Ok(())
        }
        Command::Spec {
            name,
            attestation_root,
            bootstrap,
        } => {
            let spec = match name {
                SpecName::Devnet => ankr_node::devnet::spec(),
                SpecName::Pouw => {
                    let root = attestation_root
                        .context("the pouw spec needs --attestation-root ADDRESS")?;
                    anyhow::ensure!(
                        !bootstrap.is_empty(),
                        "the pouw spec needs at least one --bootstrap enclave to seal block 1"
                    );
                    ankr_node::devnet::pouw_spec(root, bootstrap)
                }
            };
            print!("{}", toml::to_string_pretty(&spec)?);
            Ok(())
        }
        Command::Enclave { dir } => {
            use ankr_enclave::Enclave;
            let enclave =
                ankr_enclave::SimulatedEnclave::open(&dir, ankr_enclave::Limits::default())?;
            println!("enclave      {}", enclave.address());
            println!("platform     {}", enclave.platform_id());
            println!("measurement  {}", enclave.measurement());
            println!(
                "bootstrap    {}:{}",
                enclave.address(),
                enclave.platform_id()
            );
            println!(
                "(SIMULATED enclave: its key is a file in {})",
                dir.display()
            );
            Ok(())
        }
        Command::Bench(args) => {
            // The figures go to stdout; the nodes' logs only when asked for (`RUST_LOG`).
            if std::env::var_os("RUST_LOG").is_some() {
                init_logging();
            }
            ankr_bench::run(args).await
        }
        Command::Work(args) => work::run(args).await,
        Command::Oracle(args) => {
            init_logging();
            oracle::run(args).await
        }
        Command::Plasma(args) => {
            init_logging();
            plasma::run(args).await
        }
        Command::Child(args) => {
            init_logging();
            child::run(*args).await
        }
        Command::Attest(args) => {
            init_logging();
            attest::run(args).await
        }
    }
}
