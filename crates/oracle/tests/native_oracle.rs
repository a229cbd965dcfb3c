//! NativeOracle's rules through a real node's JSON-RPC with signed transactions, with Town
//! Crier's numbers (P = 5·10^10 wei, Gmin 30,000, Gcancel 25,000, Gmax 3,000,000): fee bounds,
//! exact callback gas, deliveries signed by a live oracle enclave only, no replay, refunds on
//! cancel, expiry and oracle faults, callbacks that revert, burn gas or re-enter `cancel`
//! never undo a delivery, and every payout by withdrawal; the relay against a real HTTPS source,
//! across a restart, and with a private (HPKE-sealed) request.

use alloy_primitives::{Address, B256, Bytes, U256, hex, keccak256};
use alloy_sol_types::{SolCall, SolValue};
use ankr_contracts::genesis::{NATIVE_ORACLE_ADDRESS, OracleGenesis, native_oracle_genesis};
use ankr_contracts::{HostileConsumer, NativeOracle, PriceConsumer, artifact};
use ankr_node::test_utils::{DevChain, address};
use ankr_node::{DevSealing, devnet};
use ankr_oracle::datagram::{Datagram, OracleRequest, code, kind};
use ankr_oracle::extract::ValueQuery;
use ankr_oracle::{FetchLimits, OracleEnclave};
use serde_json::Value;

const P: u64 = 50_000_000_000;
const TIMEOUT_BLOCKS: u64 = 5;

fn wei(gas: u64) -> U256 {
    U256::from(gas) * U256::from(P)
}

fn oracle_enclave(seed: &str) -> OracleEnclave {
    let key = secp256k1::SecretKey::from_byte_array(keccak256(seed).0).unwrap();
    OracleEnclave::new(key, keccak256(seed), &[], FetchLimits::default()).unwrap()
}

struct Harness {
    chain: DevChain,
    enclave: OracleEnclave,
}

/// Who sends what: the requester's account, the relay's, the cancellation-fee collector.
const REQUESTER: usize = 3;
const RELAY: usize = 4;
/// Sends the transfers that mine blocks.
const MINER: usize = 5;

impl Harness {
    async fn start() -> Self {
        let enclave = oracle_enclave("registered oracle enclave");
        let mut spec = devnet::spec();
        devnet::bootstrap_oracle(&mut spec, enclave.address(), 10_000);
        spec.alloc.insert(
            NATIVE_ORACLE_ADDRESS,
            native_oracle_genesis(&OracleGenesis {
                timeout_blocks: TIMEOUT_BLOCKS,
                fee_collector: Address::repeat_byte(0xfc),
                ..Default::default()
            })
            .unwrap(),
        );
        Self {
            chain: DevChain::start(spec, DevSealing::Instant).await,
            enclave,
        }
    }

    /// Sends a transaction from dev account `from` and waits for its receipt.
    async fn send(
        &self,
        from: usize,
        to: Option<Address>,
        data: Vec<u8>,
        value: U256,
        gas_limit: u64,
    ) -> Value {
        let hash = self.chain.pool(from, to, data, value, gas_limit).await;
        self.chain.receipt(&hash).await
    }

    /// `eth_call` from `from`: the output, or the error (with the revert reason).
    async fn call(
        &self,
        from: usize,
        to: Address,
        data: Vec<u8>,
        value: U256,
    ) -> Result<Bytes, String> {
        self.chain.call(from, to, data, value).await
    }

    /// Sends a call that must succeed.
    async fn ok(&self, from: usize, to: Address, data: Vec<u8>, value: U256) -> Value {
        let receipt = self.send(from, Some(to), data, value, 2_000_000).await;
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        receipt
    }

    /// A call that must revert with `reason` (checked with eth_call, then not sent).
    async fn refused(&self, from: usize, to: Address, data: Vec<u8>, value: U256, reason: &str) {
        let error = self.call(from, to, data, value).await.unwrap_err();
        assert!(error.contains(reason), "expected {reason:?}, got {error}");
    }

