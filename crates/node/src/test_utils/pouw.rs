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
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
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

/// A node on loopback in a fresh folder, mining with `mining` if given.
pub async fn start(
    spec: ChainSpec,
    mining: Option<MinerConfig>,
) -> (tempfile::TempDir, Node, HttpClient) {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NodeConfig {
        data_dir: dir.path().to_path_buf(),
        spec,
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        sealing: DevSealing::Off,
        beneficiary: Address::repeat_byte(0xbe),
        mining,
        network: None,
    })
    .await
    .unwrap();
    let client = HttpClientBuilder::default().build(node.rpc_url()).unwrap();
    (dir, node, client)
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
