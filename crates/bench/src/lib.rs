//! `ankr bench`: the node's speed as ratios against baselines measured in the same run, because
//! these machines are noisy: raw revm for execution, parallel libsecp256k1 recovery for
//! end-to-end throughput, an in-memory HashBuilder for the state root, raw wasmtime for
//! metering. A crate of its own, so that the `ankr` binary's own code links none of the
//! baselines.

mod child;
mod execution;
mod fixtures;
mod load;
mod measure;
mod network;
mod oracle;
mod plasma;
mod pouw;
mod rpc;
mod state_root;
mod stateless;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Figures {
    All,
    Execution,
    Rpc,
    StateRoot,
    Pouw,
    /// Propagation and sync.
    Network,
    /// Sync only.
    Sync,
    /// Native Oracle throughput and latency.
    Oracle,
    /// Plasma child-block Merkle root.
    Plasma,
    /// EXECUTE: stateless re-execution of a child block from its witness.
    Execute,
    /// EVM child-chain throughput against the main chain's, end to end.
    Child,
}

pub use load::LoadArgs;

/// `ankr bench`'s own commands.
#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Load any node over JSON-RPC (e.g. an `ankr devnet` and an anvil, in one run): mined
    /// transfers and ERC-20 transfers per second with inclusion latency, and reads per second.
    Load(LoadArgs),
}

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: Option<BenchCommand>,
    /// Which figures to measure.
    #[arg(long, value_enum, default_value_t = Figures::All)]
    only: Figures,
    /// Transactions per execution run.
    #[arg(long, default_value_t = 10_000)]
    txs: usize,
    /// Transactions in each block the EXECUTE run re-executes.
    #[arg(long, default_value_t = 1_000)]
    execute_txs: usize,
    /// Transactions sent through JSON-RPC in the end-to-end run.
    #[arg(long, default_value_t = 4_000)]
    rpc_txs: usize,
    /// Transfers sent to the main chain and to a child chain in the child run (at most the
    /// pool's 8,192: they are all sent before the first block drains any).
    #[arg(long, default_value_t = 8_000)]
    child_txs: usize,
    /// State sizes (accounts, ascending) at which the state-root run measures a block's root.
    #[arg(long, value_delimiter = ',', default_values_t = [100_000u64, 1_000_000])]
    accounts: Vec<u64>,
    /// Blocks the network run mines to measure propagation.
    #[arg(long, default_value_t = 40)]
    network_blocks: u64,
    /// Blocks a fresh node syncs in the network run.
    #[arg(long, default_value_t = 500)]
    sync_blocks: u64,
    /// Transfers in each synced block.
    #[arg(long, default_value_t = 200)]
    sync_transfers: usize,
    /// Oracle requests sent at once in the oracle throughput run.
    #[arg(long, default_value_t = 400)]
    oracle_requests: usize,
    /// Simulated blocks per scenario in the PoUW defences run.
    #[arg(long, default_value_t = 20_000)]
    defence_blocks: u64,
    /// Transactions through the Plasma operator in the plasma run.
    #[arg(long, default_value_t = 20_000)]
    plasma_txs: usize,
    /// Every group at a size that takes seconds, not minutes: what CI runs so that no group
    /// can stop working unnoticed. The figures mean little.
    #[arg(long)]
    short: bool,
}

impl BenchArgs {
    fn shortened(mut self) -> Self {
        self.txs = 300;
        self.execute_txs = 100;
        self.rpc_txs = 200;
        self.child_txs = 200;
        self.accounts = vec![5_000, 20_000];
        self.network_blocks = 4;
        self.sync_blocks = 20;
        self.sync_transfers = 10;
        self.oracle_requests = 40;
        self.defence_blocks = 2_000;
        self.plasma_txs = 2_000;
        self
    }
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if let Some(BenchCommand::Load(load)) = args.command {
        return load::run(load).await;
    }
    let args = if args.short { args.shortened() } else { args };
    if cfg!(debug_assertions) {
        println!(
            "note: this is a debug build; run `cargo run --release --bin ankr -- bench` for real figures\n"
        );
    }
    let all = args.only == Figures::All;
    let wanted = |figures: &[Figures]| all || figures.contains(&args.only);
    // The groups to run, in order, so that each says how far the run has come.
    let groups: Vec<&str> = [
        ("execution", wanted(&[Figures::Execution])),
        ("execute", wanted(&[Figures::Execute])),
        ("rpc", wanted(&[Figures::Rpc])),
        ("child", wanted(&[Figures::Child])),
        ("state-root", wanted(&[Figures::StateRoot])),
        ("pouw", wanted(&[Figures::Pouw])),
        ("network", wanted(&[Figures::Network])),
        ("sync", wanted(&[Figures::Network, Figures::Sync])),
        ("oracle", wanted(&[Figures::Oracle])),
        ("plasma", wanted(&[Figures::Plasma])),
    ]
    .into_iter()
    .filter_map(|(name, run)| run.then_some(name))
    .collect();
    let mut done = 0;
    let mut next = |name: &str| {
        done += 1;
        println!("-- group {done} of {}: {name}", groups.len());
    };
    if wanted(&[Figures::Execution]) {
        next("execution");
        let n = args.txs;
        tokio::task::spawn_blocking(move || execution::execution(n)).await??;
    }
    if wanted(&[Figures::Execute]) {
        next("execute");
        let n = args.execute_txs;
        tokio::task::spawn_blocking(move || stateless::run(n)).await??;
    }
    if wanted(&[Figures::Rpc]) {
        next("rpc");
        rpc::end_to_end(args.rpc_txs).await?;
    }
    if wanted(&[Figures::Child]) {
        next("child");
        child::run(args.child_txs).await?;
    }
    if wanted(&[Figures::StateRoot]) {
        next("state-root");
        let mut sizes = args.accounts.clone();
        sizes.sort_unstable();
        anyhow::ensure!(!sizes.is_empty(), "--accounts needs at least one size");
        tokio::task::spawn_blocking(move || state_root::state_root(&sizes)).await??;
    }
    if wanted(&[Figures::Pouw]) {
        next("pouw");
        let blocks = args.defence_blocks;
        tokio::task::spawn_blocking(move || crate::pouw::run(blocks)).await??;
    }
    if wanted(&[Figures::Network]) {
        next("network");
        crate::network::run(args.network_blocks).await?;
    }
    if wanted(&[Figures::Network, Figures::Sync]) {
        next("sync");
        crate::network::sync(args.sync_blocks, args.sync_transfers).await?;
    }
    if wanted(&[Figures::Oracle]) {
        next("oracle");
        crate::oracle::run(args.oracle_requests).await?;
    }
    if wanted(&[Figures::Plasma]) {
        next("plasma");
        tokio::task::spawn_blocking(crate::plasma::run).await?;
        let n = args.plasma_txs;
        tokio::task::spawn_blocking(move || crate::plasma::operator_throughput(n)).await?;
        crate::plasma::gas().await?;
    }
    Ok(())
}