    async fn deploy(&self, name: &str) -> Address {
        let code = artifact(name).unwrap().bytecode.to_vec();
        let receipt = self
            .send(REQUESTER, None, code, U256::ZERO, 3_000_000)
            .await;
        assert_eq!(receipt["status"], "0x1");
        receipt["contractAddress"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// `eth_call` by the relay account that must succeed.
    async fn read(&self, to: Address, data: Vec<u8>) -> Bytes {
        self.call(RELAY, to, data, U256::ZERO).await.unwrap()
    }

    async fn balance_in_oracle(&self, who: Address) -> U256 {
        let out = self
            .read(
                NATIVE_ORACLE_ADDRESS,
                NativeOracle::balanceOfCall(who).abi_encode(),
            )
            .await;
        U256::abi_decode(&out).unwrap()
    }

    async fn state(&self, id: u64) -> u8 {
        let out = self
            .read(
                NATIVE_ORACLE_ADDRESS,
                NativeOracle::requestsCall(id).abi_encode(),
            )
            .await;
        NativeOracle::requestsCall::abi_decode_returns(&out)
            .unwrap()
            .state
    }

    async fn last_id(&self) -> u64 {
        let out = self
            .read(
                NATIVE_ORACLE_ADDRESS,
                NativeOracle::lastIdCall {}.abi_encode(),
            )
            .await;
        u64::abi_decode(&out).unwrap()
    }

    /// The registered enclave's answer, signed for the relay account to deliver.
    fn sign(&self, request: &OracleRequest, code: u16, data: Vec<u8>) -> Datagram {
        self.enclave.sign(request, address(RELAY), code, data)
    }

    /// Mines `blocks` blocks (a zero-value transfer each: the chain seals one per transaction).
    async fn mine(&self, blocks: u64) {
        for _ in 0..blocks {
            self.ok(MINER, address(MINER), vec![], U256::ZERO).await;
        }
    }

    fn request(&self, id: u64, requester: Address, params: &[u8]) -> OracleRequest {
        OracleRequest {
            chain_id: devnet::DEVNET_CHAIN_ID,
            oracle: NATIVE_ORACLE_ADDRESS,
            id,
            requester,
            kind: kind::JSON,
            params: params.to_vec(),
        }
    }
}

fn deliver_call(datagram: &Datagram) -> Vec<u8> {
    NativeOracle::deliverCall {
        id: datagram.id,
        paramsHash: datagram.params_hash,
        code: datagram.code,
        data: datagram.data.clone().into(),
        enclaveSig: datagram.signature.to_vec().into(),
    }
    .abi_encode()
}

/// A JSON-RPC receipt's `gasUsed`.
fn gas_used(receipt: &Value) -> u64 {
    u64::from_str_radix(
        receipt["gasUsed"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap()
}

fn price_params() -> Vec<u8> {
    ValueQuery {
        url: "https://127.0.0.1:1/price".into(),
        path: "$.usd".into(),
        result_type: "uint256".into(),
        decimals: 2,
    }
    .encode()
}

const PENDING: u8 = 1;
const DELIVERED: u8 = 2;
/// `NativeOracle.CANCEL_GRACE_BLOCKS`.
const CANCEL_GRACE_BLOCKS: u64 = 20;
const CANCELLED: u8 = 3;
const EXPIRED: u8 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fees_deliveries_and_refunds_follow_town_criers_numbers() {
    let h = Harness::start().await;
    let consumer = h.deploy("PriceConsumer").await;
    let params = price_params();
    let ask = |gas: u32| {
        PriceConsumer::askCall {
            kind: kind::JSON,
            params: params.clone().into(),
            callbackGas: gas,
        }
        .abi_encode()
    };

    // The fee bounds: 2.5·10^15 wei buys a 20,000-gas callback; one wei less does not;
    // more than Gmax·P is refused.
    let fee = U256::from(2_500_000_000_000_000u64);
    assert_eq!(fee, wei(30_000 + 20_000));
    h.refused(
        REQUESTER,
        consumer,
        ask(20_000),
        fee - U256::from(1),
        "fee below",
    )
    .await;
    h.refused(
        REQUESTER,
        consumer,
        ask(20_000),
        wei(3_000_000) + U256::from(1),
        "fee above",
    )
    .await;
    let hostile = h.deploy("HostileConsumer").await;
    let hostile_ask = |mode: u8| {
        HostileConsumer::askCall {
            kind: kind::JSON,
            params: params.clone().into(),
            callbackGas: 20_000,
            mode_: mode,
        }
        .abi_encode()
    };
    h.ok(REQUESTER, hostile, hostile_ask(3), fee).await;
    let id = h.last_id().await;
    assert_eq!(id, 1, "ids start at 1");
    // The callback is handed exactly 20,000 gas (less the few its dispatch spends).
    let datagram = h.sign(&h.request(id, hostile, &params), code::OK, vec![]);
    let receipt = h
        .ok(
            RELAY,
            NATIVE_ORACLE_ADDRESS,
            deliver_call(&datagram),
            U256::ZERO,
        )
        .await;
    let entered = receipt["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|log| {
            log["address"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&hostile.to_string())
        })
        .expect("the callback ran");
    let given = U256::from_str_radix(
        entered["data"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert!(
        given > U256::from(19_000) && given <= U256::from(20_000),
        "the callback got {given} gas"
    );

    // A richer callback (it stores the answer) pays for more gas.
    let fee = wei(30_000 + 150_000);
    h.ok(REQUESTER, consumer, ask(150_000), fee).await;
    let id = h.last_id().await;
    assert_eq!(id, 2);

    // A delivery signed by the registered oracle enclave: the callback gets the value, the
    // relay is credited the fee.
    let request = h.request(id, consumer, &params);
    let datagram = h.sign(&request, code::OK, U256::from(10125).abi_encode());
    h.ok(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&datagram),
        U256::ZERO,
    )
    .await;
    assert_eq!(h.state(id).await, DELIVERED);
    let value = h
        .read(consumer, PriceConsumer::lastValueCall {}.abi_encode())
        .await;
    assert_eq!(U256::abi_decode(&value).unwrap(), U256::from(10125));
    let relay = address(RELAY);
    // Both deliveries' fees are the relay's: 2.5·10^15 and (30,000 + 150,000)·P.
    assert_eq!(h.balance_in_oracle(relay).await, wei(30_000 + 20_000) + fee);

    // The same datagram again: refused.
    h.refused(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&datagram),
        U256::ZERO,
        "request is not pending",
    )
    .await;

    // A third request, overpaid: the excess is credited back at once.
    h.ok(REQUESTER, consumer, ask(150_000), fee + U256::from(777))
        .await;
    let id = h.last_id().await;
    assert_eq!(id, 3);
    assert_eq!(h.balance_in_oracle(consumer).await, U256::from(777));
    let request = h.request(id, consumer, &params);
    let data = U256::from(1).abi_encode();
    // Forged: an enclave nobody registered.
    let forged =
        oracle_enclave("not registered").sign(&request, address(RELAY), code::OK, data.clone());
    h.refused(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&forged),
        U256::ZERO,
        "not signed by a live oracle enclave",
    )
    .await;
    // Signed for another chain, or for another oracle contract.
    let other_chain = OracleRequest {
        chain_id: 1,
        ..request.clone()
    };
    let elsewhere = OracleRequest {
        oracle: Address::repeat_byte(0x99),
        ..request.clone()
    };
    for signed_for in [other_chain, elsewhere] {
        let datagram = h.sign(&signed_for, code::OK, data.clone());
        h.refused(
            RELAY,
            NATIVE_ORACLE_ADDRESS,
            deliver_call(&datagram),
            U256::ZERO,
            "not signed by a live oracle enclave",
        )
        .await;
    }
    // The parameters of another request (or another requester).
    let mut mismatch = h.sign(&request, code::OK, data.clone());
    mismatch.params_hash = B256::repeat_byte(7);
    h.refused(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&mismatch),
        U256::ZERO,
        "params hash mismatch",
    )
    .await;
    let someone_else = h.request(id, Address::repeat_byte(0x55), &params);
    let theirs = h.sign(&someone_else, code::OK, data.clone());
    h.refused(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&theirs),
        U256::ZERO,
        "params hash mismatch",
    )
    .await;

