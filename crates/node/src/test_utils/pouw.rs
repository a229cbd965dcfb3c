//! What the PoUW tests share: a node on loopback (with or without its built-in miner), a
//! PoUW spec with enclaves registered at genesis, and an external miner's round trip through
//! `ankr_getBlockTemplate` and `ankr_submitBlock`.

use crate::miner::MinerConfig;
use crate::{DevSealing, Node, NodeConfig, devnet};
use alloy_primitives::{Address, U256, hex};
use alloy_rlp::Decodable;
use ankr_enclave::workloads::builtin;
use ankr_enclave::{Enclave, SimulatedEnclave, Subtask, Template};
use ankr_types::{Block, ChainSpec, Seal, SealKind};
use jsonrpsee::core::{client::ClientT, params::ArrayParams};
use jsonrpsee::http_client::HttpClient;
use serde_json::{Value, json};
use std::sync::Arc;

/// A JSON-RPC request with positional `params`; a refusal as (code, message).
pub async fn call(
    client: &HttpClient,
    method: &str,
    params: Value,
) -> Result<Value, (i32, String)> {
    let mut array = ArrayParams::new();
    for p in params.as_array().unwrap() {
        array.insert(p).unwrap();
    }
    client
        .request::<Value, _>(method, array)
        .await
        .map_err(|e| match e {
            jsonrpsee::core::ClientError::Call(e) => (e.code(), e.message().to_string()),
            other => panic!("transport error: {other}"),
        })
}

/// A node on loopback in a fresh folder that does not dev-seal, mining with `mining` if given.
pub async fn start(
    spec: ChainSpec,
    mining: Option<MinerConfig>,
) -> (tempfile::TempDir, Node, HttpClient) {
    super::start_node(spec, DevSealing::Off, mining).await
}

/// A PoUW devnet spec trusting `root` with `enclaves` registered at genesis (registrations
/// lasting `period` blocks), the given difficulty and a 1 s target.
pub fn spec(
    root: Address,
    enclaves: &[Arc<SimulatedEnclave>],
    period: u64,
    difficulty: u64,
) -> ChainSpec {
    let bootstrap = enclaves
        .iter()
        .map(|e| (e.address(), e.platform_id()))
        .collect();
    let mut spec = devnet::pouw_spec_with_period(root, bootstrap, period);
    spec.genesis_difficulty = U256::from(difficulty);
    spec.target_block_time_ms = 1_000;
    spec
}

/// Runs one subtask of built-in work (the MLP) for `block`'s template in `enclave` and puts
/// the seal in the header; whether it won.
pub fn seal(enclave: &SimulatedEnclave, block: &mut Block, index: u64) -> bool {
    let mlp = &builtin()[2];
    let subtask = Subtask {
        task_id: mlp.task_id(),
        index,
        module: mlp.module.clone(),
        input: [1u32.to_le_bytes(), (index as u32).to_le_bytes()]
            .concat()
            .into(),
        budget: 1 << 32,
    };
    let template = Template {
        hash: block.header.template_hash(),
        difficulty: block.header.difficulty,
    };
    let report = enclave.run_subtask(&template, &subtask).unwrap();
    block.header.seal = Seal {
        kind: SealKind::UsefulWork,
        proof: report.seal.encode(),
    };
    report.won
}

/// A template from the node, as an external miner gets it.
pub async fn template(client: &HttpClient) -> Block {
    let t = call(
        client,
        "ankr_getBlockTemplate",
        json!([Address::repeat_byte(0xee)]),
    )
    .await
    .unwrap();
    let raw = hex::decode(t["block"].as_str().unwrap()).unwrap();
    let block = Block::decode(&mut raw.as_slice()).unwrap();
    assert_eq!(t["number"].as_u64().unwrap(), block.header.number);
    assert_eq!(
        t["templateHash"].as_str().unwrap(),
        block.header.template_hash().to_string()
    );
    block
}

/// Submits a sealed block; a refusal as (code, message).
pub async fn submit(client: &HttpClient, block: &Block) -> Result<Value, (i32, String)> {
    let raw = format!("0x{}", hex::encode(alloy_rlp::encode(block)));
    call(client, "ankr_submitBlock", json!([raw])).await
}

