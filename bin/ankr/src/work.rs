//! `ankr work submit | status | result | refund | withdraw`: buying useful work from the
//! WorkMarket. The task is posted with its escrow, then its blobs go to the node with
//! `ankr_putBlob` (a node stores only blobs an open task names);
//! a miner runs it in its (SIMULATED) enclave and delivers an attested result; the result
//! blob is fetched with `ankr_getBlob` and checked against the hash the enclave signed.

use crate::wallet::Wallet;
use alloy_primitives::{Address, Bytes, U256, keccak256};
use alloy_sol_types::SolCall;
use ankr_contracts::WorkMarket;
use ankr_contracts::genesis::WORK_MARKET_ADDRESS;
use ankr_enclave::Outcome;
use ankr_rpc::api::PouwRpcClient;
use anyhow::{Context, bail};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct WorkArgs {
    /// JSON-RPC URL of a node.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// Hex secret key of the account that pays (submit, refund, withdraw).
    #[arg(long, global = true, env = "ANKR_KEY", hide_env_values = true)]
    key: Option<String>,
    #[command(subcommand)]
    command: WorkCommand,
}

#[derive(clap::Subcommand)]
enum WorkCommand {
    /// Upload a wasm module and its input and post a task with its escrow.
    Submit {
        /// The WASI command module (`_start`; stdin is the input, stdout the result).
        #[arg(long)]
        module: PathBuf,
        /// File whose bytes are the input (default: empty).
        #[arg(long)]
        input: Option<PathBuf>,
        /// Price per instruction, in wei.
        #[arg(long, default_value_t = 1)]
        price: u128,
        /// Instruction budget; the escrow is budget × price.
        #[arg(long, default_value_t = 1_000_000_000)]
        max_instructions: u64,
        /// Blocks until an undelivered task may be refunded.
        #[arg(long, default_value_t = 100)]
        deadline_blocks: u64,
    },
    /// Show a task's state, miner and payment.
    Status { id: u64 },
    /// Print (or write to --out) the result a miner delivered.
    Result {
        id: u64,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Return an undelivered task's escrow after its deadline (to the provider's balance).
    Refund { id: u64 },
    /// Withdraw everything the market owes the account.
    Withdraw,
}

const STATES: [&str; 4] = ["none", "open", "delivered", "refunded"];

fn outcome_name(code: u8) -> &'static str {
    match code {
        0 => "completed",
        1 => "malformed module",
        2 => "forbidden import",
        3 => "instruction budget exhausted",
        4 => "memory limit",
        5 => "output too large",
        6 => "non-zero exit",
        7 => "trap",
        _ => "unknown",
    }
}