    // Only the requester cancels; it gets the fee minus Gcancel·P = 1.25·10^15 back.
    h.refused(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        NativeOracle::cancelCall { id }.abi_encode(),
        U256::ZERO,
        "not the requester",
    )
    .await;
    let before = h.balance_in_oracle(hostile).await;
    let fee = wei(30_000 + 20_000);
    h.ok(REQUESTER, hostile, hostile_ask(3), fee).await;
    let cancelled = h.last_id().await;
    let cancel = HostileConsumer::cancelCall { id: cancelled }.abi_encode();
    // The first call asks; the cancellation takes effect CANCEL_GRACE_BLOCKS later.
    h.ok(REQUESTER, hostile, cancel.clone(), U256::ZERO).await;
    assert_eq!(h.state(cancelled).await, PENDING);
    h.refused(
        REQUESTER,
        hostile,
        cancel.clone(),
        U256::ZERO,
        "cancellation not yet in effect",
    )
    .await;
    h.mine(CANCEL_GRACE_BLOCKS - 1).await;
    h.ok(REQUESTER, hostile, cancel, U256::ZERO).await;
    assert_eq!(h.state(cancelled).await, CANCELLED);
    assert_eq!(
        h.balance_in_oracle(hostile).await - before,
        U256::from(1_250_000_000_000_000u64)
    );
    assert_eq!(
        h.balance_in_oracle(Address::repeat_byte(0xfc)).await,
        wei(25_000)
    );

