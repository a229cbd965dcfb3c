//! `ankr child`: EVM child chains (DESIGN §8). Run a chain's operator or a follower, print a
//! profile's chain spec, put a chain's manager on the main chain, read what the main chain
//! holds for it.

use crate::plasma::parse_ankr;
use crate::wallet::parse_key;
use alloy_primitives::{Address, U256};
use ankr_child::manager::{self, ManagerSettings};
use ankr_child::{ChildConfig, ChildNode, MainLink, Profile, Role, ValidityMode};
use ankr_client::{MainChain, Sender};
use ankr_node::PoolLimits;
use ankr_types::{ChainSpec, GenesisAccount};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ChildArgs {
    #[command(subcommand)]
    command: Option<ChildCommand>,
    #[command(flatten)]
    run: RunArgs,
}

/// `ankr child --spec FILE --dir D (--operator-key K | --follow) …`: run a child-chain node.
#[derive(clap::Args)]
struct RunArgs {
    /// The child chain's spec (`ankr child spec` prints one).
    #[arg(long, required = true)]
    spec: Option<PathBuf>,
    /// Data folder (created if missing; resumed if it holds the chain).
    #[arg(long, required = true)]
    dir: Option<PathBuf>,
    /// Hex secret key of the operator the spec names: this node makes and signs the blocks.
    #[arg(
        long,
        env = "ANKR_OPERATOR_KEY",
        hide_env_values = true,
        required_unless_present = "follow"
    )]
    operator_key: Option<String>,
    /// Follow the chain instead: take blocks from peers and re-execute each (needs --p2p and
    /// --boot-peer).
    #[arg(long, conflicts_with = "operator_key")]
    follow: bool,
    /// JSON-RPC address (HTTP and WebSocket) of the child chain.
    #[arg(long, default_value = "127.0.0.1:8645")]
    rpc: SocketAddr,
    /// Main-chain JSON-RPC URL: with --manager, the operator commits its blocks there.
    #[arg(long)]
    main_rpc: Option<String>,
    /// The chain's EvmChildChain manager on the main chain (`ankr child register` prints it).
    #[arg(long, requires = "main_rpc")]
    manager: Option<Address>,
    /// Join the child chain's peer-to-peer network on this multiaddr.
    #[arg(long)]
    p2p: Option<ankr_network::Multiaddr>,
    /// A peer to dial at start (repeatable).
    #[arg(long = "boot-peer")]
    boot_peers: Vec<ankr_network::Multiaddr>,
    #[command(flatten)]
    pool: crate::pool::PoolArgs,
}

/// `ankr child watch …`.
#[derive(clap::Args)]
struct WatchArgs {
    /// The child chain's spec.
    #[arg(long)]
    spec: PathBuf,
    /// Data folder of the watcher's own copy of the chain.
    #[arg(long)]
    dir: PathBuf,
    /// Main-chain JSON-RPC URL.
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    main_rpc: String,
    /// The chain's EvmChildChain manager on the main chain.
    #[arg(long)]
    manager: Address,
    /// Hex secret key of the main-chain account that sends proofs (and is paid for them).
    #[arg(long, env = "ANKR_KEY", hide_env_values = true)]
    key: String,
    /// JSON-RPC address of the watcher's copy of the child chain.
    #[arg(long, default_value = "127.0.0.1:8646")]
    rpc: SocketAddr,
    /// Join the child chain's peer-to-peer network on this multiaddr.
    #[arg(long)]
    p2p: ankr_network::Multiaddr,
    /// A peer to dial at start (repeatable; the operator, or any follower).
    #[arg(long = "boot-peer")]
    boot_peers: Vec<ankr_network::Multiaddr>,
    #[command(flatten)]
    pool: crate::pool::PoolArgs,
}

