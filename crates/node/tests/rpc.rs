//! A real node on 127.0.0.1 answering real JSON-RPC over HTTP: bad input gets a clear error
//! with Ethereum's code, and the node stays up with nothing lost.

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, hex};
use ankr_node::test_utils::pouw::call;
use ankr_node::{DevSealing, Node, devnet};
use ankr_types::{
    TxEnvelope,
    recovery::{SECP256K1N, sign_hash, sign_transaction},
};
use jsonrpsee::core::{client::ClientT, params::ArrayParams};
use jsonrpsee::http_client::HttpClient;
use serde_json::{Value, json};
use std::time::Duration;

async fn start() -> (tempfile::TempDir, Node, HttpClient) {
    start_sealing(DevSealing::Instant).await
}

async fn start_sealing(sealing: DevSealing) -> (tempfile::TempDir, Node, HttpClient) {
    ankr_node::test_utils::start_node(devnet::spec(), sealing, None).await
}

fn quantity(value: &Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn transfer(nonce: u64, chain_id: u64, input: Bytes) -> TxEip1559 {
    TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000 + 16 * input.len() as u64 * 4,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x42)),
        value: U256::from(1000),
        input,
        ..Default::default()
    }
}

fn raw(tx: &TxEnvelope) -> String {
    format!("0x{}", hex::encode(tx.encoded_2718()))
}