    // An oracle fault (code ≥ 16): the requester gets the whole fee back, the relay nothing.
    let fee = wei(30_000 + 150_000);
    let relay_before = h.balance_in_oracle(relay).await;
    let consumer_before = h.balance_in_oracle(consumer).await;
    let fault = h.sign(&request, code::SOURCE_UNREACHABLE, vec![]);
    h.ok(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&fault),
        U256::ZERO,
    )
    .await;
    assert_eq!(h.balance_in_oracle(consumer).await - consumer_before, fee);
    assert_eq!(h.balance_in_oracle(relay).await, relay_before);

    // Expiry: not before the deadline; after it anyone expires and the fee comes back whole.
    h.ok(REQUESTER, consumer, ask(150_000), fee).await;
    let late = h.last_id().await;
    let expire = NativeOracle::expireCall { id: late }.abi_encode();
    h.refused(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        expire.clone(),
        U256::ZERO,
        "deadline not reached",
    )
    .await;
    let consumer_before = h.balance_in_oracle(consumer).await;
    for _ in 0..TIMEOUT_BLOCKS {
        let me = address(RELAY);
        h.ok(RELAY, me, vec![], U256::from(1)).await;
    }
    h.ok(RELAY, NATIVE_ORACLE_ADDRESS, expire, U256::ZERO).await;
    assert_eq!(h.state(late).await, EXPIRED);
    assert_eq!(h.balance_in_oracle(consumer).await - consumer_before, fee);

    // Withdrawal pays out exactly what was credited, once.
    let credited = h.balance_in_oracle(relay).await;
    let receipt = h
        .ok(
            RELAY,
            NATIVE_ORACLE_ADDRESS,
            NativeOracle::withdrawCall {}.abi_encode(),
            U256::ZERO,
        )
        .await;
    assert_eq!(receipt["logs"].as_array().unwrap().len(), 1);
    assert_eq!(h.balance_in_oracle(relay).await, U256::ZERO);
    assert!(credited > U256::ZERO);
    h.refused(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        NativeOracle::withdrawCall {}.abi_encode(),
        U256::ZERO,
        "nothing to withdraw",
    )
    .await;
    h.chain.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misbehaving_callback_never_undoes_a_delivery() {
    let h = Harness::start().await;
    let hostile = h.deploy("HostileConsumer").await;
    let params = price_params();
    let fee = wei(30_000 + 20_000);
    let relay = address(RELAY);
    let callback_failed = alloy_primitives::keccak256("CallbackFailed(uint64)");
    // 0: reverts, 1: burns all its gas, 2: re-enters cancel for the request being delivered.
    for mode in [0u8, 1, 2] {
        let ask = HostileConsumer::askCall {
            kind: kind::JSON,
            params: params.clone().into(),
            callbackGas: 20_000,
            mode_: mode,
        };
        h.ok(REQUESTER, hostile, ask.abi_encode(), fee).await;
        let id = h.last_id().await;
        let credited = h.balance_in_oracle(relay).await;
        let datagram = h.sign(
            &h.request(id, hostile, &params),
            code::OK,
            U256::from(5).abi_encode(),
        );
        // Too little gas for the promised callback: refused, so that a relay cannot starve it.
        let starved = h
            .send(
                RELAY,
                Some(NATIVE_ORACLE_ADDRESS),
                deliver_call(&datagram),
                U256::ZERO,
                60_000,
            )
            .await;
        assert_eq!(starved["status"], "0x0", "mode {mode}");
        assert_eq!(h.state(id).await, 1, "still pending");
        let receipt = h
            .ok(
                RELAY,
                NATIVE_ORACLE_ADDRESS,
                deliver_call(&datagram),
                U256::ZERO,
            )
            .await;
        let failed = receipt["logs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|log| log["topics"][0].as_str() == Some(&callback_failed.to_string()));
        assert!(failed, "mode {mode}: CallbackFailed expected");
        assert_eq!(h.state(id).await, DELIVERED, "mode {mode}");
        assert_eq!(
            h.balance_in_oracle(relay).await - credited,
            fee,
            "mode {mode}"
        );
        // The burning callback used its 20,000 gas and no more.
        if mode == 1 {
            let used = gas_used(&receipt);
            assert!(used < 200_000, "gas used {used}");
        }
    }
    // The re-entrant cancel did not refund the requester.
    assert_eq!(h.balance_in_oracle(hostile).await, U256::ZERO);

    // 4: a callback that returns 368 KB (audit M-4). Copying that back cost the oracle more
    // gas than the relay sends, so the delivery reverted and the requester got a full refund
    // with the answer public. Delivered now with the gas an honest relay sends.
    let callback_gas = 400_000u32;
    let ask = HostileConsumer::askCall {
        kind: kind::JSON,
        params: params.clone().into(),
        callbackGas: callback_gas,
        mode_: 4,
    };
    let fee = wei(30_000 + u64::from(callback_gas));
    h.ok(REQUESTER, hostile, ask.abi_encode(), fee).await;
    let id = h.last_id().await;
    let credited = h.balance_in_oracle(relay).await;
    let datagram = h.sign(
        &h.request(id, hostile, &params),
        code::OK,
        U256::from(5).abi_encode(),
    );
    let relay_gas = u64::from(callback_gas) * 64 / 63 + 150_000 + 16 * 32;
    let receipt = h
        .send(
            RELAY,
            Some(NATIVE_ORACLE_ADDRESS),
            deliver_call(&datagram),
            U256::ZERO,
            relay_gas,
        )
        .await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(h.state(id).await, DELIVERED);
    assert_eq!(h.balance_in_oracle(relay).await - credited, fee);
    h.chain.node.stop().await;
}

/// Audit M-3, both halves. (1) Delivery theft: another account copies the relay's pending
/// `deliver` with a higher fee; the enclave signed it for the relay, so the copy reverts and
/// the relay's own delivery is paid. (2) Answer sniping: the requester reads the answer in the
/// pool and cancels in front of it; the cancellation only starts its grace period, the
/// delivery lands inside it and is paid, and the cancellation can never complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_m3_a_copied_delivery_or_a_sniping_cancel_takes_nothing_from_the_relay() {
    const THIEF: usize = 6;
    let h = Harness::start().await;
    let consumer = h.deploy("PriceConsumer").await;
    let params = price_params();
    let fee = wei(30_000 + 150_000);
    let ask = PriceConsumer::askCall {
        kind: kind::JSON,
        params: params.clone().into(),
        callbackGas: 150_000,
    }
    .abi_encode();
    let relay = address(RELAY);

    // (1) The thief sends the relay's delivery as its own.
    h.ok(REQUESTER, consumer, ask.clone(), fee).await;
    let id = h.last_id().await;
    let datagram = h.sign(
        &h.request(id, consumer, &params),
        code::OK,
        U256::from(42).abi_encode(),
    );
    let copied = h
        .send(
            THIEF,
            Some(NATIVE_ORACLE_ADDRESS),
            deliver_call(&datagram),
            U256::ZERO,
            1_000_000,
        )
        .await;
    assert_eq!(copied["status"], "0x0", "the copied delivery must revert");
    h.refused(
        THIEF,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&datagram),
        U256::ZERO,
        "not signed by a live oracle enclave for this relay",
    )
    .await;
    assert_eq!(h.balance_in_oracle(address(THIEF)).await, U256::ZERO);
    assert_eq!(h.state(id).await, PENDING);
    let before = h.balance_in_oracle(relay).await;
    h.ok(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&datagram),
        U256::ZERO,
    )
    .await;
    assert_eq!(h.balance_in_oracle(relay).await - before, fee);

    // (2) The requester (here an account, so that it can cancel directly) sees the answer and
    // cancels first.
    let request_call = NativeOracle::requestCall {
        kind: kind::JSON,
        params: params.clone().into(),
        callbackSelector: Default::default(),
        callbackGas: 0,
    };
    let fee = wei(30_000);
    h.ok(
        REQUESTER,
        NATIVE_ORACLE_ADDRESS,
        request_call.abi_encode(),
        fee,
    )
    .await;
    let id = h.last_id().await;
    let datagram = h.sign(
        &h.request(id, address(REQUESTER), &params),
        code::OK,
        U256::from(43).abi_encode(),
    );
    let cancel = NativeOracle::cancelCall { id }.abi_encode();
    h.ok(REQUESTER, NATIVE_ORACLE_ADDRESS, cancel.clone(), U256::ZERO)
        .await;
    let before = h.balance_in_oracle(relay).await;
    h.ok(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&datagram),
        U256::ZERO,
    )
    .await;
    assert_eq!(h.state(id).await, DELIVERED);
    assert_eq!(h.balance_in_oracle(relay).await - before, fee);
    h.mine(CANCEL_GRACE_BLOCKS).await;
    h.refused(
        REQUESTER,
        NATIVE_ORACLE_ADDRESS,
        cancel,
        U256::ZERO,
        "request is not pending",
    )
    .await;
    assert_eq!(h.balance_in_oracle(address(REQUESTER)).await, U256::ZERO);
    h.chain.node.stop().await;
}