#[derive(clap::Subcommand)]
enum ChildCommand {
    /// Print the chain spec (TOML) of a child chain of a profile.
    Spec {
        #[arg(long, value_parser = clap::value_parser!(Profile))]
        profile: Profile,
        #[arg(long)]
        chain_id: u64,
        /// The operator's address (signs every block).
        #[arg(long)]
        operator: Address,
        /// Fund ADDRESS with ANKR at genesis (repeatable): ANKR not backed by the main chain,
        /// for development chains only.
        #[arg(long = "fund", value_parser = parse_funding)]
        funds: Vec<(Address, U256)>,
    },
    /// Deploy the chain's EvmChildChain manager on the main chain with the operator's stake,
    /// register it in ChildChainRegistry, and print its address.
    Register {
        /// Main-chain JSON-RPC URL.
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        main_rpc: String,
        /// Hex secret key of the operator's main-chain account (owns the manager).
        #[arg(long, env = "ANKR_KEY", hide_env_values = true)]
        key: String,
        /// The registry's name for the chain (1 to 64 bytes).
        #[arg(long)]
        name: String,
        /// The child chain's spec (its chain id, genesis and gas cap go to the manager).
        #[arg(long)]
        spec: PathBuf,
        /// How the main chain checks its blocks: `every-block` (each block executed by
        /// EXECUTE on submission) or `optimistic` (final after --challenge-window blocks
        /// unless proven wrong).
        #[arg(long, default_value = "optimistic", value_parser = clap::value_parser!(ValidityMode))]
        mode: ValidityMode,
        /// Optimistic chains: main-chain blocks a commitment stays open to proofs.
        #[arg(long, default_value_t = 40)]
        challenge_window: u64,
        /// The operator's stake in ANKR (a proof of a wrong block pays it to the prover).
        #[arg(long, default_value = "10")]
        stake: String,
        /// Main-chain blocks between retiring the chain and taking the stake back.
        #[arg(long, default_value_t = 40_320)]
        exit_delay: u64,
    },
    /// Follow the chain as a watcher: re-execute every block heard of, check every block its
    /// manager commits, and prove each wrong one on the main chain (the proof pays half the
    /// operator's stake to --key's account).
    Watch {
        #[command(flatten)]
        watch: WatchArgs,
    },
    /// Move ANKR from the main chain onto a child chain: escrowed by its manager, anchored
    /// and credited there by the operator within a few main blocks.
    Deposit {
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        main_rpc: String,
        #[arg(long)]
        manager: Address,
        /// Hex secret key of the main-chain account that pays.
        #[arg(long, env = "ANKR_KEY", hide_env_values = true)]
        key: String,
        /// The child-chain account credited (default: the key's own address).
        #[arg(long)]
        to: Option<Address>,
        /// ANKR to move.
        #[arg(long)]
        amount: String,
    },
    /// Move ANKR from a child chain back to the main chain: sent into the child's bridge, then
    /// proven on the main chain (eth_getProof against a final child header) and paid.
    Withdraw {
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        main_rpc: String,
        /// The child chain's JSON-RPC URL.
        #[arg(long, default_value = "http://127.0.0.1:8645")]
        child_rpc: String,
        #[arg(long)]
        manager: Address,
        /// Hex secret key of the account that pays on the child chain and sends the proof on
        /// the main chain (it needs a little ANKR on both for gas).
        #[arg(long, env = "ANKR_KEY", hide_env_values = true)]
        key: String,
        /// The main-chain account paid (default: the key's own address).
        #[arg(long)]
        to: Option<Address>,
        /// ANKR to move.
        #[arg(long)]
        amount: String,
        /// Seconds to wait for the child block to become final on the main chain.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// What the main chain holds for a child chain: operator, stake, latest committed block.
    Status {
        #[arg(long, default_value = "http://127.0.0.1:8545")]
        main_rpc: String,
        #[arg(long)]
        manager: Address,
    },
}

/// `--fund ADDRESS=ANKR`.
fn parse_funding(value: &str) -> Result<(Address, U256), String> {
    let (address, amount) = value.split_once('=').ok_or("takes ADDRESS=ANKR")?;
    Ok((
        address.parse().map_err(|e| format!("address: {e}"))?,
        parse_ankr(amount).map_err(|e| format!("amount: {e}"))?,
    ))
}

pub async fn run(args: ChildArgs) -> anyhow::Result<()> {
    match args.command {
        None => run_node(args.run).await,
        Some(ChildCommand::Spec {
            profile,
            chain_id,
            operator,
            funds,
        }) => {
            let alloc = funds
                .into_iter()
                .map(|(address, balance)| {
                    let account = GenesisAccount {
                        balance,
                        ..Default::default()
                    };
                    (address, account)
                })
                .collect();
            let spec = profile.spec(chain_id, operator, alloc);
            spec.validate()?;
            print!("{}", toml::to_string_pretty(&spec)?);
            Ok(())
        }
        Some(ChildCommand::Register {
            main_rpc,
            key,
            name,
            spec,
            mode,
            challenge_window,
            stake,
            exit_delay,
        }) => {
            let spec = ChainSpec::load(&spec)?;
            let main = MainChain::connect(&main_rpc).await?;
            let sender = Sender::new(main, parse_key(&key)?);
            let mut settings = ManagerSettings::for_spec(&spec, &name, mode, parse_ankr(&stake)?);
            settings.challenge_window = challenge_window;
            settings.exit_delay = exit_delay;
            let manager = manager::deploy(&sender, &settings).await?;
            println!("manager {manager}");
            Ok(())
        }
        Some(ChildCommand::Watch { watch }) => run_watcher(watch).await,
        Some(ChildCommand::Deposit {
            main_rpc,
            manager,
            key,
            to,
            amount,
        }) => {
            let key = parse_key(&key)?;
            let sender = Sender::new(MainChain::connect(&main_rpc).await?, key);
            let to = to.unwrap_or(sender.address());
            let deposit =
                ankr_child::bridge::deposit(&sender, manager, to, parse_ankr(&amount)?).await?;
            println!(
                "deposit {} of {} wei to {} escrowed (deposit hash {}); the operator credits it once a child block anchors it",
                deposit.index, deposit.amount, deposit.to, deposit.hash
            );
            Ok(())
        }
        Some(ChildCommand::Withdraw {
            main_rpc,
            child_rpc,
            manager,
            key,
            to,
            amount,
            timeout,
        }) => {
            let key = parse_key(&key)?;
            let main = Sender::new(MainChain::connect(&main_rpc).await?, key);
            let child = MainChain::connect(&child_rpc).await?;
            let to = to.unwrap_or(main.address());
            let holder = Sender::new(child.clone(), key);
            let withdrawal =
                ankr_child::bridge::start_withdrawal(&holder, to, parse_ankr(&amount)?).await?;
            println!(
                "withdrawal {} of {} wei to {} recorded in child block {}; waiting for it to be final on the main chain",
                withdrawal.id, withdrawal.amount, withdrawal.to, withdrawal.block
            );
            let receipt = ankr_child::bridge::finish_withdrawal(
                &main,
                manager,
                &child,
                &withdrawal,
                std::time::Duration::from_secs(timeout),
            )
            .await?;
            println!(
                "paid on the main chain in transaction {}",
                receipt.transaction_hash
            );
            Ok(())
        }
        Some(ChildCommand::Status { main_rpc, manager }) => {
            let main = MainChain::connect(&main_rpc).await?;
            let state = manager::state(&main, manager).await?;
            println!("manager        {manager}");
            println!("child chain id {}", state.child_chain_id);
            println!("genesis        {}", state.genesis_hash);
            match state.mode {
                Some(ValidityMode::EveryBlock) => {
                    println!("validity       every block executed on submission")
                }
                Some(ValidityMode::Optimistic) => {
                    println!("validity       optimistic (proofs of wrong blocks)")
                }
                None => println!("validity       unknown"),
            }
            println!("operator       {}", state.operator);
            println!("stake          {} wei", state.stake);
            println!(
                "standing       block {} {}",
                state.latest_number, state.latest_hash
            );
            println!("escrow         {} wei", state.escrow);
            println!("deposits       {}", state.deposits);
            if state.retired_at != 0 {
                println!("retired at     main block {}", state.retired_at);
            }
            Ok(())
        }
    }
}

async fn run_node(args: RunArgs) -> anyhow::Result<()> {
    let pool = args.pool.limits()?;
    let spec_path = args.spec.context("--spec FILE")?;
    let dir = args.dir.context("--dir DIR")?;
    let spec = ChainSpec::load(&spec_path)?;
    let role = match args.operator_key {
        Some(key) => {
            let key = parse_key(&key).context("--operator-key")?;
            let main = match (args.main_rpc, args.manager) {
                (Some(rpc_url), Some(manager)) => Some(MainLink {
                    rpc_url,
                    manager,
                    key,
                }),
                (Some(_), None) => anyhow::bail!(
                    "--main-rpc needs --manager ADDRESS (`ankr child register` deploys one)"
                ),
                _ => None,
            };
            if main.is_none() {
                tracing::warn!(
                    "no --main-rpc/--manager: blocks are not committed to the main chain"
                );
            }
            Role::Operator { key, main }
        }
        None => Role::Follower { watch: None },
    };
    let network = args
        .p2p
        .map(|listen| network_config(listen, args.boot_peers, &dir));
    let node = ChildNode::start(ChildConfig {
        data_dir: dir,
        spec,
        rpc_addr: args.rpc,
        role,
        network,
        pool,
    })
    .await?;
    println!("rpc {}", node.rpc_url());
    if let Some(network) = &node.node.network {
        println!("p2p {}", network.listen_addr);
    }
    tokio::signal::ctrl_c().await?;
    tracing::info!("stopping");
    node.stop().await;
    Ok(())
}

fn network_config(
    listen: ankr_network::Multiaddr,
    boot_peers: Vec<ankr_network::Multiaddr>,
    dir: &std::path::Path,
) -> ankr_network::NetworkConfig {
    ankr_network::NetworkConfig {
        listen,
        boot_peers,
        key_file: dir.join("network.key"),
        discovery: true,
    }
}

async fn run_watcher(args: WatchArgs) -> anyhow::Result<()> {
    let pool = args.pool.limits()?;
    let spec = ChainSpec::load(&args.spec)?;
    let key = parse_key(&args.key).context("--key")?;
    let network = network_config(args.p2p, args.boot_peers, &args.dir);
    let mut node = ChildNode::start(ChildConfig {
        data_dir: args.dir,
        spec,
        rpc_addr: args.rpc,
        role: Role::Follower {
            watch: Some(MainLink {
                rpc_url: args.main_rpc,
                manager: args.manager,
                key,
            }),
        },
        network: Some(network),
        pool,
    })
    .await?;
    println!("rpc {}", node.rpc_url());
    if let Some(network) = &node.node.network {
        println!("p2p {}", network.listen_addr);
    }
    println!("watching manager {}", args.manager);
    let mut proofs = node.take_proofs().expect("proofs not taken yet");
    loop {
        tokio::select! {
            signal = tokio::signal::ctrl_c() => {
                signal?;
                break;
            }
            Some(proof) = proofs.recv() => println!(
                "proved child block {} ({}) wrong: reverted, {} wei to the prover, {} ms after its commitment was read",
                proof.number,
                proof.wrong_hash,
                proof.reward,
                proof.took.as_millis()
            ),
        }
    }
    tracing::info!("stopping");
    node.stop().await;
    Ok(())
}

/// ANKR each dev account receives on each devnet EVM child chain, by a real deposit.
const DEVNET_CHILD_FUNDING_ANKR: u64 = 100;

/// One EVM child chain of the devnet.
pub struct DevnetChild {
    pub profile: Profile,
    pub chain_id: u64,
    pub manager: Address,
    pub node: ChildNode,
}

/// The devnet's EVM child chains: one per profile (chain ids 7001…), each with its operator
/// linked to the main chain and its manager deployed and registered on first start (the folder
/// `evm-PROFILE` of the devnet's remembers it), and every dev account funded there by a
/// deposit of [`DEVNET_CHILD_FUNDING_ANKR`] made by the operator's main-chain account before
/// the operator starts (afterwards its commitments use that account's nonces).
pub struct DevnetChildren {
    pub chains: Vec<DevnetChild>,
}

impl DevnetChildren {
    /// Starts them (all at once) against the main chain at `main_rpc`; chain i serves
    /// JSON-RPC on 127.0.0.1:`first_port` + i (any free port when `first_port` is 0). Their
    /// pools take the devnet's limits.
    pub async fn start(
        dir: &std::path::Path,
        main_rpc: &str,
        first_port: u16,
        pool: &PoolLimits,
    ) -> anyhow::Result<Self> {
        let starting = Profile::ALL.into_iter().enumerate().map(|(i, profile)| {
            start_devnet_child(dir, main_rpc, first_port, i, profile, pool.clone())
        });
        let chains = futures::future::try_join_all(starting).await?;
        Ok(Self { chains })
    }