async fn wait_for_receipt(client: &HttpClient, hash: &Value) -> Value {
    for _ in 0..200 {
        let r = call(client, "eth_getTransactionReceipt", json!([hash]))
            .await
            .unwrap();
        if !r.is_null() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no receipt for {hash}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors_and_the_node_stays_up() {
    let (_dir, node, client) = start().await;
    let key = devnet::accounts()[0].secret;

    // Malformed RLP, bad parameter types, unknown block tags: invalid params.
    let (code, message) = call(&client, "eth_sendRawTransaction", json!(["0x02c0ffee"]))
        .await
        .unwrap_err();
    assert_eq!(code, -32602, "{message}");
    assert!(
        message.contains("invalid transaction encoding"),
        "{message}"
    );
    let (code, _) = call(&client, "eth_getBalance", json!([17, "latest"]))
        .await
        .unwrap_err();
    assert_eq!(code, -32602);
    let (code, _) = call(&client, "eth_getBlockByNumber", json!(["bogus", false]))
        .await
        .unwrap_err();
    assert_eq!(code, -32602);
    let (code, _) = call(
        &client,
        "eth_getLogs",
        json!([{"fromBlock": 1, "topics": "x"}]),
    )
    .await
    .unwrap_err();
    assert_eq!(code, -32602);

    // Refused transactions: -32000 with the rule in geth's words.
    let wrong_chain = sign_transaction(&key, transfer(0, 1, Bytes::new()));
    let (code, message) = call(
        &client,
        "eth_sendRawTransaction",
        json!([raw(&wrong_chain)]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (code, message.contains("invalid chain id")),
        (-32000, true),
        "{message}"
    );

    let unsigned = transfer(0, devnet::DEVNET_CHAIN_ID, Bytes::new());
    let good = sign_hash(&key, unsigned.signature_hash());
    let twin = alloy_primitives::Signature::new(good.r(), SECP256K1N - good.s(), !good.v());
    let high_s = TxEnvelope::from(unsigned.into_signed(twin));
    let (code, message) = call(&client, "eth_sendRawTransaction", json!([raw(&high_s)]))
        .await
        .unwrap_err();
    assert_eq!(code, -32000);
    assert!(message.contains("EIP-2"), "{message}");

    let oversized = sign_transaction(
        &key,
        transfer(0, devnet::DEVNET_CHAIN_ID, Bytes::from(vec![1u8; 200_000])),
    );
    let (_, message) = call(&client, "eth_sendRawTransaction", json!([raw(&oversized)]))
        .await
        .unwrap_err();
    assert!(message.contains("oversized"), "{message}");

    // A good transaction still goes through, and its receipt, logs and block are served.
    let tx = sign_transaction(&key, transfer(0, devnet::DEVNET_CHAIN_ID, Bytes::new()));
    let hash = call(&client, "eth_sendRawTransaction", json!([raw(&tx)]))
        .await
        .unwrap();
    let receipt = wait_for_receipt(&client, &hash).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(receipt["gasUsed"], "0x5208");
    let (code, message) = call(&client, "eth_sendRawTransaction", json!([raw(&tx)]))
        .await
        .unwrap_err();
    assert_eq!(code, -32000);
    assert!(
        message.contains("nonce too low") || message.contains("already known"),
        "{message}"
    );

    let block = call(
        &client,
        "eth_getBlockByNumber",
        json!([receipt["blockNumber"], true]),
    )
    .await
    .unwrap();
    assert_eq!(block["transactions"][0]["hash"], hash);
    assert_eq!(block["hash"], receipt["blockHash"]);
    let balance = call(
        &client,
        "eth_getBalance",
        json!(["0x4242424242424242424242424242424242424242", "latest"]),
    )
    .await
    .unwrap();
    assert_eq!(balance, "0x3e8");
    assert_eq!(
        call(&client, "eth_getBlockByNumber", json!(["0x999999", false]))
            .await
            .unwrap(),
        Value::Null
    );
    // State at an earlier block: before the transfer the recipient had nothing, and the
    // sender's nonce was 0.
    let recipient = "0x4242424242424242424242424242424242424242";
    let before = format!("{:#x}", quantity(&receipt["blockNumber"]) - 1);
    let past = call(&client, "eth_getBalance", json!([recipient, before]))
        .await
        .unwrap();
    assert_eq!(past, "0x0");
    let earliest = call(&client, "eth_getBalance", json!([recipient, "earliest"]))
        .await
        .unwrap();
    assert_eq!(earliest, "0x0");
    let sender = format!("{:?}", devnet::accounts()[0].address);
    let nonce = call(&client, "eth_getTransactionCount", json!([sender, before]))
        .await
        .unwrap();
    assert_eq!(nonce, "0x0");
    let by_hash = json!([recipient, {"blockHash": receipt["blockHash"]}]);
    assert_eq!(
        call(&client, "eth_getBalance", by_hash).await.unwrap(),
        "0x3e8"
    );
    let history = call(&client, "eth_feeHistory", json!(["0x2", "latest", [50.0]]))
        .await
        .unwrap();
    assert_eq!(history["baseFeePerGas"].as_array().unwrap().len(), 3);
    let raw_block = call(
        &client,
        "debug_getRawBlock",
        json!([receipt["blockNumber"]]),
    )
    .await
    .unwrap();
    let decoded =
        ankr_types::Block::decode_exact(&hex::decode(raw_block.as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(
        format!("{:?}", decoded.header.hash()),
        block["hash"].as_str().unwrap()
    );

    // Block filters report new blocks once.
    let filter = call(&client, "eth_newBlockFilter", json!([]))
        .await
        .unwrap();
    let tx = sign_transaction(&key, transfer(1, devnet::DEVNET_CHAIN_ID, Bytes::new()));
    let hash = call(&client, "eth_sendRawTransaction", json!([raw(&tx)]))
        .await
        .unwrap();
    let mined = wait_for_receipt(&client, &hash).await;
    let changes = call(&client, "eth_getFilterChanges", json!([filter]))
        .await
        .unwrap();
    assert!(changes.as_array().unwrap().contains(&mined["blockHash"]));
    assert_eq!(
        call(&client, "eth_getFilterChanges", json!([filter]))
            .await
            .unwrap(),
        json!([])
    );
    assert_eq!(
        call(&client, "eth_uninstallFilter", json!([filter]))
            .await
            .unwrap(),
        json!(true)
    );

    // A batch larger than the limit is refused whole, with a clear error.
    let mut batch = jsonrpsee::core::params::BatchRequestBuilder::new();
    for _ in 0..=ankr_rpc::MAX_BATCH {
        batch.insert("eth_blockNumber", ArrayParams::new()).unwrap();
    }
    let refused = client.batch_request::<Value>(batch).await;
    assert!(refused.is_err(), "an oversized batch must be refused");

    // Pending-transaction filters report what entered the pool since the last poll.
    let pending = call(&client, "eth_newPendingTransactionFilter", json!([]))
        .await
        .unwrap();
    let tx = sign_transaction(&key, transfer(2, devnet::DEVNET_CHAIN_ID, Bytes::new()));
    let hash = call(&client, "eth_sendRawTransaction", json!([raw(&tx)]))
        .await
        .unwrap();
    let changes = call(&client, "eth_getFilterChanges", json!([pending]))
        .await
        .unwrap();
    assert_eq!(changes, json!([hash]));
    let changes = call(&client, "eth_getFilterChanges", json!([pending]))
        .await
        .unwrap();
    assert_eq!(changes, json!([]));

    assert!(
        call(&client, "eth_blockNumber", json!([])).await.is_ok(),
        "the node is still up"
    );
    node.stop().await;
}

/// An `eth_unsubscribe` sent the moment the subscription's id arrives takes it back, as geth's
/// does: jsonrpsee 0.26 writes the id before it records the subscription, and about one such
/// unsubscribe in a hundred answered `false` and left the subscription running (a CI run of
/// `websocket.test.mjs` failed on it). Three rounds in four send it inside a batch, which
/// jsonrpsee answers by another path (rarer there: about one in a thousand; with the batch
/// path left to jsonrpsee this failed two runs of three). An unknown id still answers `false`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsubscribe_sent_as_soon_as_the_id_arrives_takes_the_subscription_back() {
    use jsonrpsee::core::client::ClientT;
    let (_dir, node, _client) = start().await;
    let ws = ankr_node::test_utils::websocket(&node).await;
    for round in 0..4000 {
        let id: String = ws
            .request("eth_subscribe", jsonrpsee::rpc_params!["newHeads"])
            .await
            .unwrap();
        let taken = if round % 4 == 0 {
            ws.request("eth_unsubscribe", jsonrpsee::rpc_params![&id])
                .await
                .unwrap()
        } else {
            // Inside a batch too, beside a call that must still be answered.
            let mut batch = jsonrpsee::core::params::BatchRequestBuilder::new();
            batch
                .insert("eth_unsubscribe", jsonrpsee::rpc_params![&id])
                .unwrap();
            batch
                .insert("eth_chainId", jsonrpsee::rpc_params![])
                .unwrap();
            let answers: Vec<Value> = ws
                .batch_request::<Value>(batch)
                .await
                .unwrap()
                .into_ok()
                .unwrap()
                .collect();
            assert_eq!(answers[1], json!("0xa5b8"), "round {round}");
            answers[0] == json!(true)
        };
        assert!(taken, "round {round}: {id} was not taken back");
    }
    let unknown: bool = ws
        .request(
            "eth_unsubscribe",
            jsonrpsee::rpc_params!["0x00000000000000000000000000000001"],
        )
        .await
        .unwrap();
    assert!(!unknown);
    node.stop().await;
}

/// WebSocket subscriptions as geth and anvil give them (issue 15): the id is a hex string
/// (viem registers string ids only; web3.py's `AsyncWeb3` takes its length), unsubscribe
/// takes it back, and `newPendingTransactions` pushes each pooled transaction's hash, or the
/// transaction itself when asked with `true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_subscriptions_have_hex_ids_and_push_pending_transactions() {
    use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
    let (_dir, node, client) = start().await;
    let ws = ankr_node::test_utils::websocket(&node).await;
    let heads: Subscription<Value> = ws
        .subscribe(
            "eth_subscribe",
            jsonrpsee::rpc_params!["newHeads"],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    match heads.kind() {
        jsonrpsee::core::client::SubscriptionKind::Subscription(
            jsonrpsee::types::SubscriptionId::Str(id),
        ) => {
            assert!(
                id.len() == 34 && id.starts_with("0x") && hex::decode(&id[2..]).is_ok(),
                "{id}"
            );
        }
        other => panic!("not a string id: {other:?}"),
    }
    heads.unsubscribe().await.unwrap();
    let mut hashes: Subscription<Value> = ws
        .subscribe(
            "eth_subscribe",
            jsonrpsee::rpc_params!["newPendingTransactions"],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    let mut full: Subscription<Value> = ws
        .subscribe(
            "eth_subscribe",
            jsonrpsee::rpc_params!["newPendingTransactions", true],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    let refused = ws
        .subscribe::<Value, _>(
            "eth_subscribe",
            jsonrpsee::rpc_params!["newPendingTransactions", "yes"],
            "eth_unsubscribe",
        )
        .await;
    assert!(refused.is_err(), "a bad parameter is refused, not ignored");
    let key = devnet::accounts()[0].secret;
    let tx = sign_transaction(&key, transfer(0, devnet::DEVNET_CHAIN_ID, Bytes::new()));
    let hash = call(&client, "eth_sendRawTransaction", json!([raw(&tx)]))
        .await
        .unwrap();
    let pushed = tokio::time::timeout(Duration::from_secs(5), hashes.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pushed, hash);
    let pushed = tokio::time::timeout(Duration::from_secs(5), full.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pushed["hash"], hash);
    assert_eq!(pushed["nonce"], "0x0");
    assert_eq!(pushed["blockHash"], Value::Null);
    node.stop().await;
}

/// Initcode that reverts with `data` (a call without `to` runs it).
fn reverting_with(data: &[u8]) -> String {
    let mut code = Vec::new();
    let mut padded = data.to_vec();
    padded.resize(data.len().div_ceil(32) * 32, 0);
    for (i, word) in padded.chunks(32).enumerate() {
        code.push(0x7f); // PUSH32 word
        code.extend_from_slice(word);
        code.extend_from_slice(&[0x60, (32 * i) as u8, 0x52]); // PUSH1 offset, MSTORE
    }
    code.extend_from_slice(&[0x60, data.len() as u8, 0x60, 0x00, 0xfd]); // REVERT(0, len)
    format!("0x{}", hex::encode(code))
}

/// Errors in geth's exact words, which tools match on (issue 15): `execution reverted:
/// <reason>` for a reason string or a panic, plain `execution reverted` for none, and
/// `insufficient funds for gas * price + value` from an account that cannot pay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_read_as_geths() {
    use alloy_sol_types::SolError;
    let (_dir, node, client) = start().await;
    let reason = alloy_sol_types::Revert::from("nope").abi_encode();
    let panic = alloy_sol_types::Panic {
        code: U256::from(0x11),
    }
    .abi_encode();
    for (data, expected) in [
        (reason.clone(), "execution reverted: nope"),
        (
            panic,
            "execution reverted: arithmetic underflow or overflow",
        ),
        (Vec::new(), "execution reverted"),
    ] {
        for method in ["eth_call", "eth_estimateGas"] {
            let (code, message) = call(&client, method, json!([{ "data": reverting_with(&data) }]))
                .await
                .unwrap_err();
            assert_eq!((code, message.as_str()), (3, expected), "{method}");
        }
    }
    let broke = Address::repeat_byte(0xb0);
    for method in ["eth_call", "eth_estimateGas"] {
        let (_, message) = call(
            &client,
            method,
            json!([{ "from": broke, "to": Address::repeat_byte(1), "value": "0x1" }]),
        )
        .await
        .unwrap_err();
        assert_eq!(
            message, "insufficient funds for gas * price + value",
            "{method}"
        );
    }
    // The node holds no keys, and says so instead of "method not found".
    let from = devnet::accounts()[0].address;
    for (method, params) in [
        ("eth_sendTransaction", json!([{ "from": from, "to": from }])),
        ("eth_sign", json!([from, "0x00"])),
        ("personal_sign", json!(["0x00", from])),
        ("eth_signTypedData_v4", json!([from, "{}"])),
    ] {
        let (code, message) = call(&client, method, params).await.unwrap_err();
        assert_eq!(code, -32000, "{method}");
        assert!(
            message.contains("holds no keys") && message.contains("eth_sendRawTransaction"),
            "{method}: {message}"
        );
    }
    node.stop().await;
}

/// Multicall3 at 0xcA11…CA11, where viem, wagmi and explorers look for it (issue 15; anvil
/// has none): `aggregate3` with a call allowed to fail, and one that is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_devnet_has_multicall3_at_its_usual_address() {
    use alloy_sol_types::SolCall;
    use ankr_contracts::Multicall3;
    use ankr_contracts::genesis::MULTICALL3_ADDRESS;
    let (_dir, node, client) = start().await;
    let rich = devnet::accounts()[0].address;
    let calls = |allow_failure: bool| Multicall3::aggregate3Call {
        calls: vec![
            Multicall3::Call3 {
                target: MULTICALL3_ADDRESS,
                allowFailure: false,
                callData: Multicall3::getChainIdCall {}.abi_encode().into(),
            },
            Multicall3::Call3 {
                target: MULTICALL3_ADDRESS,
                allowFailure: false,
                callData: Multicall3::getEthBalanceCall { addr: rich }
                    .abi_encode()
                    .into(),
            },
            Multicall3::Call3 {
                target: MULTICALL3_ADDRESS,
                allowFailure: allow_failure,
                callData: vec![0xde, 0xad, 0xbe, 0xef].into(),
            },
        ],
    };
    let out = call(
        &client,
        "eth_call",
        json!([{ "to": MULTICALL3_ADDRESS, "data": Bytes::from(calls(true).abi_encode()) }]),
    )
    .await
    .unwrap();
    let results = Multicall3::aggregate3Call::abi_decode_returns(
        &hex::decode(out.as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].success && results[1].success && !results[2].success);
    assert_eq!(
        U256::from_be_slice(&results[0].returnData),
        U256::from(devnet::DEVNET_CHAIN_ID)
    );
    let balance = call(&client, "eth_getBalance", json!([rich, "latest"]))
        .await
        .unwrap();
    assert_eq!(
        U256::from_be_slice(&results[1].returnData),
        balance.as_str().unwrap().parse::<U256>().unwrap()
    );
    let (_, message) = call(
        &client,
        "eth_call",
        json!([{ "to": MULTICALL3_ADDRESS, "data": Bytes::from(calls(false).abi_encode()) }]),
    )
    .await
    .unwrap_err();
    assert_eq!(message, "execution reverted: Multicall3: call failed");
    node.stop().await;
}

/// Methods tools call that answer from blocks and the pool (issue 15):
/// `eth_getBlockReceipts`, `eth_getTransactionByBlockHashAndIndex`,
/// `eth_getRawTransactionByHash`, `eth_blobBaseFee` (null, as geth on a chain without blobs),
/// and geth's `txpool_status`, `txpool_content`, `txpool_contentFrom`, `txpool_inspect`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_receipts_raw_transactions_and_the_txpool_namespace_answer_as_geths() {
    let key = devnet::accounts()[0].secret;
    let sender = devnet::accounts()[0].address;
    // Mined: a block's receipts, a transaction by block hash and index, its raw bytes.
    let (_dir, node, client) = start().await;
    let tx = sign_transaction(&key, transfer(0, devnet::DEVNET_CHAIN_ID, Bytes::new()));
    let hash = call(&client, "eth_sendRawTransaction", json!([raw(&tx)]))
        .await
        .unwrap();
    let receipt = wait_for_receipt(&client, &hash).await;
    let receipts = call(
        &client,
        "eth_getBlockReceipts",
        json!([receipt["blockNumber"]]),
    )
    .await
    .unwrap();
    assert_eq!(receipts, json!([receipt]));
    let by_hash_block = call(
        &client,
        "eth_getBlockReceipts",
        json!([receipt["blockHash"]]),
    )
    .await
    .unwrap();
    assert_eq!(by_hash_block, receipts);
    assert_eq!(
        call(&client, "eth_getBlockReceipts", json!(["0x999"]))
            .await
            .unwrap(),
        Value::Null
    );
    let by_index = call(
        &client,
        "eth_getTransactionByBlockHashAndIndex",
        json!([receipt["blockHash"], "0x0"]),
    )
    .await
    .unwrap();
    assert_eq!(
        by_index,
        call(&client, "eth_getTransactionByHash", json!([hash]))
            .await
            .unwrap()
    );
    assert_eq!(
        call(
            &client,
            "eth_getTransactionByBlockHashAndIndex",
            json!([receipt["blockHash"], "0x1"])
        )
        .await
        .unwrap(),
        Value::Null
    );
    assert_eq!(
        call(&client, "eth_getRawTransactionByHash", json!([hash]))
            .await
            .unwrap(),
        json!(raw(&tx))
    );
    assert_eq!(
        call(&client, "eth_blobBaseFee", json!([])).await.unwrap(),
        Value::Null
    );
    node.stop().await;

    // Pooled: one transaction that can run, one behind a nonce gap.
    let (_dir, node, client) = start_sealing(DevSealing::Off).await;
    let ready = sign_transaction(&key, transfer(0, devnet::DEVNET_CHAIN_ID, Bytes::new()));
    let gapped = sign_transaction(&key, transfer(2, devnet::DEVNET_CHAIN_ID, Bytes::new()));
    let ready_hash = call(&client, "eth_sendRawTransaction", json!([raw(&ready)]))
        .await
        .unwrap();
    let gapped_hash = call(&client, "eth_sendRawTransaction", json!([raw(&gapped)]))
        .await
        .unwrap();
    assert_eq!(
        call(&client, "eth_getRawTransactionByHash", json!([ready_hash]))
            .await
            .unwrap(),
        json!(raw(&ready))
    );
    assert_eq!(
        call(&client, "txpool_status", json!([])).await.unwrap(),
        json!({ "pending": "0x1", "queued": "0x1" })
    );
    let content = call(&client, "txpool_content", json!([])).await.unwrap();
    let from = sender.to_checksum(None);
    assert_eq!(content["pending"][&from]["0"]["hash"], ready_hash);
    assert_eq!(content["queued"][&from]["2"]["hash"], gapped_hash);
    let mine = call(&client, "txpool_contentFrom", json!([sender]))
        .await
        .unwrap();
    assert_eq!(mine["pending"]["0"]["hash"], ready_hash);
    assert_eq!(mine["queued"]["2"]["hash"], gapped_hash);
    let nobody = call(
        &client,
        "txpool_contentFrom",
        json!([Address::repeat_byte(9)]),
    )
    .await
    .unwrap();
    assert_eq!(nobody, json!({ "pending": {}, "queued": {} }));
    let inspect = call(&client, "txpool_inspect", json!([])).await.unwrap();
    assert_eq!(
        inspect["pending"][&from]["0"],
        format!(
            "{}: 1000 wei + 21000 gas × 10000000000 wei",
            Address::repeat_byte(0x42).to_checksum(None)
        )
    );
    node.stop().await;
}

/// Block tags by the chain's own rules (issue 15): `finalized` is 64 blocks under the head
/// (the fork choice never reorganises deeper), `safe` 6 (natural forks are a block or two
/// deep), `latest` and `pending` the head.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn safe_and_finalized_lag_the_head_by_the_chains_own_depths() {
    let (_dir, node, client) = start().await;
    let key = devnet::accounts()[0].secret;
    let number = async |tag: &str| {
        let block = call(&client, "eth_getBlockByNumber", json!([tag, false]))
            .await
            .unwrap();
        quantity(&block["number"])
    };
    assert_eq!(number("safe").await, 0);
    for nonce in 0..70 {
        let tx = sign_transaction(&key, transfer(nonce, devnet::DEVNET_CHAIN_ID, Bytes::new()));
        let hash = call(&client, "eth_sendRawTransaction", json!([raw(&tx)]))
            .await
            .unwrap();
        wait_for_receipt(&client, &hash).await;
    }
    let head = number("latest").await;
    assert!(head >= 70);
    assert_eq!(number("pending").await, head);
    assert_eq!(number("safe").await, head - 6);
    assert_eq!(number("finalized").await, head - 64);
    node.stop().await;
}

/// EIP-7702 (issue 15): `eth_estimateGas` counts the authorization list (25,000 gas per
/// delegation to an empty account), so a type-4 transaction sent with the estimate is mined;
/// it used to estimate 21,000 and be refused for intrinsic gas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eip7702_estimate_counts_the_authorizations() {
    let (_dir, node, client) = start().await;
    let sender = devnet::accounts()[0].clone();
    // A fresh account delegates to some code; the sender carries its authorization.
    let authority = secp256k1::SecretKey::from_byte_array([0x77; 32]).unwrap();
    let authorization = alloy_eips::eip7702::Authorization {
        chain_id: U256::from(devnet::DEVNET_CHAIN_ID),
        address: Address::repeat_byte(0x44),
        nonce: 0,
    };
    let signature = sign_hash(&authority, authorization.signature_hash());
    let signed = authorization.into_signed(signature);
    let to = Address::repeat_byte(0x99);
    let estimate = call(
        &client,
        "eth_estimateGas",
        json!([{ "from": sender.address, "to": to, "authorizationList": [signed] }]),
    )
    .await
    .unwrap();
    let gas = quantity(&estimate);
    assert!(gas >= 21_000 + 25_000, "estimate {gas}");
    let tx = sign_transaction(
        &sender.secret,
        alloy_consensus::TxEip7702 {
            chain_id: devnet::DEVNET_CHAIN_ID,
            nonce: 0,
            gas_limit: gas,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to,
            authorization_list: vec![signed],
            ..Default::default()
        },
    );
    let hash = call(&client, "eth_sendRawTransaction", json!([raw(&tx)]))
        .await
        .unwrap();
    let receipt = wait_for_receipt(&client, &hash).await;
    assert_eq!(receipt["status"], "0x1");
    node.stop().await;
}

/// geth's overrides for `eth_call` and `eth_estimateGas` (issue 15): an account's code,
/// storage (`state` replaces, `stateDiff` patches), balance; the block's number, time,
/// coinbase and `BLOCKHASH` answers. What cannot be applied is refused with a reason, never
/// ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_and_block_overrides_apply_or_are_refused() {
    let (_dir, node, client) = start().await;
    let contract = Address::repeat_byte(0xc0);
    // Returns one word: SLOAD(0), NUMBER, TIMESTAMP, COINBASE or BLOCKHASH(0x1233).
    let returning = |op: &str| format!("0x{op}60005260206000f3");
    let word = |value: &Value| {
        U256::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    let eth_call = |overrides: Value, blocks: Value| {
        let client = client.clone();
        async move {
            call(
                &client,
                "eth_call",
                json!([{ "to": contract }, "latest", overrides, blocks]),
            )
            .await
        }
    };
    let slot0 = B256::ZERO;
    let patched = eth_call(
        json!({ contract.to_string(): { "code": returning("600054"), "stateDiff": { slot0.to_string(): B256::with_last_byte(42) } } }),
        Value::Null,
    )
    .await
    .unwrap();
    assert_eq!(word(&patched), U256::from(42));
    let replaced = eth_call(
        json!({ contract.to_string(): { "code": returning("600054"), "state": {} } }),
        Value::Null,
    )
    .await
    .unwrap();
    assert_eq!(word(&replaced), U256::ZERO);
    // The block as the overrides say.
    let with_code = |op: &str| json!({ contract.to_string(): { "code": returning(op) } });
    let blocks = json!({
        "number": "0x1234",
        "time": "0x5678",
        "coinbase": Address::repeat_byte(0xcb),
        "blockHash": { "0x1233": B256::repeat_byte(0xbb) },
    });
    assert_eq!(
        word(&eth_call(with_code("43"), blocks.clone()).await.unwrap()),
        U256::from(0x1234)
    );
    assert_eq!(
        word(&eth_call(with_code("42"), blocks.clone()).await.unwrap()),
        U256::from(0x5678)
    );
    assert_eq!(
        word(&eth_call(with_code("41"), blocks.clone()).await.unwrap()),
        U256::from_be_slice(Address::repeat_byte(0xcb).as_slice())
    );
    assert_eq!(
        word(&eth_call(with_code("61123340"), blocks).await.unwrap()),
        U256::from_be_bytes(B256::repeat_byte(0xbb).0)
    );
    // A balance override lets an empty account pay, in a call and in an estimate.
    let broke = Address::repeat_byte(0xb1);
    let transfer = json!({ "from": broke, "to": Address::repeat_byte(2), "value": "0x1000" });
    let rich = json!({ broke.to_string(): { "balance": "0xde0b6b3a7640000" } });
    assert!(
        call(&client, "eth_estimateGas", json!([transfer, "latest"]))
            .await
            .is_err()
    );
    let estimate = call(
        &client,
        "eth_estimateGas",
        json!([transfer, "latest", rich]),
    )
    .await
    .unwrap();
    assert_eq!(quantity(&estimate), 21_000);
    call(&client, "eth_call", json!([transfer, "latest", rich]))
        .await
        .unwrap();
    // Refused with a reason.
    for (overrides, blocks, reason) in [
        (
            json!({ contract.to_string(): { "stat": {} } }),
            Value::Null,
            "unknown field",
        ),
        (
            json!({ contract.to_string(): { "state": {}, "stateDiff": {} } }),
            Value::Null,
            "both 'state' and 'stateDiff'",
        ),
        (
            json!({ contract.to_string(): { "movePrecompileToAddress": contract } }),
            Value::Null,
            "movePrecompileToAddress is not supported",
        ),
        (
            Value::Null,
            json!({ "blobBaseFee": "0x1" }),
            "no blob transactions",
        ),
        (Value::Null, json!({ "gasPrize": "0x1" }), "unknown field"),
    ] {
        let (code, message) = eth_call(overrides, blocks).await.unwrap_err();
        assert_eq!(code, -32602);
        assert!(message.contains(reason), "{message}");
    }
    node.stop().await;
}

/// `eth_getProof` (EIP-1186; issue 15, and what child chains' bridges will need): the account
/// proof verifies against the block's state root and each slot's against the storage hash,
/// for an account, a contract's slots and an account that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eth_get_proof_verifies_against_the_state_root() {
    use alloy_primitives::keccak256;
    use alloy_trie::{Nibbles, TrieAccount, proof::verify_proof};
    let (_dir, node, client) = start().await;
    let head = call(&client, "eth_getBlockByNumber", json!(["latest", false]))
        .await
        .unwrap();
    let state_root: B256 = head["stateRoot"].as_str().unwrap().parse().unwrap();
    let oracle = ankr_contracts::genesis::NATIVE_ORACLE_ADDRESS;
    let holder = devnet::accounts()[0].address;
    let nobody = Address::repeat_byte(0x5e);
    for (address, slots) in [
        (
            oracle,
            vec![
                B256::ZERO,
                B256::with_last_byte(3),
                B256::with_last_byte(200),
            ],
        ),
        (holder, vec![]),
        (nobody, vec![B256::ZERO]),
    ] {
        let proof = call(&client, "eth_getProof", json!([address, slots, "latest"]))
            .await
            .unwrap();
        let nodes =
            |value: &Value| -> Vec<Bytes> { serde_json::from_value(value.clone()).unwrap() };
        let balance: U256 = proof["balance"].as_str().unwrap().parse().unwrap();
        let account = TrieAccount {
            nonce: quantity(&proof["nonce"]),
            balance,
            storage_root: proof["storageHash"].as_str().unwrap().parse().unwrap(),
            code_hash: proof["codeHash"].as_str().unwrap().parse().unwrap(),
        };
        let leaf = (address != nobody).then(|| alloy_rlp::encode(account));
        verify_proof(
            state_root,
            Nibbles::unpack(keccak256(address)),
            leaf,
            &nodes(&proof["accountProof"]),
        )
        .unwrap_or_else(|e| panic!("account proof of {address}: {e}"));
        for (slot, entry) in slots.iter().zip(proof["storageProof"].as_array().unwrap()) {
            let value: U256 = entry["value"].as_str().unwrap().parse().unwrap();
            let expected = call(
                &client,
                "eth_getStorageAt",
                json!([address, slot, "latest"]),
            )
            .await
            .unwrap();
            assert_eq!(
                B256::from(value),
                expected.as_str().unwrap().parse::<B256>().unwrap()
            );
            let leaf = (!value.is_zero()).then(|| alloy_rlp::encode(value));
            verify_proof(
                account.storage_root,
                Nibbles::unpack(keccak256(slot)),
                leaf,
                &nodes(&entry["proof"]),
            )
            .unwrap_or_else(|e| panic!("storage proof of {address} {slot}: {e}"));
        }
    }
    node.stop().await;
}

