//! `ankr attest`: the SIMULATED attestation service as its own process (DESIGN §2). It holds
//! the attestation root key; miners only ever see certificates.

use ankr_node::attest::{AttestationServer, load_or_create_root_key};
use ankr_pouw::AttestationService;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct AttestArgs {
    /// Folder of the root key (`root.key`, created on first start).
    #[arg(long)]
    dir: PathBuf,
    /// Address to serve JSON-RPC on (`attest_certify`, `attest_rootAddress`).
    #[arg(long, default_value = "127.0.0.1:8600")]
    listen: SocketAddr,
    /// Exit when standard input closes: a parent that starts this process (`ankr devnet`)
    /// passes a pipe, so the service never outlives it, even after a SIGKILL.
    #[arg(long)]
    exit_with_stdin: bool,
}

pub async fn run(args: AttestArgs) -> anyhow::Result<()> {
    if args.exit_with_stdin {
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(0);
        });
    }
    let key = load_or_create_root_key(&args.dir.join("root.key"))?;
    let service = AttestationService::new(key);
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
