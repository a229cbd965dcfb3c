//! `ankr plasma operator | watch | deposit | send | balance | utxos | exit | challenge |
//! finalize | withdraw | move`, and the child chains `ankr devnet` runs.

use alloy_primitives::{Address, U256};
use ankr_client::main_chain::MainChain;
use ankr_plasma::UtxoPos;
use ankr_plasma_services::api::PlasmaApiClient;
use ankr_plasma_services::client::{MoveProgress, PlasmaClient, move_between};
use ankr_plasma_services::operator::{self, OperatorConfig, RootChainSettings, RunningOperator};
use ankr_plasma_services::watcher::{self, WatcherConfig};
use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args)]
pub struct PlasmaArgs {
    /// JSON-RPC URL of a main-chain node.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// The child chain's operator (`plasma_*` JSON-RPC); the devnet's first is on 9545.
    #[arg(long, global = true, default_value = "http://127.0.0.1:9545")]
    operator: String,
    /// Hex secret key of the user (or, for `operator`, of the RootChain's owner).
    #[arg(long, global = true, env = "ANKR_KEY", hide_env_values = true)]
    key: Option<String>,
    /// How long a command waits for inclusion, a block or maturity (seconds).
    #[arg(long, global = true, default_value_t = 600)]
    timeout: u64,
    #[command(subcommand)]
    command: PlasmaCommand,
}

#[derive(clap::Subcommand)]
enum PlasmaCommand {
    /// Run a child chain's operator for an existing RootChain (or deploy one with --deploy).
    Operator {
        /// The RootChain this key owns.
        #[arg(long, required_unless_present = "deploy")]
        root_chain: Option<Address>,
        /// Deploy a new RootChain (stake --stake ANKR) and register it under this name.
        #[arg(long)]
        deploy: Option<String>,
        #[arg(long, default_value = "10")]
        stake: String,
        /// Exit challenge period and maturity, in seconds (Plasma MVP: 7 and 14 days).
        #[arg(long, default_value_t = 7 * 86_400)]
        challenge_period: u64,
        #[arg(long, default_value_t = 14 * 86_400)]
        maturity_period: u64,
        #[arg(long, default_value = "0.01")]
        exit_bond: String,
        /// The child chain's data folder (its redb file).
        #[arg(long)]
        dir: PathBuf,
        /// Where `plasma_*` JSON-RPC answers.
        #[arg(long, default_value = "127.0.0.1:9545")]
        listen: SocketAddr,
        /// Block gossip address.
        #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
        p2p: String,
        #[arg(long, default_value_t = 1000)]
        block_interval_ms: u64,
        #[arg(long, default_value_t = 1)]
        confirmations: u64,
    },
    /// Watch a child chain for --key's user: check every block, challenge bad exits, prove
    /// invalid blocks, exit everything on an invalid or withheld block.
    Watch {
        /// The watcher's data folder (its redb file: checked blocks, confirm signatures). A
        /// restart goes on from it, even while the operator is unreachable.
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0")]
        p2p: String,
        /// Seconds a submitted root's block may stay unavailable.
        #[arg(long, default_value_t = 30)]
        withhold_timeout: u64,
        #[arg(long, default_value_t = 1)]
        confirmations: u64,
    },
    /// Deposit AMOUNT ANKR from the main chain into the child chain.
    Deposit { amount: String },
    /// Pay AMOUNT ANKR to an address on the child chain.
    Send {
        #[arg(long)]
        to: Address,
        amount: String,
        #[arg(long, default_value = "0")]
        fee: String,
    },
    /// An address's balance on the child chain (default: --key's).
    Balance { address: Option<Address> },
    /// An address's unspent outputs (default: --key's).
    Utxos { address: Option<Address> },
    /// Start the exit of an output, BLKNUM:TXINDEX:OINDEX.
    Exit { utxo: String },
    /// Challenge the exit of an output with the transaction that spent it.
    Challenge {
        /// The exiting output, BLKNUM:TXINDEX:OINDEX.
        #[arg(long)]
        exit: String,
        /// The spending transaction, BLKNUM:TXINDEX.
        #[arg(long)]
        spend: String,
        /// Which of its inputs (0 or 1) spends the output.
        #[arg(long, default_value_t = 0)]
        input: usize,
    },
    /// Pay every matured exit (anyone may).
    Finalize,
    /// Withdraw what the RootChain owes --key's account.
    Withdraw,
    /// Move AMOUNT ANKR to another child chain through the main chain: exit here, deposit there.
    Move {
        /// The other chain's operator.
        #[arg(long)]
        to_operator: String,
        amount: String,
    },
}

/// Decimal ANKR ("1.5") in wei.
pub fn parse_ankr(text: &str) -> anyhow::Result<U256> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 18 || (whole.is_empty() && fraction.is_empty()) {
        bail!("{text:?} is not an amount of ANKR (at most 18 decimals)");
    }
    let padded = format!("{fraction:0<18}");
    let unit = U256::from(ankr_types::chain_spec::ANKR);
    let whole = if whole.is_empty() {
        U256::ZERO
    } else {
        U256::from_str_radix(whole, 10)?
    };
    Ok(whole * unit + U256::from_str_radix(&padded, 10)?)
}