/// `eth_createAccessList` (issue 15), as geth answers it: a token transfer's list names the
/// token's two balance slots, and the transaction sent with that list uses exactly the gas
/// reported; a reverting message gets its list with `error`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_access_list_answers_as_geths() {
    use alloy_sol_types::{SolCall, SolConstructor};
    use ankr_contracts::{ExampleToken, artifact};
    let (_dir, node, client) = start().await;
    let holder = devnet::accounts()[0].clone();
    let mut code = artifact("ExampleToken").unwrap().bytecode.to_vec();
    code.extend(
        ExampleToken::constructorCall {
            name_: "Example".into(),
            symbol_: "EXM".into(),
            supply: U256::from(1000),
        }
        .abi_encode(),
    );
    let deploy = TxEip1559 {
        chain_id: devnet::DEVNET_CHAIN_ID,
        nonce: 0,
        gas_limit: 2_000_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Create,
        input: code.into(),
        ..Default::default()
    };
    let hash = call(
        &client,
        "eth_sendRawTransaction",
        json!([raw(&sign_transaction(&holder.secret, deploy))]),
    )
    .await
    .unwrap();
    let token: Address = wait_for_receipt(&client, &hash).await["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let transfer = ExampleToken::transferCall {
        to: Address::repeat_byte(0x77),
        value: U256::from(5),
    }
    .abi_encode();
    let request =
        json!({ "from": holder.address, "to": token, "data": Bytes::from(transfer.clone()) });
    let answer = call(&client, "eth_createAccessList", json!([request, "latest"]))
        .await
        .unwrap();
    assert!(answer.get("error").is_none(), "{answer}");
    let list: alloy_eips::eip2930::AccessList =
        serde_json::from_value(answer["accessList"].clone()).unwrap();
    assert_eq!(list.0.len(), 1, "{answer}");
    assert_eq!(list.0[0].address, token);
    assert_eq!(list.0[0].storage_keys.len(), 2, "the two balances");
    let reported = quantity(&answer["gasUsed"]);
    let tx = TxEip1559 {
        chain_id: devnet::DEVNET_CHAIN_ID,
        nonce: 1,
        gas_limit: 200_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(token),
        input: transfer.into(),
        access_list: list,
        ..Default::default()
    };
    let hash = call(
        &client,
        "eth_sendRawTransaction",
        json!([raw(&sign_transaction(&holder.secret, tx))]),
    )
    .await
    .unwrap();
    let receipt = wait_for_receipt(&client, &hash).await;
    assert_eq!(quantity(&receipt["gasUsed"]), reported);
    // Too much: it reverts, and says so beside the list.
    let too_much = ExampleToken::transferCall {
        to: Address::repeat_byte(0x77),
        value: U256::from(10_000),
    }
    .abi_encode();
    let answer = call(
        &client,
        "eth_createAccessList",
        json!([{ "from": holder.address, "to": token, "data": Bytes::from(too_much) }, "latest"]),
    )
    .await
    .unwrap();
    assert_eq!(answer["error"], "execution reverted");
    node.stop().await;
}

