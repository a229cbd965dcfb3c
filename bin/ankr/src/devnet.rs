//! `ankr devnet`: the project's main job, what a newcomer runs first.
//!
//! The chain is sealed by Proof of Useful Work and nothing else: the devnet starts the
//! SIMULATED attestation service as its own process (`ankr attest`, which alone holds the root
//! key), opens a simulated enclave, registers it in genesis, and mines.

use ankr_node::attest::AttestationClient;
use ankr_node::miner::MinerConfig;
use ankr_node::{DevSealing, Node, NodeConfig, devnet};
use ankr_pouw::{Limits, SimulatedEnclave};
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
}

/// The miner of a node: its simulated enclave (sealed in `enclave_dir`), the attestation
/// service, the account that pays registrations and the beneficiary of its blocks.
pub fn miner_config(
    enclave_dir: &Path,
    attestation_url: &str,
    account: secp256k1::SecretKey,
    beneficiary: Option<alloy_primitives::Address>,
) -> anyhow::Result<MinerConfig> {
    let enclave = SimulatedEnclave::open(enclave_dir, Limits::default())?;
    Ok(MinerConfig {
        enclave: Arc::new(enclave),
        attestation: AttestationClient::new(attestation_url)?,
        beneficiary: beneficiary.unwrap_or_else(|| ankr_types::recovery::address_of(&account)),
        account,
        workloads: ankr_pouw::workloads::builtin(),
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
    let temporary;
    let dir = match args.dir {
        Some(dir) => dir,
        None => {
            temporary = tempfile::Builder::new().prefix("ankr-devnet-").tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    let accounts = devnet::accounts();
    let miner = devnet::miner_account();
    let attest = AttestProcess::start(&dir.join("attest"))?;
    let mining = miner_config(
        &dir.join("enclave"),
        &attest.url,
        miner.secret,
        Some(miner.address),
    )?;
    let enclave = mining.enclave.clone();
    let stats = mining.stats.clone();
    let mut spec = devnet::pouw_spec(
        attest.root,
        vec![(enclave.address(), enclave.platform_id())],
    );
    spec.target_block_time_ms = args.block_time * 1000;
    let node = Node::start(NodeConfig {
        data_dir: dir.clone(),
        spec: spec.clone(),
        rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        sealing: DevSealing::Off,
        beneficiary: miner.address,
        mining: Some(mining),
        network: None,
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
    println!(
        "  sealing     Proof of Useful Work, target {} s per block",
        args.block_time
    );
    println!("  enclave     {} (SIMULATED)", enclave.address());
    println!(
        "  attestation {} root {} (SIMULATED, own process)",
        attest.url, attest.root
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
    println!(
        "  The miner's account {} (the mnemonic's index {}) receives the rewards.",
        miner.address,
        devnet::DEV_ACCOUNTS
    );
    println!(
        "  Ctrl-C stops; `ankr devnet --dir {}` resumes this chain.",
        dir.display()
    );
    println!();

    let chain = node.chain.clone();
    let status = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(10));
        every.tick().await;
        loop {
            every.tick().await;
            let head = chain.head();
            let next = chain.next_difficulty(&head).unwrap_or_default();
            println!(
                "  pouw: block {} · next difficulty {} · local {:.2} G instr/s · {} subtasks · {} wins · {} failed (SIMULATED enclave)",
                head.number,
                next,
                stats.instruction_rate() as f64 / 1e9,
                stats.subtasks.load(std::sync::atomic::Ordering::Relaxed),
                stats.wins.load(std::sync::atomic::Ordering::Relaxed),
                stats
                    .failed_subtasks
                    .load(std::sync::atomic::Ordering::Relaxed),
            );
        }
    });

    tokio::signal::ctrl_c().await?;
    tracing::info!("stopping devnet");
    status.abort();
    node.stop().await;
    drop(attest);
    Ok(())
}