/// A node with its data in `dir`, on the libp2p network on loopback (dialling `boot_peers`),
/// mining with `mining` if given.
pub async fn start_on_network(
    dir: &std::path::Path,
    spec: ChainSpec,
    mining: Option<MinerConfig>,
    boot_peers: Vec<ankr_network::Multiaddr>,
) -> Result<Node, crate::NodeError> {
    Node::start(NodeConfig {
        operator: None,
        data_dir: dir.to_path_buf(),
        spec,
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        sealing: DevSealing::Off,
        beneficiary: Address::repeat_byte(0xbe),
        mining,
        network: Some(ankr_network::NetworkConfig {
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            boot_peers,
            key_file: dir.join("network.key"),
            discovery: true,
        }),
        pool: Default::default(),
    })
    .await
}

/// A Proof-of-Useful-Work network on loopback as tests and benchmarks build it: an
/// attestation service that provisioned `platforms` simulated platforms, an enclave on each,
/// a PoUW spec registering them at genesis (1 s blocks at the given difficulty), and nodes
/// started one by one, each in its own folder and on the libp2p network.
pub struct MiningCluster {
    pub spec: ChainSpec,
    pub enclaves: Vec<Arc<SimulatedEnclave>>,
    /// The attestation service's URL, for miners' registrations.
    pub attestation_url: String,
    attestation: ankr_client::attest::AttestationServer,
    dirs: Vec<tempfile::TempDir>,
}

impl MiningCluster {
    /// Provisions `platforms` platforms (keys derived from `seed`) and writes their spec.
    pub async fn new(seed: &str, platforms: u8, difficulty: u64) -> std::io::Result<Self> {
        let key = |parts: &[&[u8]]| {
            secp256k1::SecretKey::from_byte_array(alloy_primitives::keccak256(parts.concat()).0)
                .expect("a keccak hash is a valid key")
        };
        let service = ankr_pouw::AttestationService::new(key(&[seed.as_bytes(), b"root"]));
        let enclaves: Vec<Arc<SimulatedEnclave>> = (0..platforms)
            .map(|i| {
                let platform = alloy_primitives::keccak256([seed.as_bytes(), &[i]].concat());
                Arc::new(SimulatedEnclave::new(
                    key(&[seed.as_bytes(), &[i, 0x55]]),
                    platform,
                    ankr_enclave::Limits::default(),
                ))
            })
            .collect();
        for enclave in &enclaves {
            service
                .provision(enclave.platform_address())
                .map_err(std::io::Error::other)?;
        }
        let root = service.root_address();
        let attestation =
            ankr_client::attest::AttestationServer::start(service, "127.0.0.1:0".parse().unwrap())
                .await?;
        let mut spec = devnet::pouw_spec(
            root,
            enclaves
                .iter()
                .map(|e| (e.address(), e.platform_id()))
                .collect(),
        );
        spec.target_block_time_ms = 1_000;
        spec.genesis_difficulty = U256::from(difficulty);
        Ok(Self {
            spec,
            enclaves,
            attestation_url: format!("http://{}", attestation.local_addr),
            attestation,
            dirs: Vec::new(),
        })
    }

    /// Mining with enclave `i`, paid by the devnet's miner account `i`.
    pub fn miner(&self, i: usize) -> MinerConfig {
        let account = devnet::miner_account(i as u32);
        MinerConfig {
            enclave: self.enclaves[i].clone(),
            attestation: ankr_client::attest::AttestationClient::new(&self.attestation_url)
                .expect("a loopback URL"),
            account: account.secret,
            beneficiary: account.address,
            workloads: builtin(),
            builtin_duty: 1.0,
            stats: Default::default(),
        }
    }

    /// Starts a node in a fresh folder, mining with `mining` if given, dialling `boot_peers`.
    pub async fn start_node(
        &mut self,
        mining: Option<MinerConfig>,
        boot_peers: Vec<ankr_network::Multiaddr>,
    ) -> Result<Node, crate::NodeError> {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let node = start_on_network(dir.path(), self.spec.clone(), mining, boot_peers).await?;
        self.dirs.push(dir);
        Ok(node)
    }

    /// Starts a mining node for each enclave, the first one the others' boot peer.
    pub async fn start_miners(&mut self) -> Result<Vec<Node>, crate::NodeError> {
        let mut nodes: Vec<Node> = Vec::new();
        for i in 0..self.enclaves.len() {
            let boot = nodes
                .first()
                .and_then(|n| n.network.as_ref())
                .map(|n| vec![n.listen_addr.clone()])
                .unwrap_or_default();
            nodes.push(self.start_node(Some(self.miner(i)), boot).await?);
        }
        Ok(nodes)
    }

    /// Stops the attestation service (stop the nodes first).
    pub async fn stop(self) {
        self.attestation.stop().await;
    }
}