/// `deliverBatch`, the relay's way of sending: many datagrams in one transaction. A request
/// settled before the batch lands (delivered by the relay's earlier transaction, or by anyone)
/// is skipped, not paid twice, and does not cost the others their delivery; a forged datagram
/// (signed by an enclave that is not registered) or a copied batch (signed for another relay)
/// reverts the whole batch; each callback, hostile ones included, gets exactly its gas within
/// the gas the relay computes for the batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_batch_cannot_pay_a_request_twice_nor_carry_a_forged_datagram() {
    use ankr_oracle::relay::batch_gas;
    const THIEF: usize = 6;
    let h = Harness::start().await;
    let consumer = h.deploy("PriceConsumer").await;
    let hostile = h.deploy("HostileConsumer").await;
    let params = price_params();
    let relay = address(RELAY);
    let batch = |datagrams: &[&Datagram]| {
        NativeOracle::deliverBatchCall {
            deliveries: datagrams
                .iter()
                .map(|d| NativeOracle::Delivery {
                    id: d.id,
                    paramsHash: d.params_hash,
                    code: d.code,
                    data: d.data.clone().into(),
                    enclaveSig: d.signature.to_vec().into(),
                })
                .collect(),
        }
        .abi_encode()
    };
    // Two price requests (150,000-gas callbacks that store the value) and two hostile ones
    // (20,000-gas callbacks: one reverts, one burns all its gas).
    let mut asked = Vec::new();
    for _ in 0..2 {
        let ask = PriceConsumer::askCall {
            kind: kind::JSON,
            params: params.clone().into(),
            callbackGas: 150_000,
        };
        h.ok(REQUESTER, consumer, ask.abi_encode(), wei(30_000 + 150_000))
            .await;
        asked.push((h.last_id().await, consumer, 150_000u32));
    }
    for mode in [0u8, 1] {
        let ask = HostileConsumer::askCall {
            kind: kind::JSON,
            params: params.clone().into(),
            callbackGas: 20_000,
            mode_: mode,
        };
        h.ok(REQUESTER, hostile, ask.abi_encode(), wei(30_000 + 20_000))
            .await;
        asked.push((h.last_id().await, hostile, 20_000u32));
    }
    let datagrams: Vec<Datagram> = asked
        .iter()
        .map(|(id, requester, _)| {
            h.sign(
                &h.request(*id, *requester, &params),
                code::OK,
                U256::from(100 + id).abi_encode(),
            )
        })
        .collect();
    let harness = &h;
    let states = move |ids: Vec<u64>| async move {
        let out = harness
            .read(
                NATIVE_ORACLE_ADDRESS,
                NativeOracle::statesOfCall { ids }.abi_encode(),
            )
            .await;
        NativeOracle::statesOfCall::abi_decode_returns(&out).unwrap()
    };
    let ids: Vec<u64> = asked.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(states(ids.clone()).await, vec![PENDING; 4]);

    // A forged datagram in the middle of an honest batch: the whole batch reverts.
    let forger = oracle_enclave("an enclave nobody registered");
    let forged = forger.sign(
        &h.request(ids[1], consumer, &params),
        relay,
        code::OK,
        U256::from(1).abi_encode(),
    );
    let all: Vec<&Datagram> = datagrams.iter().collect();
    let input = batch(&[all[0], &forged, all[2], all[3]]);
    let gas = batch_gas(&[150_000, 150_000, 20_000, 20_000], &input);
    let receipt = h
        .send(RELAY, Some(NATIVE_ORACLE_ADDRESS), input, U256::ZERO, gas)
        .await;
    assert_eq!(
        receipt["status"], "0x0",
        "a forged datagram reverts its batch"
    );
    assert_eq!(states(ids.clone()).await, vec![PENDING; 4]);

    // The relay's batch copied by a thief: signed for the relay, so it reverts.
    let input = batch(&all);
    let gas = batch_gas(&[150_000, 150_000, 20_000, 20_000], &input);
    let copied = h
        .send(
            THIEF,
            Some(NATIVE_ORACLE_ADDRESS),
            input.clone(),
            U256::ZERO,
            gas,
        )
        .await;
    assert_eq!(copied["status"], "0x0", "a copied batch reverts");
    assert_eq!(h.balance_in_oracle(address(THIEF)).await, U256::ZERO);

    // The first request is delivered on its own first (a resend that landed, say); then the
    // whole batch: the first is skipped, the three others are delivered and paid once.
    h.ok(
        RELAY,
        NATIVE_ORACLE_ADDRESS,
        deliver_call(&datagrams[0]),
        U256::ZERO,
    )
    .await;
    let before = h.balance_in_oracle(relay).await;
    let receipt = h
        .send(RELAY, Some(NATIVE_ORACLE_ADDRESS), input, U256::ZERO, gas)
        .await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    let used = gas_used(&receipt);
    assert!(used <= gas, "gas used {used} within the relay's {gas}");
    let topics: Vec<(String, String)> = receipt["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|log| {
            log["address"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&NATIVE_ORACLE_ADDRESS.to_string())
        })
        .map(|log| {
            (
                log["topics"][0].as_str().unwrap().to_string(),
                log["topics"][1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let event = |signature: &str| keccak256(signature).to_string();
    let id_topic = |id: u64| B256::from(U256::from(id)).to_string();
    assert_eq!(
        topics,
        vec![
            (event("DeliverySkipped(uint64)"), id_topic(ids[0])),
            (event("Delivered(uint64,uint16,address)"), id_topic(ids[1])),
            (event("Delivered(uint64,uint16,address)"), id_topic(ids[2])),
            (event("CallbackFailed(uint64)"), id_topic(ids[2])),
            (event("Delivered(uint64,uint16,address)"), id_topic(ids[3])),
            (event("CallbackFailed(uint64)"), id_topic(ids[3])),
        ]
    );
    assert_eq!(states(ids.clone()).await, vec![DELIVERED; 4]);
    assert_eq!(
        h.balance_in_oracle(relay).await - before,
        wei(30_000 + 150_000) + wei(2 * (30_000 + 20_000)),
        "paid for the three it delivered, not again for the first"
    );
    let value = h
        .read(consumer, PriceConsumer::lastValueCall {}.abi_encode())
        .await;
    assert_eq!(U256::abi_decode(&value).unwrap(), U256::from(100 + ids[1]));
    h.chain.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_serves_requests_from_a_real_https_source_and_survives_a_restart() {
    use ankr_oracle::relay::{RelayConfig, run};
    use ankr_oracle::source::{LocalSource, Route};
    let h = Harness::start().await;
    let consumer = h.deploy("PriceConsumer").await;
    let source = LocalSource::start(
        h.chain.dir(),
        [
            (
                "/price".to_string(),
                Route::Document {
                    content_type: "application/json",
                    body: br#"{"usd":"101.25"}"#.to_vec(),
                },
            ),
            (
                "/listing".to_string(),
                Route::Document {
                    content_type: "application/json",
                    body: format!(r#"{{"remarks":"{}"}}"#, "spacious ".repeat(1_000)).into_bytes(),
                },
            ),
        ]
        .into(),
    )
    .await
    .unwrap();
    // The registered enclave's key, now trusting the source's CA.
    let key =
        secp256k1::SecretKey::from_byte_array(keccak256("registered oracle enclave").0).unwrap();
    let enclave = std::sync::Arc::new(
        OracleEnclave::new(
            key,
            keccak256("registered oracle enclave"),
            &[source.ca_file.as_path()],
            // The source is on loopback.
            FetchLimits {
                allow_private_addresses: true,
                ..FetchLimits::default()
            },
        )
        .unwrap(),
    );
    let relay_enclave = enclave.address();
    let enclave_key = enclave.encryption_key();
    let config = RelayConfig {
        rpc_url: h.chain.node.rpc_url(),
        accounts: vec![ankr_node::test_utils::key(RELAY)],
        enclave,
        attestation: None,
        confirmations: 0,
        state_file: h.chain.dir().join("relay.state"),
        poll: std::time::Duration::from_millis(50),
        stats: Default::default(),
    };
    let params = ValueQuery {
        url: source.url("/price"),
        path: "$.usd".into(),
        result_type: "uint256".into(),
        decimals: 2,
    }
    .encode();
    let ask = PriceConsumer::askCall {
        kind: kind::JSON,
        params: params.into(),
        callbackGas: 150_000,
    }
    .abi_encode();
    let fee = wei(30_000 + 150_000);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(run(config.clone(), stopped));
    h.ok(REQUESTER, consumer, ask.clone(), fee).await;
    wait_for_answers(&h, consumer, 1).await;
    let value = h
        .read(consumer, PriceConsumer::lastValueCall {}.abi_encode())
        .await;
    assert_eq!(U256::abi_decode(&value).unwrap(), U256::from(10125));

    // The relay stops; a request arrives meanwhile; a new relay on the same state file serves
    // it, and only it.
    let _ = stop.send(true);
    relay.await.unwrap();
    h.ok(REQUESTER, consumer, ask, fee).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(run(config, stopped));
    wait_for_answers(&h, consumer, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        answers(&h, consumer).await,
        U256::from(2),
        "nothing was served twice"
    );
    let relay_account = address(RELAY);
    assert_eq!(h.balance_in_oracle(relay_account).await, fee + fee);
    // A private request: the relay published the enclave's key; the consumer seals its
    // parameters to it, only ciphertext reaches the chain, and the answer still arrives.
    let published = U256::abi_decode(
        &h.read(
            NATIVE_ORACLE_ADDRESS,
            NativeOracle::encryptionKeyOfCall(relay_enclave).abi_encode(),
        )
        .await,
    )
    .unwrap();
    assert_eq!(B256::from(published), enclave_key);
    let inner = ValueQuery {
        url: source.url("/price"),
        path: "$.usd".into(),
        result_type: "uint256".into(),
        decimals: 0,
    }
    .encode();
    let sealed = ankr_oracle::private::seal_request(
        relay_enclave,
        enclave_key,
        devnet::DEVNET_CHAIN_ID,
        NATIVE_ORACLE_ADDRESS,
        consumer,
        kind::JSON,
        &inner,
        None,
    );
    let ask = PriceConsumer::askCall {
        kind: kind::JSON | ankr_oracle::private::PRIVATE,
        params: sealed.into(),
        callbackGas: 150_000,
    };
    let receipt = h.ok(REQUESTER, consumer, ask.abi_encode(), fee).await;
    assert!(
        !receipt
            .to_string()
            .contains(&hex::encode(source.url("/price")))
    );
    wait_for_answers(&h, consumer, 3).await;
    let value = h
        .read(consumer, PriceConsumer::lastValueCall {}.abi_encode())
        .await;
    assert_eq!(U256::abi_decode(&value).unwrap(), U256::from(101));

    // A 9 KB document (audit M-5): its calldata needs the EIP-7623 floor; the relay's gas
    // used to fall below it, the node refused every delivery and the relay re-scanned.
    let hostile = h.deploy("HostileConsumer").await;
    let ask = HostileConsumer::askCall {
        kind: kind::DOCUMENT,
        params: source.url("/listing").abi_encode().into(),
        callbackGas: 20_000,
        mode_: 3,
    };
    h.ok(REQUESTER, hostile, ask.abi_encode(), wei(30_000 + 20_000))
        .await;
    let id = h.last_id().await;
    for _ in 0..300 {
        if h.state(id).await == DELIVERED {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        h.state(id).await,
        DELIVERED,
        "the large document was delivered"
    );

    let _ = stop.send(true);
    relay.await.unwrap();
    h.chain.node.stop().await;
}

async fn answers(h: &Harness, consumer: Address) -> U256 {
    let out = h
        .read(consumer, PriceConsumer::answersCall {}.abi_encode())
        .await;
    U256::abi_decode(&out).unwrap()
}

async fn wait_for_answers(h: &Harness, consumer: Address, n: u64) {
    for _ in 0..300 {
        if answers(h, consumer).await == U256::from(n) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the consumer never got answer {n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_relay_cannot_deliver_is_expired_and_refunded() {
    use ankr_oracle::relay::{RelayConfig, run};
    let h = Harness::start().await;
    let consumer = h.deploy("PriceConsumer").await;
    // A relay whose enclave nobody registered: every delivery it sends reverts.
    let config = RelayConfig {
        rpc_url: h.chain.node.rpc_url(),
        accounts: vec![ankr_node::test_utils::key(RELAY)],
        enclave: std::sync::Arc::new(oracle_enclave("never registered")),
        attestation: None,
        confirmations: 0,
        state_file: h.chain.dir().join("relay.state"),
        poll: std::time::Duration::from_millis(50),
        stats: Default::default(),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(run(config, stopped));
    let ask = PriceConsumer::askCall {
        kind: kind::JSON,
        params: price_params().into(),
        callbackGas: 150_000,
    };
    let fee = wei(30_000 + 150_000);
    h.ok(REQUESTER, consumer, ask.abi_encode(), fee).await;
    let id = h.last_id().await;
    // Blocks go by (transfers from another account) until the deadline has passed.
    for _ in 0..=TIMEOUT_BLOCKS {
        let me = address(2);
        h.ok(2, me, vec![], U256::from(1)).await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut expired = false;
    for _ in 0..100 {
        if h.state(id).await == EXPIRED {
            expired = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(expired, "the relay did not expire the request");
    assert_eq!(
        h.balance_in_oracle(consumer).await,
        fee,
        "the whole fee came back"
    );
    let _ = stop.send(true);
    relay.await.unwrap();
    h.chain.node.stop().await;
}

/// Audit item 16: the relay answered one request after another, so six requests naming a
/// source that stalls held back an honest request behind them (56 s). Now a scan's requests
/// are answered at once: the honest one is delivered while the stalled ones still wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_16_slow_sources_do_not_hold_back_an_honest_request() {
    use ankr_oracle::relay::{RelayConfig, run};
    use ankr_oracle::source::{LocalSource, Route};
    let h = Harness::start().await;
    let consumer = h.deploy("PriceConsumer").await;
    let source_dir = tempfile::tempdir().unwrap();
    let source = LocalSource::start(
        source_dir.path(),
        [
            (
                "/price".to_string(),
                Route::Document {
                    content_type: "application/json",
                    body: br#"{"usd":"7.00"}"#.to_vec(),
                },
            ),
            (
                "/stall".to_string(),
                // Longer than the enclave's 10 s fetch timeout: those requests are answered
                // "source timeout" at 10 s, which leaves a slow machine 10 s for the honest one.
                Route::Slow(std::time::Duration::from_secs(12)),
            ),
        ]
        .into(),
    )
    .await
    .unwrap();
    let ask = |path: &str| {
        let params = ValueQuery {
            url: source.url(path),
            path: "$.usd".into(),
            result_type: "uint256".into(),
            decimals: 2,
        }
        .encode();
        PriceConsumer::askCall {
            kind: kind::JSON,
            params: params.into(),
            callbackGas: 150_000,
        }
        .abi_encode()
    };
    let fee = wei(30_000 + 150_000);
    // Six stalling requests first, then the honest one, all before the relay looks.
    for _ in 0..6 {
        h.ok(REQUESTER, consumer, ask("/stall"), fee).await;
    }
    h.ok(REQUESTER, consumer, ask("/price"), fee).await;
    let honest = h.last_id().await;
    let enclave = OracleEnclave::new(
        secp256k1::SecretKey::from_byte_array(keccak256("registered oracle enclave").0).unwrap(),
        keccak256("registered oracle enclave"),
        &[source.ca_file.as_path()],
        FetchLimits {
            allow_private_addresses: true,
            ..FetchLimits::default()
        },
    )
    .unwrap();
    let config = RelayConfig {
        rpc_url: h.chain.node.rpc_url(),
        accounts: vec![ankr_node::test_utils::key(RELAY)],
        enclave: std::sync::Arc::new(enclave),
        attestation: None,
        confirmations: 0,
        state_file: h.chain.dir().join("relay.state"),
        poll: std::time::Duration::from_millis(50),
        stats: Default::default(),
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(run(config, stopped));
    for _ in 0..200 {
        if h.state(honest).await == DELIVERED {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(h.state(honest).await, DELIVERED, "the honest request");
    for stalled in 1..honest {
        assert_eq!(
            h.state(stalled).await,
            PENDING,
            "request {stalled} still waits on its source"
        );
    }
    // The stalled ones are answered too (a source timeout, an oracle fault: refunded).
    for _ in 0..600 {
        let mut waiting = 0;
        for stalled in 1..honest {
            waiting += usize::from(h.state(stalled).await == PENDING);
        }
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for stalled in 1..honest {
        assert_eq!(h.state(stalled).await, DELIVERED, "request {stalled}");
    }
    let _ = stop.send(true);
    relay.await.unwrap();
    h.chain.node.stop().await;
}
