//! `ankr oracle relay | request | status`, and the Native Oracle part of `ankr devnet`: a local
//! HTTPS data source with its own CA (a price feed and a real-estate listing), the relay with
//! a SIMULATED oracle enclave, and a first request of the example consumer.

use crate::wallet::{Wallet, parse_key};
use alloy_primitives::{Address, Bytes, U256};
use alloy_rpc_types_eth::{Filter, TransactionReceipt};
use alloy_sol_types::{SolCall, SolEvent, SolValue};
use ankr_client::attest::AttestationClient;
use ankr_client::eth::EthApiClient;
use ankr_contracts::genesis::NATIVE_ORACLE_ADDRESS;
use ankr_contracts::{NativeOracle, PriceConsumer};
use ankr_node::devnet;
use ankr_oracle::datagram::kind;
use ankr_oracle::extract::ValueQuery;
use ankr_oracle::relay::RelayConfig;
use ankr_oracle::source::{LocalSource, Route};
use ankr_oracle::{FetchLimits, OracleEnclave};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(clap::Args)]
pub struct OracleArgs {
    /// JSON-RPC URL of a node.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// Hex secret key of the account that pays (request; relay: deliveries).
    #[arg(long, global = true, env = "ANKR_KEY", hide_env_values = true)]
    key: Option<String>,
    #[command(subcommand)]
    command: OracleCommand,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Kind {
    Json,
    Xml,
    Document,
}

#[derive(clap::Subcommand)]
enum OracleCommand {
    /// Serve requests: follow the NativeOracle contract, answer through a SIMULATED oracle
    /// enclave (kept in --enclave-dir), deliver from --key's account.
    Relay {
        #[arg(long)]
        enclave_dir: PathBuf,
        /// The attestation service that certifies the enclave (it registers and renews).
        #[arg(long)]
        attestation: Option<String>,
        /// Extra trusted root certificates (PEM) besides the system's, e.g. a local source's CA.
        #[arg(long = "ca")]
        cas: Vec<PathBuf>,
        /// Blocks a request waits before it is served.
        #[arg(long, default_value_t = 1)]
        confirmations: u64,
        /// Also fetch from loopback and private networks (10.x, 192.168.x, …): off by
        /// default, so that a request cannot read this host's own services or network.
        #[arg(long)]
        allow_private_sources: bool,
        /// Serve the relay's Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9101).
        #[arg(long)]
        metrics: Option<std::net::SocketAddr>,
    },
    /// Ask for a value (or a document) over HTTPS; prints the request id.
    Request {
        #[arg(long, value_enum, default_value = "json")]
        kind: Kind,
        #[arg(long)]
        url: String,
        /// JSONPath (`$.a.b[0]`) or XML path (`/a/b[2]/@c`); unused for documents.
        #[arg(long, default_value = "$")]
        path: String,
        /// uint256, int256, bool, string, bytes32 or bytes.
        #[arg(long = "type", default_value = "string")]
        result_type: String,
        /// Numbers are multiplied by 10^decimals before they become integers.
        #[arg(long, default_value_t = 0)]
        decimals: u8,
        /// Seal the parameters (HPKE) to this oracle enclave's published key: only ciphertext
        /// goes on chain.
        #[arg(long)]
        private_to: Option<Address>,
    },
    /// Show a request's state and, once delivered, its code and data.
    Status { id: u64 },
}

const STATES: [&str; 5] = ["none", "pending", "delivered", "cancelled", "expired"];

pub async fn run(args: OracleArgs) -> anyhow::Result<()> {
    let wallet = async || Wallet::connect(&args.rpc, args.key.as_deref()).await;
    match args.command {
        OracleCommand::Relay {
            enclave_dir,
            attestation,
            cas,
            confirmations,
            allow_private_sources,
            metrics,
        } => {
            let key = args
                .key
                .context("the relay needs --key to pay deliveries")?;
            let cas: Vec<&Path> = cas.iter().map(PathBuf::as_path).collect();
            let limits = FetchLimits {
                allow_private_addresses: allow_private_sources,
                ..FetchLimits::default()
            };
            let enclave = OracleEnclave::open(&enclave_dir, &cas, limits)?;
            println!("oracle enclave {} (SIMULATED)", enclave.address());
            let config = RelayConfig {
                rpc_url: args.rpc,
                accounts: vec![parse_key(&key)?],
                enclave: Arc::new(enclave),
                attestation: attestation
                    .map(|url| AttestationClient::new(&url))
                    .transpose()?,
                confirmations,
                state_file: enclave_dir.join("relay.state"),
                poll: Duration::from_millis(500),
                stats: Default::default(),
            };
            let _metrics = match metrics {
                Some(addr) => {
                    let (url, server) = serve_relay_metrics(addr, config.stats.clone()).await?;
                    println!("metrics {url}");
                    Some(server)
                }
                None => None,
            };
            let (stop, stopped) = watch::channel(false);
            let relay = tokio::spawn(ankr_oracle::relay::run(config, stopped));
            tokio::signal::ctrl_c().await?;
            let _ = stop.send(true);
            relay.await?;
        }
        OracleCommand::Request {
            kind,
            url,
            path,
            result_type,
            decimals,
            private_to,
        } => {
            let wallet = wallet().await?;
            let (kind, params) = match kind {
                Kind::Document => (kind::DOCUMENT, url.abi_encode()),
                Kind::Json | Kind::Xml => (
                    if matches!(kind, Kind::Json) {
                        kind::JSON
                    } else {
                        kind::XML
                    },
                    ValueQuery {
                        url,
                        path,
                        result_type,
                        decimals,
                    }
                    .encode(),
                ),
            };
            let (kind, params) = match private_to {
                None => (kind, params),
                Some(enclave) => {
                    let out = wallet
                        .call(
                            NATIVE_ORACLE_ADDRESS,
                            NativeOracle::encryptionKeyOfCall(enclave).abi_encode(),
                        )
                        .await?;
                    let key = alloy_primitives::B256::from_slice(&out);
                    anyhow::ensure!(!key.is_zero(), "enclave {enclave} has published no key");
                    let chain_id = wallet.chain.chain_id();
                    let sealed = ankr_oracle::private::seal_request(
                        enclave,
                        key,
                        chain_id,
                        NATIVE_ORACLE_ADDRESS,
                        wallet.address()?,
                        kind,
                        &params,
                        None,
                    );
                    (kind | ankr_oracle::private::PRIVATE, sealed)
                }
            };
            // The caller is an account, so no callback gas: the answer is read with `status`.
            let fee = minimum_fee(&wallet, 0).await?;
            let call = NativeOracle::requestCall {
                kind,
                params: params.into(),
                callbackSelector: Default::default(),
                callbackGas: 0,
            };
            let receipt = wallet
                .send(NATIVE_ORACLE_ADDRESS, fee, call.abi_encode())
                .await?;
            let id = request_id(&receipt)?;
            println!("request {id} (fee {fee} wei)");
        }
        OracleCommand::Status { id } => {
            let wallet = wallet().await?;
            let out = wallet
                .call(
                    NATIVE_ORACLE_ADDRESS,
                    NativeOracle::requestsCall(id).abi_encode(),
                )
                .await?;
            let request = NativeOracle::requestsCall::abi_decode_returns(&out)?;
            let state = STATES
                .get(request.state as usize)
                .copied()
                .unwrap_or("unknown");
            println!("request {id}: {state}");
            if state == "none" {
                return Ok(());
            }
            println!(
                "requester {} · fee {} wei · deadline block {}",
                request.requester, request.fee, request.deadline
            );
            if let Some((code, data)) = delivered(&wallet, id).await? {
                println!(
                    "code {code} · data 0x{}",
                    alloy_primitives::hex::encode(&data)
                );
                if let Ok(text) = String::abi_decode(&data) {
                    println!("as a string: {text}");
                } else if data.len() == 32 {
                    println!("as a number: {}", U256::from_be_slice(&data));
                }
            }
        }
    }
    Ok(())
}

/// (Gmin + callback gas) · P, read from the contract.
async fn minimum_fee(wallet: &Wallet, callback_gas: u64) -> anyhow::Result<U256> {
    let read = |call: Vec<u8>| async move {
        anyhow::Ok(U256::from_be_slice(
            &wallet.call(NATIVE_ORACLE_ADDRESS, call).await?,
        ))
    };
    let price = read(NativeOracle::gasPriceCall {}.abi_encode()).await?;
    let min_gas = read(NativeOracle::minGasCall {}.abi_encode()).await?;
    Ok((min_gas + U256::from(callback_gas)) * price)
}

/// The id in a receipt's `RequestInfo` log.
fn request_id(receipt: &TransactionReceipt) -> anyhow::Result<u64> {
    ankr_client::receipt_events::<NativeOracle::RequestInfo>(receipt)
        .first()
        .map(|info| info.id)
        .context("no RequestInfo in the receipt")
}

/// The code and data a request was delivered with: from the `Delivered` log's transaction,
/// a `deliver` or a relay's `deliverBatch`.
async fn delivered(wallet: &Wallet, id: u64) -> anyhow::Result<Option<(u16, Bytes)>> {
    let filter = Filter::new()
        .address(NATIVE_ORACLE_ADDRESS)
        .from_block(0)
        .event_signature(NativeOracle::Delivered::SIGNATURE_HASH)
        .topic1(alloy_primitives::B256::from(U256::from(id)));
    let logs = wallet.chain.client().logs(filter).await?;
    let Some(hash) = logs.first().and_then(|log| log.transaction_hash) else {
        return Ok(None);
    };
    let tx = wallet
        .chain
        .client()
        .transaction_by_hash(hash)
        .await?
        .context("the delivery's transaction is gone")?;
    use alloy_consensus::Transaction;
    if let Ok(call) = NativeOracle::deliverCall::abi_decode(tx.input()) {
        return Ok(Some((call.code, call.data)));
    }
    let batch = NativeOracle::deliverBatchCall::abi_decode(tx.input())
        .context("the delivery's transaction is neither deliver nor deliverBatch")?;
    let delivery = batch
        .deliveries
        .into_iter()
        .find(|delivery| delivery.id == id)
        .context("the delivery's batch does not carry the request")?;
    Ok(Some((delivery.code, delivery.data)))
}

/// The oracle side of `ankr devnet`.
pub struct DevnetOracle {
    pub source: LocalSource,
    pub enclave: Address,
    /// The relay's Prometheus metrics (`/metrics` on a free loopback port).
    pub metrics_url: String,
    stop: watch::Sender<bool>,
    relay: tokio::task::JoinHandle<()>,
    metrics: jsonrpsee::server::ServerHandle,
}

/// Serves `stats` as Prometheus text at `addr`'s `/metrics`; returns its URL and the server.
pub async fn serve_relay_metrics(
    addr: std::net::SocketAddr,
    stats: Arc<ankr_oracle::relay::RelayStats>,
) -> anyhow::Result<(String, jsonrpsee::server::ServerHandle)> {
    let render = Arc::new(move || ankr_prometheus::render_samples(&stats.samples()));
    let (local, handle) = ankr_prometheus::serve_metrics(addr, render).await?;
    Ok((
        format!("http://{local}{}", ankr_prometheus::METRICS_PATH),
        handle,
    ))
}

impl DevnetOracle {
    /// Serves the example feeds over HTTPS, opens the oracle enclave (trusting the feeds' CA
    /// and `extra_cas`) and starts the relay against `rpc_url`.
    pub async fn start(
        dir: &Path,
        rpc_url: &str,
        attestation_url: &str,
        extra_cas: &[PathBuf],
    ) -> anyhow::Result<Self> {
        let source = LocalSource::start(&dir.join("source"), example_feeds()).await?;
        let mut cas = vec![source.ca_file.as_path()];
        cas.extend(extra_cas.iter().map(PathBuf::as_path));
        // The example feeds are served on loopback.
        let limits = FetchLimits {
            allow_private_addresses: true,
            ..FetchLimits::default()
        };
        let enclave = OracleEnclave::open(&dir.join("enclave"), &cas, limits)?;
        let address = enclave.address();
        let config = RelayConfig {
            rpc_url: rpc_url.to_string(),
            accounts: vec![devnet::relay_account().secret],
            enclave: Arc::new(enclave),
            attestation: Some(AttestationClient::new(attestation_url)?),
            confirmations: 1,
            state_file: dir.join("relay.state"),
            poll: Duration::from_millis(500),
            stats: Default::default(),
        };
        let (metrics_url, metrics) = serve_relay_metrics(
            std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
            config.stats.clone(),
        )
        .await?;
        let (stop, stopped) = watch::channel(false);
        let relay = tokio::spawn(ankr_oracle::relay::run(config, stopped));
        Ok(Self {
            source,
            enclave: address,
            metrics_url,
            stop,
            relay,
            metrics,
        })
    }

