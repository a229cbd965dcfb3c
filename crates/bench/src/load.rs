//! `ankr bench load --rpc URL [--rpc URL …]`: the same load against any Ethereum node, so that
//! one command measures ankr and what users would pick instead (anvil) in the same run, each
//! scenario on each node in turn. Signed locally with the standard test mnemonic's first ten
//! accounts (funded on `ankr devnet` and on anvil alike), sent over JSON-RPC as any client
//! sends them; a refused send (a full pool) is retried and one the node accepted and then
//! dropped is sent again, as a wallet that rebroadcasts would.
//!
//! Figures: mined transfers and ERC-20 transfers per second (first send to last inclusion)
//! with inclusion latency p50/p99, and `eth_call`, `eth_blockNumber` and `eth_getLogs` answered
//! per second by concurrent clients.

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256, hex};
use alloy_sol_types::{SolCall, SolConstructor};
use ankr_contracts::ExampleToken;
use ankr_types::dev_accounts::{DevAccount, TEST_MNEMONIC, derive};
use ankr_types::recovery::sign_transaction;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::BatchRequestBuilder;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `ankr bench load` takes.
#[derive(clap::Args, Clone)]
pub struct LoadArgs {
    /// JSON-RPC URL of a node to load (repeat to compare: the first is the one measured, the
    /// others its baselines; e.g. an `ankr devnet` and an anvil started with `--block-time 1`).
    #[arg(long = "rpc", required = true)]
    rpcs: Vec<String>,
    /// Value transfers per run, from the mnemonic's first ten accounts.
    #[arg(long, default_value_t = 5_000)]
    transfers: usize,
    /// ERC-20 transfers per run (an ExampleToken each run deploys).
    #[arg(long, default_value_t = 2_000)]
    erc20: usize,
    /// Seconds each read load (eth_call, eth_blockNumber, eth_getLogs) runs.
    #[arg(long, default_value_t = 5.0)]
    read_seconds: f64,
    /// Concurrent clients of the read loads.
    #[arg(long, default_value_t = 16)]
    clients: usize,
}

/// Senders of the write loads: the standard mnemonic's accounts 0–9, which `ankr devnet` and
/// anvil both fund (the devnet's own services send from other indices).
const SENDERS: u32 = 10;

/// One node's figures.
#[derive(Default, Clone)]
struct Figures {
    transfers: Option<Mined>,
    erc20: Option<Mined>,
    call: f64,
    block_number: f64,
    logs: f64,
}

#[derive(Clone, Copy)]
struct Mined {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

pub(crate) async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let mut nodes = Vec::new();
    for url in &args.rpcs {
        nodes.push(Node::connect(url).await?);
    }
    for node in &nodes {
        println!(
            "== load: {} ({}, chain id {})",
            node.url, node.version, node.chain_id
        );
    }
    let mut figures = vec![Figures::default(); nodes.len()];
    // Each scenario on each node in turn, so that a noisy minute hurts both alike.
    for (node, figures) in nodes.iter().zip(&mut figures) {
        figures.transfers = Some(node.mined("transfers", args.transfers, None).await?);
    }
    let mut tokens = Vec::new();
    for (node, figures) in nodes.iter().zip(&mut figures) {
        let token = node.deploy_token().await?;
        figures.erc20 = Some(
            node.mined("ERC-20 transfers", args.erc20, Some(token))
                .await?,
        );
        tokens.push(token);
    }
    let seconds = Duration::from_secs_f64(args.read_seconds);
    for ((node, figures), token) in nodes.iter().zip(&mut figures).zip(&tokens) {
        let holder = node.accounts[1].address;
        let call = ExampleToken::balanceOfCall(holder).abi_encode();
        let params = serde_json::json!([{ "to": token, "data": Bytes::from(call) }, "latest"]);
        figures.call = node
            .reads("eth_call", params, args.clients, seconds)
            .await?;
    }
    for (node, figures) in nodes.iter().zip(&mut figures) {
        figures.block_number = node
            .reads(
                "eth_blockNumber",
                serde_json::json!([]),
                args.clients,
                seconds,
            )
            .await?;
    }
    for ((node, figures), token) in nodes.iter().zip(&mut figures).zip(&tokens) {
        let head: u64 = node.number("eth_blockNumber", rpc_params![]).await?;
        let filter = serde_json::json!([{ "address": token,
            "fromBlock": format!("0x{:x}", head.saturating_sub(100)), "toBlock": "latest" }]);
        figures.logs = node
            .reads("eth_getLogs", filter, args.clients, seconds)
            .await?;
    }
    report(&nodes, &figures);
    Ok(())
}