    pub async fn stop(self) {
        for chain in self.chains {
            chain.node.stop().await;
        }
    }
}

/// Starts the devnet's EVM child chain `i` of `profile`, deploying its manager on first start.
async fn start_devnet_child(
    dir: &std::path::Path,
    main_rpc: &str,
    first_port: u16,
    i: usize,
    profile: Profile,
    pool: PoolLimits,
) -> anyhow::Result<DevnetChild> {
    let key = ankr_node::devnet::evm_child_operator_account(i as u32).secret;
    let operator = ankr_types::recovery::address_of(&key);
    let chain_id = 7001 + i as u64;
    let spec = profile.spec(chain_id, operator, Default::default());
    let home = dir.join(format!("evm-{}", profile.name()));
    std::fs::create_dir_all(&home)?;
    let remembered = home.join("manager");
    let manager = match std::fs::read_to_string(&remembered) {
        Ok(text) => text.trim().parse()?,
        Err(_) => {
            let main = Sender::new(MainChain::connect(main_rpc).await?, key);
            let settings = ManagerSettings::for_spec(
                &spec,
                profile.name(),
                profile.validity(),
                parse_ankr("10")?,
            );
            let manager = manager::deploy(&main, &settings).await?;
            std::fs::write(&remembered, manager.to_string())?;
            manager
        }
    };
    // Fund the dev accounts once, by deposits anyone could make.
    let main = Sender::new(MainChain::connect(main_rpc).await?, key);
    if manager::state(main.chain(), manager).await?.deposits == 0 {
        let amount = parse_ankr(&DEVNET_CHILD_FUNDING_ANKR.to_string())?;
        for account in ankr_node::devnet::accounts() {
            ankr_child::bridge::deposit(&main, manager, account.address, amount).await?;
        }
    }
    let port = if first_port == 0 {
        0
    } else {
        first_port + i as u16
    };
    let node = ChildNode::start(ChildConfig {
        data_dir: home.join("data"),
        spec,
        rpc_addr: SocketAddr::from(([127, 0, 0, 1], port)),
        role: Role::Operator {
            key,
            main: Some(MainLink {
                rpc_url: main_rpc.into(),
                manager,
                key,
            }),
        },
        network: Some(network_config(
            "/ip4/127.0.0.1/tcp/0".parse()?,
            Vec::new(),
            &home,
        )),
        pool,
    })
    .await?;
    Ok(DevnetChild {
        profile,
        chain_id,
        manager,
        node,
    })
}
