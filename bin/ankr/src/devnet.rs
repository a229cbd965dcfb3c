//! `ankr devnet`: the project's main job, what a newcomer runs first.

use ankr_node::{DevSealing, Node, NodeConfig, devnet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct DevnetArgs {
    /// Data folder; the same folder resumes the same chain. Default: a fresh temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// JSON-RPC port on 127.0.0.1.
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// Seconds between blocks; 0 seals a block as soon as a transaction arrives.
    #[arg(long, default_value_t = 2.0)]
    block_time: f64,
}

pub async fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let temporary;
    let dir = match args.dir {
        Some(dir) => dir,
        None => {
            temporary = tempfile::Builder::new().prefix("ankr-devnet-").tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    let sealing = if args.block_time <= 0.0 {
        DevSealing::Instant
    } else {
        DevSealing::Interval(Duration::from_secs_f64(args.block_time))
    };
    let spec = devnet::spec();
    let accounts = devnet::accounts();
    let node = Node::start(NodeConfig {
        data_dir: dir.clone(),
        spec: spec.clone(),
        rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        sealing,
        beneficiary: accounts[0].address,
    })
    .await?;

    let head = node.chain.head();
    println!();
    println!("  ankr devnet");
    println!("  ===========");
    println!("  chain id    {}", spec.chain_id);
    println!("  JSON-RPC    {} (HTTP and WebSocket)", node.rpc_url());
    println!("  data        {}", dir.display());
    println!("  head        block {} {}", head.number, head.hash());
    match sealing {
        DevSealing::Instant => {
            println!("  sealing     dev sealer, a block per batch of transactions")
        }
        DevSealing::Interval(d) => println!("  sealing     dev sealer, a block every {:?}", d),
        DevSealing::Off => {}
    }
    println!("              (no proof of work: Proof of Useful Work sealing is not built yet)");
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
    println!(
        "  Ctrl-C stops; `ankr devnet --dir {}` resumes this chain.",
        dir.display()
    );
    println!();

    tokio::signal::ctrl_c().await?;
    tracing::info!("stopping devnet");
    node.stop().await;
    Ok(())
}