fn report(nodes: &[Node], figures: &[Figures]) {
    println!("\n== load figures (the first node against each other)");
    let mut header = format!("  {:<34}", "");
    for node in nodes {
        header += &format!(" {:>22}", short_url(&node.url));
    }
    if nodes.len() > 1 {
        header += "   ratio";
    }
    println!("{header}");
    let row = |name: &str, values: Vec<f64>, unit: &str| {
        let mut line = format!("  {name:<34}");
        for value in &values {
            line += &format!(" {:>17.0} {unit:<4}", value);
        }
        for other in values.iter().skip(1) {
            line += &format!(" {:>7.2}", values[0] / other.max(f64::MIN_POSITIVE));
        }
        println!("{line}");
    };
    let mined = |pick: fn(&Figures) -> Option<Mined>| -> Vec<Mined> {
        figures.iter().map(|f| pick(f).expect("measured")).collect()
    };
    for (name, runs) in [
        ("transfers mined", mined(|f| f.transfers)),
        ("ERC-20 transfers mined", mined(|f| f.erc20)),
    ] {
        row(name, runs.iter().map(|m| m.per_second).collect(), "tx/s");
        let latencies: Vec<String> = runs
            .iter()
            .map(|m| {
                format!(
                    "p50 {:.2} s p99 {:.2} s",
                    m.p50.as_secs_f64(),
                    m.p99.as_secs_f64()
                )
            })
            .collect();
        println!(
            "  {:<34} {}",
            "  inclusion latency",
            latencies.join("  |  ")
        );
    }
    row(
        "eth_call balanceOf",
        figures.iter().map(|f| f.call).collect(),
        "/s",
    );
    row(
        "eth_blockNumber",
        figures.iter().map(|f| f.block_number).collect(),
        "/s",
    );
    row(
        "eth_getLogs (100 blocks)",
        figures.iter().map(|f| f.logs).collect(),
        "/s",
    );
}

