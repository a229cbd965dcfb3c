//! Escrow conservation of NativeOracle, as a property: over random sequences of requests
//! (under- and overpaid, any callback gas), deliveries (answers and oracle faults), cancels,
//! expiries, withdrawals and idle blocks, run as real transactions in real blocks, the
//! contract's balances match a model of the rules after every block, the contract always
//! holds exactly the pending fees plus everything it owes (it never runs out of money), and
//! no requester pays more for a request than (Gmin + callback gas)·P.

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, SolValue};
use ankr_chain::{Chain, Contents};
use ankr_contracts::NativeOracle;
use ankr_contracts::genesis::{NATIVE_ORACLE_ADDRESS, OracleGenesis, native_oracle_genesis};
use ankr_execution::BlockContext;
use ankr_node::devnet;
use ankr_oracle::datagram::{OracleRequest, code, kind};
use ankr_oracle::{FetchLimits, OracleEnclave};
use proptest::prelude::*;
use std::collections::BTreeMap;

const P: u64 = 50_000_000_000;
const MIN_GAS: u64 = 30_000;
const CANCEL_GAS: u64 = 25_000;
const TIMEOUT: u64 = 3;
const COLLECTOR: Address = Address::repeat_byte(0xfc);
/// Dev accounts 1-3 ask; account 4 relays.
const REQUESTERS: [usize; 3] = [1, 2, 3];
const RELAY: usize = 4;
/// `NativeOracle.CANCEL_GRACE_BLOCKS`.
const CANCEL_GRACE_BLOCKS: u64 = 20;

#[derive(Clone, Debug)]
enum Op {
    Request {
        who: usize,
        callback_gas: u32,
        overpay: u64,
    },
    Deliver {
        pick: usize,
        fault: bool,
    },
    Cancel {
        pick: usize,
    },
    Expire {
        pick: usize,
    },
    Withdraw {
        who: usize,
    },
    Idle,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..200_000u32, prop_oneof![Just(0u64), 1..1_000_000_000_000_000u64])
            .prop_map(|(who, callback_gas, overpay)| Op::Request { who: REQUESTERS[who], callback_gas, overpay }),
        3 => (any::<usize>(), any::<bool>()).prop_map(|(pick, fault)| Op::Deliver { pick, fault }),
        2 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Expire { pick }),
        1 => prop_oneof![Just(RELAY), Just(1usize), Just(2usize), Just(3usize)].prop_map(|who| Op::Withdraw { who }),
        1 => Just(Op::Idle),
    ]
}

fn key(i: usize) -> secp256k1::SecretKey {
    devnet::accounts()[i].secret
}

fn address(i: usize) -> Address {
    devnet::accounts()[i].address
}

/// The rules, as the model keeps them.
#[derive(Default)]
struct Model {
    /// id → (requester, fee held, deadline block).
    pending: BTreeMap<u64, (Address, U256, u64)>,
    /// id → the block from which its asked-for cancellation takes effect.
    cancelling: BTreeMap<u64, u64>,
    owed: BTreeMap<Address, U256>,
    last_id: u64,
}

struct World {
    _dir: tempfile::TempDir,
    chain: Chain,
    enclave: OracleEnclave,
    nonces: BTreeMap<usize, u64>,
}

impl World {
    fn new() -> Self {
        let enclave = OracleEnclave::new(
            secp256k1::SecretKey::from_byte_array(keccak256("escrow oracle").0).unwrap(),
            keccak256("escrow platform"),
            &[],
            FetchLimits::default(),
        )
        .unwrap();
        let mut spec = devnet::spec();
        devnet::bootstrap_oracle(&mut spec, enclave.address(), 1_000_000);
        spec.alloc.insert(
            NATIVE_ORACLE_ADDRESS,
            native_oracle_genesis(&OracleGenesis {
                timeout_blocks: TIMEOUT,
                fee_collector: COLLECTOR,
                ..Default::default()
            })
            .unwrap(),
        );
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), spec).unwrap();
        Self {
            _dir: dir,
            chain,
            enclave,
            nonces: BTreeMap::new(),
        }
    }

    /// Sends one call from dev account `from` in a block of its own; whether it succeeded.
    fn send(&mut self, from: usize, input: Vec<u8>, value: U256, gas_limit: u64) -> bool {
        let nonce = self.nonces.entry(from).or_default();
        let tx = TxEip1559 {
            chain_id: devnet::DEVNET_CHAIN_ID,
            nonce: *nonce,
            gas_limit,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(NATIVE_ORACLE_ADDRESS),
            value,
            input: input.into(),
            ..Default::default()
        };
        *nonce += 1;
        let signed = ankr_types::recovery::sign_transaction(&key(from), tx);
        self.chain
            .submit_raw_transaction(&signed.encoded_2718())
            .unwrap();
        self.block();
        let reader = self.chain.reader().unwrap();
        let head = self.chain.head();
        let receipts = reader.receipts(head.hash()).unwrap().unwrap();
        assert_eq!(receipts.len(), 1, "the transaction is in the block");
        receipts[0].status()
    }

    fn block(&self) {
        let head = self.chain.head();
        self.chain
            .build_block(
                Address::ZERO,
                head.timestamp + 1,
                &ankr_chain::Sealer::Dev,
                Contents::AnyNumber,
            )
            .unwrap();
    }

    fn read(&self, input: Vec<u8>) -> Vec<u8> {
        let state = self.chain.reader().unwrap().state().unwrap();
        let head = self.chain.head();
        ankr_execution::system_call(
            &state,
            self.chain.execution_config(),
            &BlockContext::of(&head),
            NATIVE_ORACLE_ADDRESS,
            input.into(),
        )
        .unwrap()
        .to_vec()
    }

    fn owed(&self, who: Address) -> U256 {
        U256::abi_decode(&self.read(NativeOracle::balanceOfCall(who).abi_encode())).unwrap()
    }

    fn contract_balance(&self) -> U256 {
        let state = self.chain.reader().unwrap().state().unwrap();
        state
            .account(NATIVE_ORACLE_ADDRESS)
            .unwrap()
            .map_or(U256::ZERO, |a| a.balance)
    }
}