pub async fn run(args: WorkArgs) -> anyhow::Result<()> {
    let wallet = Wallet::connect(&args.rpc, args.key.as_deref()).await?;
    let market = WORK_MARKET_ADDRESS;
    match args.command {
        WorkCommand::Submit {
            module,
            input,
            price,
            max_instructions,
            deadline_blocks,
        } => {
            let wasm =
                std::fs::read(&module).with_context(|| format!("reading {}", module.display()))?;
            ankr_enclave::runtime::check_module(&wasm)
                .map_err(|e| anyhow::anyhow!("{} cannot be useful work: {e}", module.display()))?;
            let input = match input {
                Some(path) => {
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?
                }
                None => Vec::new(),
            };
            let hashes = [keccak256(&wasm), keccak256(&input)];
            let call = WorkMarket::postCall {
                moduleHash: hashes[0],
                inputHash: hashes[1],
                pricePerInstruction: price,
                maxInstructions: max_instructions,
                deadlineBlocks: deadline_blocks,
            };
            let escrow = U256::from(price) * U256::from(max_instructions);
            let receipt = wallet.send(market, escrow, call.abi_encode()).await?;
            let id = ankr_client::receipt_events::<WorkMarket::TaskPosted>(&receipt)
                .first()
                .map(|posted| posted.id)
                .context("no TaskPosted event in the receipt")?;
            // The node stores only blobs that an open task names: post first, then upload.
            for blob in [&wasm, &input] {
                let hash = wallet
                    .chain
                    .client()
                    .put_blob(Bytes::from(blob.clone()))
                    .await?;
                anyhow::ensure!(
                    hash == keccak256(blob),
                    "node stored the blob under another hash"
                );
            }
            println!(
                "task {id} posted: module {} input {}, escrow {escrow} wei",
                hashes[0], hashes[1]
            );
            println!(
                "follow it with `ankr work status {id}`; fetch the result with `ankr work result {id}`"
            );
        }
        WorkCommand::Status { id } => {
            let task = task(&wallet, market, id).await?;
            let state = STATES
                .get(task.state as usize)
                .copied()
                .unwrap_or("unknown");
            println!("task {id}: {state}");
            println!("  provider      {}", task.provider);
            println!("  module        {}", task.moduleHash);
            println!("  input         {}", task.inputHash);
            println!(
                "  price         {} wei per instruction, budget {}",
                task.pricePerInstruction, task.maxInstructions
            );
            println!(
                "  escrow        {} wei, deadline block {}",
                task.escrow, task.deadline
            );
            if task.state == 2 {
                let paid = U256::from(task.instructions) * U256::from(task.pricePerInstruction);
                println!("  miner         {} (paid {paid} wei)", task.miner);
                println!("  instructions  {}", task.instructions);
                println!(
                    "  outcome       {} ({})",
                    task.outcome,
                    outcome_name(task.outcome)
                );
                println!("  result        {}", task.resultHash);
            }
        }
        WorkCommand::Result { id, out } => {
            let task = task(&wallet, market, id).await?;
            if task.state != 2 {
                bail!(
                    "task {id} has no result yet (state {})",
                    STATES.get(task.state as usize).unwrap_or(&"unknown")
                );
            }
            let blob = wallet
                .chain
                .client()
                .get_blob(task.resultHash)
                .await?
                .context("this node does not store the result blob")?;
            anyhow::ensure!(
                keccak256(&blob) == task.resultHash,
                "result blob does not match the attested hash"
            );
            let (code, output) = blob.split_first().context("empty result blob")?;
            eprintln!(
                "task {id}: {} after {} instructions",
                outcome_name(*code),
                task.instructions
            );
            match out {
                Some(path) => std::fs::write(&path, output)?,
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(output)?;
                }
            }
            if *code != Outcome::Completed.code() {
                bail!("the task failed: {}", outcome_name(*code));
            }
        }
        WorkCommand::Refund { id } => {
            wallet
                .send(
                    market,
                    U256::ZERO,
                    WorkMarket::refundCall { id: U256::from(id) }.abi_encode(),
                )
                .await?;
            println!(
                "task {id} refunded to its provider's balance; `ankr work withdraw` pays it out"
            );
        }
        WorkCommand::Withdraw => {
            let me = wallet.address()?;
            let owed = wallet
                .call(market, WorkMarket::owedCall(me).abi_encode())
                .await?;
            let owed = U256::from_be_slice(&owed);
            if owed.is_zero() {
                bail!("the market owes {me} nothing");
            }
            wallet
                .send(market, U256::ZERO, WorkMarket::withdrawCall {}.abi_encode())
                .await?;
            println!("withdrew {owed} wei to {me}");
        }
    }
    Ok(())
}

async fn task(
    wallet: &Wallet,
    market: Address,
    id: u64,
) -> anyhow::Result<WorkMarket::tasksReturn> {
    let output = wallet
        .call(market, WorkMarket::tasksCall(U256::from(id)).abi_encode())
        .await?;
    let task = WorkMarket::tasksCall::abi_decode_returns(&output)?;
    if task.state == 0 {
        bail!("no task {id}");
    }
    Ok(task)
}