/// Wei as decimal ANKR.
pub fn format_ankr(wei: U256) -> String {
    let unit = U256::from(ankr_types::chain_spec::ANKR);
    let fraction = format!("{:018}", wei % unit);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{} ANKR", wei / unit)
    } else {
        format!("{}.{fraction} ANKR", wei / unit)
    }
}

fn parse_utxo(text: &str) -> anyhow::Result<UtxoPos> {
    let parts: Vec<&str> = text.split(':').collect();
    let [blknum, txindex, oindex] = parts.as_slice() else {
        bail!("{text:?} is not BLKNUM:TXINDEX:OINDEX")
    };
    Ok(UtxoPos {
        blknum: blknum.parse()?,
        txindex: txindex.parse()?,
        oindex: oindex.parse()?,
    })
}

fn parse_key(key: Option<&str>) -> anyhow::Result<secp256k1::SecretKey> {
    crate::wallet::parse_key(key.context("this command needs --key (or ANKR_KEY)")?)
}

pub async fn run(args: PlasmaArgs) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(args.timeout);
    let key = || parse_key(args.key.as_deref());
    let client = || PlasmaClient::connect(&args.rpc, &args.operator);
    let who = |address: Option<Address>| -> anyhow::Result<Address> {
        match address {
            Some(a) => Ok(a),
            None => Ok(ankr_types::recovery::address_of(&key()?)),
        }
    };
    match args.command {
        PlasmaCommand::Operator {
            root_chain,
            deploy,
            stake,
            challenge_period,
            maturity_period,
            exit_bond,
            dir,
            listen,
            p2p,
            block_interval_ms,
            confirmations,
        } => {
            let key = key()?;
            let root_chain = match (root_chain, deploy) {
                (Some(address), _) => address,
                (None, Some(name)) => {
                    let main = MainChain::connect(&args.rpc).await?;
                    let settings = RootChainSettings {
                        challenge_period,
                        maturity_period,
                        exit_bond: parse_ankr(&exit_bond)?,
                        stake: parse_ankr(&stake)?,
                    };
                    let address =
                        operator::deploy_child_chain(&main, &key, &name, settings).await?;
                    println!("deployed RootChain {address} and registered it as {name:?}");
                    address
                }
                (None, None) => unreachable!("clap requires one"),
            };
            let running = operator::start(OperatorConfig {
                main_rpc: args.rpc,
                root_chain,
                key,
                data_dir: dir,
                rpc_addr: listen,
                p2p_listen: p2p.parse()?,
                block_interval: Duration::from_millis(block_interval_ms),
                confirmations,
                early_block_deposits: operator::EARLY_BLOCK_DEPOSITS,
            })
            .await?;
            println!(
                "operator of {root_chain}: plasma JSON-RPC http://{} · gossip {}",
                running.rpc_addr, running.p2p_addr
            );
            tokio::signal::ctrl_c().await?;
            running.stop().await;
        }
        PlasmaCommand::Watch {
            dir,
            p2p,
            withhold_timeout,
            confirmations,
        } => {
            let key = key()?;
            // The operator's gossip address, if it answers; a watcher restarting from its
            // folder goes on without it.
            let peers = match client().await {
                Ok(operator) => operator
                    .operator()
                    .chain_info()
                    .await
                    .ok()
                    .and_then(|info| info.p2p.parse().ok())
                    .into_iter()
                    .collect(),
                Err(error) => {
                    eprintln!(
                        "the operator does not answer ({error}); watching from {}",
                        dir.display()
                    );
                    Vec::new()
                }
            };
            let running = watcher::start(WatcherConfig {
                main_rpc: args.rpc,
                operator_rpc: args.operator,
                key,
                p2p_listen: p2p.parse()?,
                p2p_peers: peers,
                withhold_timeout: Duration::from_secs(withhold_timeout),
                confirmations,
                data_dir: dir,
            })
            .await?;
            println!(
                "watching {} for {}",
                running.root_chain,
                ankr_types::recovery::address_of(&key)
            );
            let mut printed = 0;
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {
                        let actions = running.actions.lock().expect("actions lock").clone();
                        for action in &actions[printed..] {
                            println!("{action}");
                        }
                        printed = actions.len();
                    }
                }
            }
            running.stop().await;
        }
        PlasmaCommand::Deposit { amount } => {
            let client = client().await?;
            let pos = client
                .deposit(&key()?, parse_ankr(&amount)?, timeout)
                .await?;
            println!(
                "deposited {amount} ANKR: output {pos} on {}",
                client.root_chain
            );
        }
        PlasmaCommand::Send { to, amount, fee } => {
            let (blknum, txindex) = client()
                .await?
                .send(
                    &key()?,
                    to,
                    parse_ankr(&amount)?,
                    parse_ankr(&fee)?,
                    timeout,
                )
                .await?;
            println!("sent {amount} ANKR to {to}: transaction {blknum}:{txindex} (confirmed)");
        }
        PlasmaCommand::Balance { address } => {
            let owner = who(address)?;
            println!("{}", format_ankr(client().await?.balance(owner).await?));
        }
        PlasmaCommand::Utxos { address } => {
            let owner = who(address)?;
            for utxo in client().await?.utxos(owner).await? {
                println!("{}  {}", utxo.pos(), format_ankr(utxo.denom));
            }
        }
        PlasmaCommand::Exit { utxo } => {
            let pos = parse_utxo(&utxo)?;
            let client = client().await?;
            client.exit(&key()?, pos).await?;
            let at = client.exitable_at(pos).await?.unwrap_or_default();
            println!(
                "exit of {pos} started; `ankr plasma finalize` pays it from main-chain time {at}, then `withdraw`"
            );
        }
        PlasmaCommand::Challenge { exit, spend, input } => {
            let (blknum, txindex) = spend.split_once(':').context("--spend is BLKNUM:TXINDEX")?;
            client()
                .await?
                .challenge(
                    &key()?,
                    parse_utxo(&exit)?,
                    blknum.parse()?,
                    txindex.parse()?,
                    input,
                )
                .await?;
            println!("challenged the exit of {exit}: its bond is yours to withdraw");
        }
        PlasmaCommand::Finalize => {
            let paid = client().await?.finalize(&key()?).await?;
            println!("{paid} exits paid");
        }
        PlasmaCommand::Withdraw => {
            let amount = client().await?.withdraw(&key()?).await?;
            println!("withdrew {}", format_ankr(amount));
        }
        PlasmaCommand::Move {
            to_operator,
            amount,
        } => {
            let from = client().await?;
            let to = PlasmaClient::connect(&args.rpc, &to_operator).await?;
            let deposit = move_between(
                &from,
                &to,
                &key()?,
                parse_ankr(&amount)?,
                timeout,
                |progress| match progress {
                    MoveProgress::Step(step) => {
                        crate::progress::finish();
                        println!("{step}")
                    }
                    MoveProgress::Maturing {
                        now,
                        since,
                        matures_at,
                    } => crate::progress::draw(
                        "exit maturing",
                        now.saturating_sub(since),
                        matures_at.saturating_sub(since),
                        "s of main-chain time",
                    ),
                },
            )
            .await?;
            println!(
                "moved {amount} ANKR from {} to {}: output {deposit}",
                from.root_chain, to.root_chain
            );
        }
    }
    Ok(())
}