/// `GET /metrics` on the JSON-RPC port answers Prometheus text: every documented metric with
/// its type, and the values the node's own JSON-RPC gives (head, pool, blocks built).
#[tokio::test]
async fn metrics_are_served_as_prometheus_text_beside_json_rpc() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_dir, node, client) = start().await;
    let key = devnet::accounts()[0].secret;
    let tx = sign_transaction(&key, transfer(0, devnet::spec().chain_id, Bytes::new()));
    let hash = call(&client, "eth_sendRawTransaction", json!([raw(&tx)]))
        .await
        .unwrap();
    wait_for_receipt(&client, &hash).await;

    let addr = node.rpc_url().trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    let value = |name: &str| -> f64 {
        body.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} missing from:\n{body}"))
            .trim()
            .parse()
            .unwrap()
    };
    let number = quantity(&call(&client, "eth_blockNumber", json!([])).await.unwrap());
    assert!(value("ankr_head_number") >= number as f64 && number >= 1);
    assert!(value("ankr_blocks_built_total") >= 1.0);
    assert_eq!(value("ankr_pool_transactions"), 0.0);
    for name in [
        "ankr_blocks_imported_total",
        "ankr_block_import_seconds_sum",
        "ankr_block_import_seconds_count",
        "ankr_templates_reused_total",
        "ankr_transactions_executed_total",
        "ankr_transactions_on_two_threads_total",
        "ankr_blocks_refused_total",
        "ankr_reorganisations_total",
        "ankr_reorganised_blocks_total",
        "ankr_failed_reorganisations_total",
        "ankr_bad_blocks",
        "ankr_head_timestamp_seconds",
    ] {
        value(name);
    }
    assert!(body.contains("# TYPE ankr_blocks_imported_total counter"));
    assert!(body.contains("ankr_node_info{chain=\""));
    // JSON-RPC on the same port is untouched.
    assert_eq!(
        call(&client, "eth_chainId", json!([])).await.unwrap(),
        json!(format!("0x{:x}", devnet::spec().chain_id))
    );
    node.stop().await;
}