fn pick(model: &Model, pick: usize) -> Option<u64> {
    let ids: Vec<u64> = model.pending.keys().copied().collect();
    (!ids.is_empty()).then(|| ids[pick % ids.len()])
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut world = World::new();
    let mut model = Model::default();
    let price = U256::from(P);
    let params = b"escrow".to_vec();
    for op in ops {
        let head = world.chain.head().number;
        match op {
            Op::Request {
                who,
                callback_gas,
                overpay,
            } => {
                let needed = U256::from(MIN_GAS + u64::from(callback_gas)) * price;
                let value = needed + U256::from(overpay);
                let call = NativeOracle::requestCall {
                    kind: kind::JSON,
                    params: params.clone().into(),
                    callbackSelector: Default::default(),
                    callbackGas: callback_gas,
                };
                let too_much = value > U256::from(3_000_000u64) * price;
                let ok = world.send(who, call.abi_encode(), value, 300_000);
                prop_assert_eq!(ok, !too_much);
                if ok {
                    model.last_id += 1;
                    model
                        .pending
                        .insert(model.last_id, (address(who), needed, head + 1 + TIMEOUT));
                    *model.owed.entry(address(who)).or_default() += U256::from(overpay);
                }
            }
            Op::Deliver { pick: p, fault } => {
                let Some(id) = pick(&model, p) else { continue };
                let (requester, fee, _) = model.pending[&id];
                let request = OracleRequest {
                    chain_id: devnet::DEVNET_CHAIN_ID,
                    oracle: NATIVE_ORACLE_ADDRESS,
                    id,
                    requester,
                    kind: kind::JSON,
                    params: params.clone(),
                };
                let answer = if fault {
                    code::SOURCE_UNREACHABLE
                } else {
                    code::OK
                };
                let datagram = world
                    .enclave
                    .sign(&request, address(RELAY), answer, vec![1, 2, 3]);
                let call = NativeOracle::deliverCall {
                    id,
                    paramsHash: datagram.params_hash,
                    code: datagram.code,
                    data: datagram.data.clone().into(),
                    enclaveSig: datagram.signature.to_vec().into(),
                };
                prop_assert!(world.send(RELAY, call.abi_encode(), U256::ZERO, 600_000));
                model.pending.remove(&id);
                let payee = if fault { requester } else { address(RELAY) };
                *model.owed.entry(payee).or_default() += fee;
            }
            Op::Cancel { pick: p } => {
                let Some(id) = pick(&model, p) else { continue };
                let (requester, fee, _) = model.pending[&id];
                let who = REQUESTERS
                    .into_iter()
                    .find(|&i| address(i) == requester)
                    .unwrap();
                let ok = world.send(
                    who,
                    NativeOracle::cancelCall { id }.abi_encode(),
                    U256::ZERO,
                    200_000,
                );
                // The first call asks; from CANCEL_GRACE_BLOCKS later, another cancels.
                match model.cancelling.get(&id) {
                    None => {
                        prop_assert!(ok, "asking to cancel");
                        model.cancelling.insert(id, head + 1 + CANCEL_GRACE_BLOCKS);
                    }
                    Some(&from) if head + 1 < from => {
                        prop_assert!(!ok, "cancelled before block {}", from);
                    }
                    Some(_) => {
                        prop_assert!(ok, "cancelling");
                        model.pending.remove(&id);
                        let kept = U256::from(CANCEL_GAS) * price;
                        *model.owed.entry(requester).or_default() += fee - kept;
                        *model.owed.entry(COLLECTOR).or_default() += kept;
                    }
                }
            }
            Op::Expire { pick: p } => {
                let Some(id) = pick(&model, p) else { continue };
                let (requester, fee, deadline) = model.pending[&id];
                let ok = world.send(
                    RELAY,
                    NativeOracle::expireCall { id }.abi_encode(),
                    U256::ZERO,
                    200_000,
                );
                prop_assert_eq!(
                    ok,
                    head + 1 > deadline,
                    "expiry of {} at {} (deadline {})",
                    id,
                    head + 1,
                    deadline
                );
                if ok {
                    model.pending.remove(&id);
                    *model.owed.entry(requester).or_default() += fee;
                }
            }
            Op::Withdraw { who } => {
                let owed = model.owed.get(&address(who)).copied().unwrap_or_default();
                let ok = world.send(
                    who,
                    NativeOracle::withdrawCall {}.abi_encode(),
                    U256::ZERO,
                    100_000,
                );
                prop_assert_eq!(ok, !owed.is_zero());
                model.owed.remove(&address(who));
            }
            Op::Idle => {
                for _ in 0..10 {
                    world.block()
                }
            }
        }
        // The contract agrees with the model, and holds exactly what it must.
        for (who, owed) in &model.owed {
            prop_assert_eq!(world.owed(*who), *owed, "owed to {}", who);
        }
        let held: U256 = model.pending.values().map(|(_, fee, _)| *fee).sum();
        let owed: U256 = model.owed.values().copied().sum();
        prop_assert_eq!(world.contract_balance(), held + owed);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn the_oracle_escrow_is_conserved(ops in prop::collection::vec(op(), 1..30)) {
        run(ops)?;
    }
}