fn short_url(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// A node under load, and the accounts that send to it.
struct Node {
    url: String,
    version: String,
    chain_id: u64,
    client: HttpClient,
    accounts: Vec<DevAccount>,
}

impl Node {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = HttpClientBuilder::default()
            .max_request_size(64 << 20)
            .max_response_size(64 << 20)
            .request_timeout(Duration::from_secs(60))
            .build(url)?;
        let version: String = client.request("web3_clientVersion", rpc_params![]).await?;
        let node = Self {
            url: url.to_string(),
            version,
            chain_id: 0,
            client,
            accounts: derive(TEST_MNEMONIC, SENDERS),
        };
        let chain_id = node.number("eth_chainId", rpc_params![]).await?;
        Ok(Self { chain_id, ..node })
    }

    async fn number(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> anyhow::Result<u64> {
        number(&self.client, method, params).await
    }

    async fn nonce(&self, account: Address) -> anyhow::Result<u64> {
        nonce_at(&self.client, account, "pending").await
    }

    /// Fees every sender of a run signs with: a tip the node suggests and a fee cap the base
    /// fee does not reach while the run keeps blocks full (it rises by 1/8 a full block, so
    /// 4× the current base fee is crossed after 12 such blocks and the rest of the run would
    /// wait for it to fall: a figure of EIP-1559, not of the node). One pair for all senders:
    /// with caps a block apart, a full pool evicts the lower-paying sender's tail.
    async fn fees(&self) -> anyhow::Result<Fees> {
        let block: Value = self
            .client
            .request("eth_getBlockByNumber", rpc_params!["latest", false])
            .await?;
        let base = u128::from_str_radix(
            block["baseFeePerGas"]
                .as_str()
                .unwrap_or("0x0")
                .trim_start_matches("0x"),
            16,
        )?;
        let tip = self
            .number("eth_maxPriorityFeePerGas", rpc_params![])
            .await
            .unwrap_or(1_000_000_000) as u128;
        Ok(Fees {
            max_fee: (4 * base).max(FEE_CAP) + tip,
            tip,
        })
    }

    /// `count` transactions from `account` with consecutive nonces, made by `make(i)`.
    async fn sign_from(
        &self,
        account: &DevAccount,
        count: usize,
        fees: Fees,
        make: impl Fn(usize) -> (TxKind, Bytes, U256, u64),
    ) -> anyhow::Result<Signed> {
        let first_nonce = self.nonce(account.address).await?;
        let transactions = (0..count)
            .map(|i| {
                let (to, input, value, gas_limit) = make(i);
                let tx = sign_transaction(
                    &account.secret,
                    TxEip1559 {
                        chain_id: self.chain_id,
                        nonce: first_nonce + i as u64,
                        gas_limit,
                        max_fee_per_gas: fees.max_fee,
                        max_priority_fee_per_gas: fees.tip,
                        to,
                        value,
                        input,
                        ..Default::default()
                    },
                );
                (
                    format!("0x{}", hex::encode(tx.encoded_2718())),
                    format!("{:?}", tx.tx_hash()),
                )
            })
            .collect();
        Ok(Signed {
            sender: account.address,
            first_nonce,
            transactions,
        })
    }

    /// Sends `n` transactions (value transfers, or transfers of `token`) from the ten senders
    /// at once and waits until all are mined; latency from every tenth transaction.
    async fn mined(&self, what: &str, n: usize, token: Option<Address>) -> anyhow::Result<Mined> {
        let recipient = Address::repeat_byte(0x42);
        let make = |_| match token {
            None => (TxKind::Call(recipient), Bytes::new(), U256::from(1), 21_000),
            Some(token) => {
                let input = ExampleToken::transferCall {
                    to: recipient,
                    value: U256::from(1),
                };
                (
                    TxKind::Call(token),
                    input.abi_encode().into(),
                    U256::ZERO,
                    60_000,
                )
            }
        };
        let fees = self.fees().await?;
        let mut signed = Vec::new();
        for (s, account) in self.accounts.iter().enumerate() {
            let count = n / self.accounts.len() + usize::from(s < n % self.accounts.len());
            signed.push(self.sign_from(account, count, fees, make).await?);
        }
        let start = Instant::now();
        let watched = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut senders = tokio::task::JoinSet::new();
        for one_sender in signed {
            let (client, watched) = (self.client.clone(), watched.clone());
            senders.spawn(async move {
                send_in_order(&client, one_sender, start, |index, last, hash, at| {
                    if index % 10 == 0 || last {
                        watched
                            .lock()
                            .expect("watch list")
                            .push((hash.to_string(), at));
                    }
                })
                .await
            });
        }
        // Every 20 ms, which of the watched transactions are mined: until every sender is done
        // and each one's last transaction (hence all of its transactions) is in.
        let mut latencies = Vec::new();
        let mut finished = false;
        let mut sent_again = 0;
        loop {
            while let Some(done) = senders.try_join_next() {
                sent_again += done??.sent_again;
            }
            finished |= senders.is_empty();
            let waiting: Vec<(String, Duration)> = watched.lock().expect("watch list").clone();
            if waiting.is_empty() && finished {
                break;
            }
            let mut batch = BatchRequestBuilder::new();
            for (hash, _) in &waiting {
                batch.insert("eth_getTransactionReceipt", rpc_params![hash])?;
            }
            let mut mined = std::collections::HashSet::new();
            if !waiting.is_empty() {
                let answers = self.client.batch_request::<Value>(batch).await?;
                let now = start.elapsed();
                for ((hash, sent_at), answer) in waiting.iter().zip(answers) {
                    if let Ok(receipt) = answer
                        && !receipt.is_null()
                    {
                        anyhow::ensure!(receipt["status"] == "0x1", "transaction {hash} failed");
                        latencies.push(now.saturating_sub(*sent_at));
                        mined.insert(hash.clone());
                    }
                }
            }
            watched
                .lock()
                .expect("watch list")
                .retain(|(hash, _)| !mined.contains(hash));
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(600),
                "{what} not mined in 600 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = start.elapsed();
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        let mined = Mined {
            per_second: n as f64 / elapsed.as_secs_f64(),
            p50: at(0.5),
            p99: at(0.99),
        };
        println!(
            "  {:<22} {what}: {n} in {:.1} s, {:.0} tx/s, inclusion p50 {:.2} s p99 {:.2} s, \
             {sent_again} sent again after the node dropped them",
            short_url(&self.url),
            elapsed.as_secs_f64(),
            mined.per_second,
            mined.p50.as_secs_f64(),
            mined.p99.as_secs_f64()
        );
        Ok(mined)
    }

    /// Waits until `hash` is mined, successfully.
    async fn mined_at(&self, hash: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let receipt: Value = self
                .client
                .request("eth_getTransactionReceipt", rpc_params![hash])
                .await?;
            if !receipt.is_null() {
                anyhow::ensure!(receipt["status"] == "0x1", "transaction {hash} failed");
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "transaction {hash} not mined in 300 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Deploys an ExampleToken from sender 0, which gives each sender (itself too) a share.
    async fn deploy_token(&self) -> anyhow::Result<Address> {
        let owner = &self.accounts[0];
        let code = ankr_contracts::artifact("ExampleToken")
            .expect("committed")
            .bytecode;
        let supply = U256::from(10u64).pow(U256::from(30));
        let constructor = ExampleToken::constructorCall {
            name_: "Load".into(),
            symbol_: "LOAD".into(),
            supply,
        };
        let deploy: Bytes = [code.to_vec(), constructor.abi_encode()].concat().into();
        let token = owner.address.create(self.nonce(owner.address).await?);
        let share = supply / U256::from(2 * SENDERS);
        let fees = self.fees().await?;
        let transactions = self
            .sign_from(owner, 1 + SENDERS as usize, fees, |i| match i {
                0 => (TxKind::Create, deploy.clone(), U256::ZERO, 3_000_000),
                _ => {
                    let to = self.accounts[i - 1].address;
                    let input = ExampleToken::transferCall { to, value: share };
                    (
                        TxKind::Call(token),
                        input.abi_encode().into(),
                        U256::ZERO,
                        80_000,
                    )
                }
            })
            .await?;
        let sent =
            send_in_order(&self.client, transactions, Instant::now(), |_, _, _, _| {}).await?;
        self.mined_at(sent.hashes.last().expect("eleven sent"))
            .await?;
        Ok(token)
    }

    /// `clients` concurrent clients call `method` for `duration`; answers per second.
    async fn reads(
        &self,
        method: &'static str,
        params: Value,
        clients: usize,
        duration: Duration,
    ) -> anyhow::Result<f64> {
        let params = Arc::new(params);
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..clients {
            let (url, params) = (self.url.clone(), params.clone());
            tasks.spawn(async move {
                // One connection per client, as separate users have.
                let client = HttpClientBuilder::default()
                    .max_response_size(64 << 20)
                    .build(&url)?;
                let mut answered = 0u64;
                while start.elapsed() < duration {
                    let mut array = jsonrpsee::core::params::ArrayParams::new();
                    for param in params.as_array().expect("params are an array") {
                        array.insert(param)?;
                    }
                    let params = array;
                    let _: Value = client.request(method, params).await?;
                    answered += 1;
                }
                anyhow::Ok(answered)
            });
        }
        let mut answered = 0;
        while let Some(done) = tasks.join_next().await {
            answered += done??;
        }
        let per_second = answered as f64 / start.elapsed().as_secs_f64();
        println!(
            "  {:<22} {method}: {per_second:.0}/s ({clients} clients)",
            short_url(&self.url)
        );
        Ok(per_second)
    }
}

/// Sends one sender's transactions in nonce order as a wallet that rebroadcasts would, and
/// returns once the last is mined. A refused send (a full pool) is retried every 10 ms; a
/// transaction the node accepted and later dropped (a full pool evicts the tail of a sender
/// beyond its guaranteed slots, as geth's does, and the sender's next ones then wait behind
/// the gap) is sent again from the first nonce missing. Tells `accepted(index, is_last, hash,
/// when)` of each transaction's first acceptance.
async fn send_in_order(
    client: &HttpClient,
    signed: Signed,
    start: Instant,
    accepted: impl Fn(usize, bool, &str, Duration),
) -> anyhow::Result<Sent> {
    let Signed {
        sender,
        first_nonce,
        transactions,
    } = signed;
    let count = transactions.len();
    let end = first_nonce + count as u64;
    // The first index from which the pool is missing a transaction, by its pending nonce.
    let missing = |pending: u64| (pending.clamp(first_nonce, end) - first_nonce) as usize;
    let (mut next, mut told, mut sent_again) = (0, 0, 0);
    let mut refused_since: Option<Instant> = None;
    let mut checked = Instant::now();
    loop {
        if next == count {
            if nonce_at(client, sender, "latest").await? >= end {
                break;
            }
            next = missing(nonce_at(client, sender, "pending").await?);
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(600),
                "{sender}'s transactions not mined in 600 s"
            );
            if next == count {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            continue;
        }
        let (raw, hash) = &transactions[next];
        let mut already_known = false;
        if let Err(error) = client
            .request::<Value, _>("eth_sendRawTransaction", rpc_params![raw])
            .await
        {
            let text = error.to_string();
            already_known = holds_it_already(&text);
            if !already_known {
                let since = *refused_since.get_or_insert_with(Instant::now);
                anyhow::ensure!(
                    since.elapsed() < Duration::from_secs(60),
                    "{hash} refused for 60 s: {text}"
                );
                if checked.elapsed() >= Duration::from_secs(1) {
                    checked = Instant::now();
                    next = next.min(missing(nonce_at(client, sender, "pending").await?));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        }
        refused_since = None;
        if next == told {
            accepted(next, next + 1 == count, hash, start.elapsed());
            told += 1;
        } else if !already_known {
            sent_again += 1;
        }
        next += 1;
    }
    Ok(Sent {
        hashes: transactions.into_iter().map(|(_, hash)| hash).collect(),
        sent_again,
    })
}

/// What [`send_in_order`] sent.
struct Sent {
    hashes: Vec<String>,
    /// Transactions accepted, dropped by the node and accepted again.
    sent_again: usize,
}

/// `sender`'s nonce at `block` ("latest": mined; "pending": with the pool's run after it).
async fn nonce_at(client: &HttpClient, sender: Address, block: &str) -> anyhow::Result<u64> {
    number(
        client,
        "eth_getTransactionCount",
        rpc_params![sender, block],
    )
    .await
}

/// A JSON-RPC answer that is a hex quantity, as a number.
async fn number(
    client: &HttpClient,
    method: &str,
    params: jsonrpsee::core::params::ArrayParams,
) -> anyhow::Result<u64> {
    let hex: String = client.request(method, params).await?;
    Ok(u64::from_str_radix(hex.trim_start_matches("0x"), 16)?)
}

/// One sender's signed transactions, consecutive nonces from `first_nonce`.
struct Signed {
    sender: Address,
    first_nonce: u64,
    /// Raw transaction and hash, both as hex.
    transactions: Vec<(String, String)>,
}

/// What every sender of a run pays (see [`Node::fees`]).
#[derive(Clone, Copy)]
struct Fees {
    max_fee: u128,
    tip: u128,
}

/// The lowest fee cap a run signs with, 1,000 gwei: from the 0.2–1 gwei of a fresh devnet or
/// anvil, 59 to 72 full blocks in a row to reach.
const FEE_CAP: u128 = 1_000_000_000_000;

/// Whether a node's refusal of a transaction says it holds that transaction already: geth's and
/// reth's "already known", anvil's "transaction already imported". Such a send is not refused:
/// retried as refused, a transaction anvil already held (or had mined) was sent for 60 s until
/// the bench gave up (a CI run failed so).
fn holds_it_already(error: &str) -> bool {
    error.contains("already known") || error.contains("already imported")
}

#[cfg(test)]
mod tests {
    use super::holds_it_already;

    #[test]
    fn each_client_s_way_of_saying_it_holds_a_transaction_counts() {
        for said in [
            "ErrorObject { code: ServerError(-32000), message: \"already known\", data: None }",
            "ErrorObject { code: ServerError(-32003), message: \"transaction already imported\", data: None }",
        ] {
            assert!(holds_it_already(said), "{said}");
        }
        assert!(!holds_it_already("nonce too low"));
        assert!(!holds_it_already("replacement transaction underpriced"));
    }
}
