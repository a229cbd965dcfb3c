//! `ankr attest`: the SIMULATED attestation service as its own process (DESIGN §2). It holds
//! the attestation root key; miners only ever see certificates.

use ankr_client::attest::{AttestationServer, load_or_create_root_key};
use ankr_pouw::AttestationService;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AttestArgs {
    #[command(subcommand)]
    command: Option<AttestCommand>,
    /// Folder of the root key (`root.key`, created on first start) and of the provisioned
    /// platforms (`platforms`, one provisioning address per line).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Address to serve JSON-RPC on (`attest_certify`, `attest_rootAddress`).
    #[arg(long, default_value = "127.0.0.1:8600")]
    listen: SocketAddr,
    /// Exit when standard input closes: a parent that starts this process (`ankr devnet`)
    /// passes a pipe, so the service never outlives it, even after a SIGKILL.
    #[arg(long)]
    exit_with_stdin: bool,
}

#[derive(clap::Subcommand)]
enum AttestCommand {
    /// Act as the (simulated) manufacturer: provision the platform sealed in each enclave
    /// folder (made there if missing), so that this service certifies its enclaves. A host
    /// cannot provision platforms itself: it has no access to this folder.
    Provision {
        /// The attestation service's folder.
        #[arg(long)]
        dir: PathBuf,
        /// Enclave folders (a miner's `D/enclave`, an oracle relay's enclave folder).
        #[arg(required = true)]
        enclaves: Vec<PathBuf>,
    },
}

/// The manufacturer's records of an attestation folder.
pub fn platforms_file(dir: &std::path::Path) -> PathBuf {
    dir.join("platforms")
}

/// Provisions the platform sealed in `enclave_dir` in the attestation folder `dir`; returns
/// its platform id.
pub fn provision(
    dir: &std::path::Path,
    enclave_dir: &std::path::Path,
) -> anyhow::Result<alloy_primitives::B256> {
    let platform = ankr_pouw::Platform::open(enclave_dir)?;
    Ok(ankr_pouw::attestation::provision_in(
        &platforms_file(dir),
        platform.address(),
    )?)
}

pub async fn run(args: AttestArgs) -> anyhow::Result<()> {
    if let Some(AttestCommand::Provision { dir, enclaves }) = args.command {
        for enclave in enclaves {
            let id = provision(&dir, &enclave)?;
            println!(
                "provisioned platform {id} ({}) (SIMULATED)",
                enclave.display()
            );
        }
        return Ok(());
    }
    let dir = args
        .dir
        .ok_or_else(|| anyhow::anyhow!("ankr attest needs --dir (or: ankr attest provision)"))?;
    if args.exit_with_stdin {
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(0);
        });
    }
    let key = load_or_create_root_key(&dir.join("root.key"))?;
    let service = AttestationService::with_records(key, platforms_file(&dir));
    let root = service.root_address();
    let server = AttestationServer::start(service, args.listen).await?;
    // The first two lines are read by `ankr devnet`, which starts this process.
    println!("root {root}");
    println!("listening http://{}", server.local_addr);
    std::io::stdout().flush()?;
    tracing::warn!(
        %root,
        addr = %server.local_addr,
        "SIMULATED attestation service: certifies simulated enclaves, proves nothing about hardware"
    );
    tokio::signal::ctrl_c().await?;
    server.stop().await;
    Ok(())
}