/// Issue 16: a node keeps a window of state history and prunes the changesets behind it, so
/// its store stops growing with every block's undo record; asking for pruned state gets a
/// clear error, the window is served, and an archive node (`ankr node --archive`) serves all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_behind_the_kept_history_is_refused_clearly_and_an_archive_serves_it() {
    for archive in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let history = (!archive).then_some(ankr_storage::MIN_STATE_HISTORY);
        ankr_storage::Store::open(dir.path())
            .unwrap()
            .set_state_history(history)
            .unwrap();
        let node = Node::start(ankr_node::NodeConfig {
            operator: None,
            data_dir: dir.path().to_path_buf(),
            spec: devnet::spec(),
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            sealing: DevSealing::Interval(Duration::from_millis(5)),
            beneficiary: Address::repeat_byte(0xbe),
            mining: None,
            network: None,
            pool: Default::default(),
        })
        .await
        .unwrap();
        let client = jsonrpsee::http_client::HttpClientBuilder::default()
            .build(node.rpc_url())
            .unwrap();
        let target = ankr_storage::MIN_STATE_HISTORY + 20;
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let head = loop {
            let head = quantity(&call(&client, "eth_blockNumber", json!([])).await.unwrap());
            if head >= target {
                break head;
            }
            assert!(std::time::Instant::now() < deadline, "only {head} blocks");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let account = devnet::accounts()[0].address;
        let early = call(&client, "eth_getBalance", json!([account, "0x1"])).await;
        let recent = format!("{:#x}", head - 100);
        let within = call(&client, "eth_getBalance", json!([account, recent])).await;
        assert!(within.is_ok(), "{within:?}");
        match archive {
            true => assert!(early.is_ok(), "an archive serves block 1: {early:?}"),
            false => {
                let (_, message) = early.expect_err("block 1's state is pruned");
                assert!(
                    message.contains("historical state is not available"),
                    "{message}"
                );
            }
        }
        node.stop().await;
    }
}