/// The devnet's child chains: RootChains deployed (or found) and registered, operators on
/// 127.0.0.1:`first_port` + i (any free ports when `first_port` is 0).
pub struct DevnetPlasma {
    pub operators: Vec<(String, Address, RunningOperator)>,
}

impl DevnetPlasma {
    pub async fn start(dir: &Path, main_rpc: &str, first_port: u16) -> anyhow::Result<Self> {
        let main = MainChain::connect(main_rpc).await?;
        let names = ["payments", "games"];
        let settings = RootChainSettings {
            challenge_period: 60,
            maturity_period: 120,
            ..Default::default()
        };
        let mut operators = Vec::new();
        for (i, name) in names
            .iter()
            .enumerate()
            .take(ankr_node::devnet::DEVNET_CHILD_CHAINS as usize)
        {
            let key = ankr_node::devnet::plasma_operator_account(i as u32).secret;
            let root_chain = operator::ensure_child_chain(&main, &key, name, settings).await?;
            let running = operator::start(OperatorConfig {
                main_rpc: main_rpc.into(),
                root_chain,
                key,
                data_dir: dir.join(format!("plasma-{name}")),
                rpc_addr: SocketAddr::from((
                    [127, 0, 0, 1],
                    if first_port == 0 {
                        0
                    } else {
                        first_port + i as u16
                    },
                )),
                p2p_listen: "/ip4/127.0.0.1/tcp/0".parse()?,
                block_interval: Duration::from_secs(1),
                confirmations: 1,
                early_block_deposits: operator::EARLY_BLOCK_DEPOSITS,
            })
            .await?;
            operators.push((name.to_string(), root_chain, running));
        }
        Ok(Self { operators })
    }

    pub async fn stop(self) {
        for (_, _, operator) in self.operators {
            operator.stop().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_and_print_as_decimal_ankr() {
        assert_eq!(
            parse_ankr("1.5").unwrap(),
            U256::from(15u64) * U256::from(10u64).pow(U256::from(17))
        );
        assert_eq!(parse_ankr("0.000000000000000001").unwrap(), U256::from(1));
        assert!(parse_ankr("0.0000000000000000001").is_err());
        assert!(parse_ankr("x").is_err());
        assert_eq!(format_ankr(parse_ankr("2.25").unwrap()), "2.25 ANKR");
        assert_eq!(
            format_ankr(U256::from(3) * U256::from(10u64).pow(U256::from(18))),
            "3 ANKR"
        );
    }
}