    /// The example consumer asks for the ANKR/USD price; returns the value and how many
    /// blocks the answer took.
    pub async fn demonstrate(&self, rpc_url: &str) -> anyhow::Result<(U256, u64)> {
        let key =
            alloy_primitives::hex::encode(devnet::oracle_demo_account().secret.secret_bytes());
        let wallet = Wallet::connect(rpc_url, Some(&key)).await?;
        let consumer = devnet::PRICE_CONSUMER_ADDRESS;
        let read = |call: Vec<u8>| {
            let wallet = &wallet;
            async move { anyhow::Ok(U256::from_be_slice(&wallet.call(consumer, call).await?)) }
        };
        let before = read(PriceConsumer::answersCall {}.abi_encode()).await?;
        let params = ValueQuery {
            url: self.source.url("/ankr-usd.json"),
            path: "$.ankr.usd".into(),
            result_type: "uint256".into(),
            decimals: 6,
        }
        .encode();
        let callback_gas = 150_000;
        let fee = minimum_fee(&wallet, callback_gas).await?;
        let call = PriceConsumer::askCall {
            kind: kind::JSON,
            params: params.into(),
            callbackGas: callback_gas as u32,
        };
        let receipt = wallet.send(consumer, fee, call.abi_encode()).await?;
        let asked_in = receipt
            .block_number
            .context("a mined receipt has its block")?;
        let deadline = Instant::now() + Duration::from_secs(120);
        while read(PriceConsumer::answersCall {}.abi_encode()).await? == before {
            anyhow::ensure!(
                Instant::now() < deadline,
                "the oracle did not answer in 2 minutes"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let value = read(PriceConsumer::lastValueCall {}.abi_encode()).await?;
        let now = wallet.chain.head().await?;
        Ok((value, now - asked_in))
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.relay.await;
        let _ = self.metrics.stop();
    }
}

/// The devnet's data: a price feed (JSON) and a real-estate listing in the spirit of the
/// whitepaper's MLS example (XML, and the whole document for kind 2).
fn example_feeds() -> std::collections::HashMap<String, Route> {
    let json = |body: &str| Route::Document {
        content_type: "application/json",
        body: body.as_bytes().to_vec(),
    };
    [
        (
            "/ankr-usd.json".to_string(),
            json(r#"{"ankr":{"usd":"0.031234","eur":"0.028871"},"source":"ankr devnet example feed"}"#),
        ),
        (
            "/mls/listing-1001.xml".to_string(),
            Route::Document {
                content_type: "application/xml",
                body: br#"<listing id="1001"><address>12 Loopback Lane</address><price currency="USD">450000</price><bedrooms>3</bedrooms><status>active</status></listing>"#.to_vec(),
            },
        ),
    ]
    .into()
}
