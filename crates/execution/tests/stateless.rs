//! Blocks built by a real chain re-execute from their witnesses alone to the same roots, and
//! every witness that leaves something out or lies is refused, naming what is wrong.

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use alloy_sol_types::{SolCall, SolValue};
use ankr_chain::{Chain, Contents, Sealer};
use ankr_contracts::ExampleToken;
use ankr_execution::stateless::{
    ExecutionWitness, StatelessError, Tries, make_witness_from, verify,
};
use ankr_types::{
    Block, ChainSpec, GenesisAccount,
    chain_spec::ANKR,
    recovery::{address_of, sign_transaction},
};
use proptest::prelude::*;

const CHAIN_ID: u64 = 7_001;
const HOLDERS: u8 = 5;

fn key(i: u8) -> secp256k1::SecretKey {
    secp256k1::SecretKey::from_byte_array([i + 1; 32]).unwrap()
}

fn operator_key() -> secp256k1::SecretKey {
    key(200)
}

fn spec() -> ChainSpec {
    let mut spec = ChainSpec {
        name: "stateless".into(),
        chain_id: CHAIN_ID,
        gas_limit: 30_000_000,
        max_tx_gas: 16_777_216,
        block_reward: U256::ZERO,
        target_block_time_ms: 1000,
        initial_base_fee: 1_000_000_000,
        genesis_timestamp: 1_700_000_000,
        genesis_difficulty: U256::from(1),
        // EXECUTE takes child-chain blocks: operator-sealed.
        allow_dev_seal: false,
        operator: Some(address_of(&operator_key())),
        pouw: Default::default(),
        system_contracts: Default::default(),
        alloc: Default::default(),
    };
    for i in 0..HOLDERS {
        spec.alloc.insert(
            address_of(&key(i)),
            GenesisAccount {
                balance: U256::from(1_000 * ANKR),
                ..Default::default()
            },
        );
    }
    spec
}

/// A chain in a temporary folder, with the nonces its accounts have used.
struct Bench {
    _dir: tempfile::TempDir,
    chain: Chain,
    nonces: [u64; HOLDERS as usize],
}

impl Bench {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let chain = Chain::open(dir.path(), spec()).unwrap();
        Self {
            _dir: dir,
            chain,
            nonces: [0; HOLDERS as usize],
        }
    }

    fn send(&mut self, from: u8, to: TxKind, input: Vec<u8>, value: U256) {
        let nonce = &mut self.nonces[from as usize];
        let tx = sign_transaction(
            &key(from),
            TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: *nonce,
                gas_limit: 2_000_000,
                max_fee_per_gas: 10_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to,
                value,
                input: input.into(),
                ..Default::default()
            },
        );
        *nonce += 1;
        self.chain
            .submit_raw_transaction(&tx.encoded_2718())
            .unwrap();
    }

    /// Seals what the pool holds; returns the block.
    fn seal(&self) -> Block {
        let head = self.chain.head();
        let header = self
            .chain
            .build_block(
                Address::repeat_byte(0xbe),
                head.timestamp + 1,
                &Sealer::Operator(operator_key()),
                Contents::AnyNumber,
            )
            .unwrap()
            .unwrap();
        let body = self
            .chain
            .reader()
            .unwrap()
            .body(header.hash())
            .unwrap()
            .unwrap();
        Block {
            header,
            transactions: body.transactions,
        }
    }

    /// The block's witness from the kept tries, checked to be exactly the one the whole tries
    /// give (so no fallback hides a node the kept tries failed to give).
    fn witness(&self, block: &Block) -> ExecutionWitness {
        let reader = self.chain.reader().unwrap();
        let config = self.chain.execution_config();
        let along = make_witness_from(&reader, config, block, Tries::AlongTouched).unwrap();
        let whole = make_witness_from(&reader, config, block, Tries::Whole).unwrap();
        assert_eq!(
            along, whole,
            "the kept tries' witness differs from the whole tries'"
        );
        along
    }

    fn verify(&self, block: &Block, witness: &ExecutionWitness) -> Result<(), StatelessError> {
        verify(self.chain.execution_config(), block, witness).map(|_| ())
    }

    /// Deploys an ExampleToken from holder 0 with the whole supply; returns its address.
    fn token(&mut self) -> Address {
        let mut code = ankr_contracts::artifact("ExampleToken")
            .unwrap()
            .bytecode
            .to_vec();
        code.extend(
            (
                "Example".to_string(),
                "EXM".to_string(),
                U256::from(1_000_000u64),
            )
                .abi_encode_params(),
        );
        let deployer = address_of(&key(0));
        let address = deployer.create(self.nonces[0]);
        self.send(0, TxKind::Create, code, U256::ZERO);
        address
    }
}

fn transfer(to: Address, value: u64) -> Vec<u8> {
    ExampleToken::transferCall {
        to,
        value: U256::from(value),
    }
    .abi_encode()
}

#[test]
fn the_genesis_header_is_known_before_any_store_holds_it() {
    let bench = Bench::new();
    let stored = bench
        .chain
        .reader()
        .unwrap()
        .header_by_number(0)
        .unwrap()
        .unwrap();
    assert_eq!(ankr_execution::genesis_header(&spec()), stored);
}

#[test]
fn blocks_reexecute_from_their_witness_to_the_same_roots() {
    let mut bench = Bench::new();
    let token = bench.token();
    bench.send(
        1,
        TxKind::Call(address_of(&key(2))),
        vec![],
        U256::from(ANKR),
    );
    let first = bench.seal();
    let witness = bench.witness(&first);
    let outcome = verify(bench.chain.execution_config(), &first, &witness).unwrap();
    assert_eq!(outcome.state_root, first.header.state_root);
    assert!(
        witness.codes.is_empty(),
        "the deployed code is new: nothing to carry"
    );

    // Storage written, emptied (a holder sends everything: its slot is deleted) and read.
    bench.send(
        0,
        TxKind::Call(token),
        transfer(address_of(&key(1)), 400),
        U256::ZERO,
    );
    bench.send(
        0,
        TxKind::Call(token),
        transfer(address_of(&key(2)), 600),
        U256::ZERO,
    );
    let second = bench.seal();
    bench.send(
        1,
        TxKind::Call(token),
        transfer(address_of(&key(3)), 400),
        U256::ZERO,
    );
    bench.send(
        3,
        TxKind::Call(Address::repeat_byte(0x77)),
        vec![],
        U256::ZERO,
    );
    let third = bench.seal();
    for block in [&second, &third] {
        let witness = bench.witness(block);
        assert_eq!(witness.codes.len(), 1, "the token's code");
        bench.verify(block, &witness).unwrap();
        // The witness survives JSON, as `debug_executionWitness` serves it.
        let json = serde_json::to_string(&witness).unwrap();
        let back: ExecutionWitness = serde_json::from_str(&json).unwrap();
        bench.verify(block, &back).unwrap();
    }

    // An earlier block's witness, made after later blocks (the parent's state is rewound).
    bench.verify(&second, &bench.witness(&second)).unwrap();
}

#[test]
fn a_witness_that_omits_or_lies_and_a_wrong_header_are_refused_by_name() {
    let mut bench = Bench::new();
    let token = bench.token();
    bench.seal();
    bench.send(
        0,
        TxKind::Call(token),
        transfer(address_of(&key(1)), 5),
        U256::ZERO,
    );
    let block = bench.seal();
    let witness = bench.witness(&block);
    bench.verify(&block, &witness).unwrap();
    assert!(
        witness.state.len() >= 4,
        "account and storage paths: {}",
        witness.state.len()
    );

    // Every node of the witness is needed: without any one of them the run stops.
    for index in 0..witness.state.len() {
        let mut omitted = witness.clone();
        omitted.state.remove(index);
        let error = bench.verify(&block, &omitted).unwrap_err();
        assert!(
            matches!(&error, StatelessError::Incomplete(what) if what.contains("trie node")),
            "node {index}: {error}"
        );
        let mut lying = witness.clone();
        let mut node = lying.state[index].to_vec();
        let last = node.len() - 1;
        node[last] ^= 1;
        lying.state[index] = Bytes::from(node);
        assert!(
            matches!(
                bench.verify(&block, &lying),
                Err(StatelessError::Incomplete(_) | StatelessError::Malformed(_))
            ),
            "a changed node is simply not the node its parent names"
        );
    }
    let mut no_code = witness.clone();
    no_code.codes.clear();
    assert!(
        matches!(bench.verify(&block, &no_code), Err(StatelessError::Incomplete(what)) if what.contains("code"))
    );
    let mut other_parent = witness.clone();
    other_parent.headers.clear();
    assert!(matches!(
        bench.verify(&block, &other_parent),
        Err(StatelessError::Incomplete(_))
    ));
    let mut other_parent = witness.clone();
    other_parent.headers[0] = alloy_rlp::encode(
        bench
            .chain
            .reader()
            .unwrap()
            .header_by_number(0)
            .unwrap()
            .unwrap(),
    )
    .into();
    assert!(matches!(
        bench.verify(&block, &other_parent),
        Err(StatelessError::NotTheParent { .. })
    ));

    // A forged block's own witness (what a fraud proof carries) shows it wrong.
    let mut forged = block.clone();
    forged.header.state_root = alloy_primitives::B256::repeat_byte(1);
    let forged_witness = bench.witness(&forged);
    assert!(matches!(
        bench.verify(&forged, &forged_witness),
        Err(StatelessError::WrongStateRoot { .. })
    ));

    // A block carrying a signature that recovers no sender (high s): its witness is the
    // parent header alone, and it proves the block invalid.
    let mut unsigned = block.clone();
    let alloy_consensus::TxEnvelope::Eip1559(signed) = &block.transactions[0] else {
        panic!("the bench sends EIP-1559 transactions");
    };
    let high_s = alloy_primitives::Signature::new(
        signed.signature().r(),
        U256::MAX - U256::from(1),
        signed.signature().v(),
    );
    unsigned.transactions[0] = alloy_consensus::TxEnvelope::Eip1559(
        alloy_consensus::Signed::new_unhashed(signed.tx().clone(), high_s),
    );
    let unsigned_witness = bench.witness(&unsigned);
    assert!(unsigned_witness.state.is_empty() && unsigned_witness.headers.len() == 1);
    assert!(matches!(
        bench.verify(&unsigned, &unsigned_witness),
        Err(StatelessError::BadSignature { index: 0, .. })
    ));

    let mut wrong = block.clone();
    wrong.header.state_root = alloy_primitives::B256::repeat_byte(1);
    assert!(matches!(
        bench.verify(&wrong, &witness),
        Err(StatelessError::WrongStateRoot { expected, .. }) if expected == block.header.state_root
    ));
    let mut wrong = block.clone();
    wrong.header.gas_used += 1;
    assert!(matches!(
        bench.verify(&wrong, &witness),
        Err(StatelessError::WrongGasUsed { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any sequence of token transfers and payments, in blocks of any size: every block's
    /// witness re-executes to its header's roots (slots are created and deleted, accounts made).
    #[test]
    fn every_block_verifies_from_its_witness(
        blocks in prop::collection::vec(
            prop::collection::vec((0..HOLDERS, 0..HOLDERS + 2, 0u64..1_500, any::<bool>()), 1..5),
            1..5,
        )
    ) {
        let mut bench = Bench::new();
        let token = bench.token();
        bench.seal();
        let mut holdings = [1_000_000u64, 0, 0, 0, 0];
        for txs in blocks {
            for (from, to, amount, pay) in txs {
                let to_address = if to < HOLDERS { address_of(&key(to)) } else { Address::repeat_byte(to) };
                if pay {
                    bench.send(from, TxKind::Call(to_address), vec![], U256::from(amount));
                } else {
                    // Only what the holder has, so the transfer succeeds (a failing one is fine
                    // too, but moves nothing).
                    let amount = amount.min(holdings[from as usize]);
                    holdings[from as usize] -= amount;
                    if to < HOLDERS {
                        holdings[to as usize] += amount;
                    }
                    bench.send(from, TxKind::Call(token), transfer(to_address, amount), U256::ZERO);
                }
            }
            let block = bench.seal();
            let witness = bench.witness(&block);
            prop_assert!(bench.verify(&block, &witness).is_ok());
        }
    }
}

/// EXECUTE's input for `block` of the bench's chain (chain id, max tx gas, no reward).
fn execute_input(block: &Block, witness: &ExecutionWitness) -> Vec<u8> {
    (
        U256::from(CHAIN_ID),
        U256::from(16_777_216u64),
        U256::ZERO,
        Bytes::from(alloy_rlp::encode(block)),
        witness.state.clone(),
        witness.codes.clone(),
        witness.headers.clone(),
    )
        .abi_encode_params()
}

/// Calls EXECUTE on the bench chain's head state (as the main chain would) with `gas`.
fn call_execute(bench: &Bench, input: Vec<u8>, gas: u64) -> ankr_execution::CallOutcome {
    let state = bench.chain.reader().unwrap().state().unwrap();
    let head = bench.chain.head();
    let mut context = ankr_execution::BlockContext::of(&head);
    context.number += 1;
    context.gas_limit = 30_000_000;
    ankr_execution::call(
        &state,
        bench.chain.execution_config(),
        &context,
        &ankr_execution::CallRequest {
            from: Some(address_of(&key(4))),
            to: Some(ankr_execution::stateless::EXECUTE_ADDRESS),
            gas: Some(gas),
            input: input.into(),
            ..Default::default()
        },
    )
    .unwrap()
}

type Answer = (
    alloy_primitives::B256,
    alloy_primitives::B256,
    U256,
    bool,
    alloy_primitives::B256,
    alloy_primitives::B256,
    U256,
    alloy_primitives::B256,
    U256,
    alloy_primitives::B256,
    Address,
);

#[test]
fn the_execute_precompile_checks_a_block_and_charges_for_its_gas_and_witness() {
    let mut bench = Bench::new();
    let token = bench.token();
    bench.seal();
    bench.send(
        0,
        TxKind::Call(token),
        transfer(address_of(&key(1)), 7),
        U256::ZERO,
    );
    let block = bench.seal();
    let witness = bench.witness(&block);
    let input = execute_input(&block, &witness);
    let price = ankr_execution::stateless::execute_gas(block.header.gas_used, input.len());

    let ankr_execution::CallOutcome::Success { output, gas_used } =
        call_execute(&bench, input.clone(), 10_000_000)
    else {
        panic!("EXECUTE refused an honest block");
    };
    let (
        hash,
        parent,
        number,
        valid,
        state_root,
        _receipts,
        gas,
        anchor,
        _timestamp,
        _parent_anchor,
        sealer,
    ) = Answer::abi_decode_params(&output).unwrap();
    assert_eq!(sealer, address_of(&operator_key()), "the seal's signer");
    assert_eq!(anchor, block.header.child_chains_root, "the block's anchor");
    assert!(valid);
    assert_eq!(hash, block.header.hash());
    assert_eq!(parent, block.header.parent_hash);
    assert_eq!(number, U256::from(block.header.number));
    assert_eq!(state_root, block.header.state_root);
    assert_eq!(gas, U256::from(block.header.gas_used));
    assert!(
        gas_used > price,
        "the call paid EXECUTE's {price} gas: {gas_used}"
    );

    // A header that lies about its state root: answered, and not valid.
    let mut wrong = block.clone();
    wrong.header.state_root = alloy_primitives::B256::repeat_byte(9);
    let ankr_execution::CallOutcome::Success { output, .. } =
        call_execute(&bench, execute_input(&wrong, &witness), 10_000_000)
    else {
        panic!("EXECUTE must answer a wrong block");
    };
    let answer = Answer::abi_decode_params(&output).unwrap();
    assert!(!answer.3, "a wrong state root is not valid");
    assert_eq!(
        answer.4, block.header.state_root,
        "the computed root is returned"
    );
    assert_eq!(answer.0, wrong.header.hash());

    // A witness missing a node, a malformed input, too little gas: the call fails.
    let mut short = witness.clone();
    short.state.pop();
    assert!(matches!(
        call_execute(&bench, execute_input(&block, &short), 10_000_000),
        ankr_execution::CallOutcome::Halt { .. }
    ));
    assert!(matches!(
        call_execute(&bench, vec![1, 2, 3], 10_000_000),
        ankr_execution::CallOutcome::Halt { .. }
    ));
    // Enough for the calldata (EIP-7623 floor) but not for EXECUTE's price: out of gas.
    assert!(price > 170_000, "{price}");
    assert!(matches!(
        call_execute(&bench, input, 170_000),
        ankr_execution::CallOutcome::Halt { .. }
    ));
}

/// A header that breaks a rule nodes check against its parent is answered not valid, even
/// when its execution is right and the operator signed it: otherwise such a block, refused by
/// every node, could be committed and become final without anyone able to prove it wrong.
#[test]
fn execute_finds_a_block_breaking_a_header_rule_invalid() {
    let mut bench = Bench::new();
    bench.seal();
    bench.send(
        0,
        TxKind::Call(address_of(&key(3))),
        Vec::new(),
        U256::from(5),
    );
    let block = bench.seal();
    let witness = bench.witness(&block);
    let answer = |block: &Block| {
        let ankr_execution::CallOutcome::Success { output, .. } =
            call_execute(&bench, execute_input(block, &witness), 10_000_000)
        else {
            panic!("EXECUTE must answer a block with a complete witness");
        };
        Answer::abi_decode_params(&output).unwrap()
    };
    assert!(answer(&block).3, "the honest block is valid");

    let parent_timestamp = bench
        .chain
        .reader()
        .unwrap()
        .header(block.header.parent_hash)
        .unwrap()
        .unwrap()
        .timestamp;
    type Break<'a> = (&'a str, &'a dyn Fn(&mut ankr_types::Header));
    let breaks: [Break; 6] = [
        ("base fee", &|h| h.base_fee_per_gas += 1),
        ("gas limit", &|h| h.gas_limit += 1),
        ("extra data", &|h| h.extra_data = vec![7; 33].into()),
        ("timestamp", &|h| h.timestamp = parent_timestamp - 1),
        ("difficulty", &|h| h.difficulty += U256::from(1)),
        ("number", &|h| h.number += 1),
    ];
    for (rule, break_it) in breaks {
        let mut wrong = block.clone();
        break_it(&mut wrong.header);
        wrong.header.seal =
            ankr_types::Seal::operator(&operator_key(), CHAIN_ID, wrong.header.template_hash());
        let answer = answer(&wrong);
        assert!(!answer.3, "a block breaking the {rule} rule is not valid");
        assert_eq!(answer.0, wrong.header.hash());
        assert_eq!(
            answer.10,
            address_of(&operator_key()),
            "still the operator's seal"
        );
    }

    // Signed by someone else: valid by its rules, but the sealer is not the operator (the
    // manager compares it with its owner); not operator-sealed at all: not valid.
    let mut stranger = block.clone();
    stranger.header.seal =
        ankr_types::Seal::operator(&key(9), CHAIN_ID, stranger.header.template_hash());
    assert_eq!(answer(&stranger).10, address_of(&key(9)));
    let mut unsealed = block.clone();
    unsealed.header.seal = ankr_types::Seal::dev();
    let answer = answer(&unsealed);
    assert!(!answer.3, "a dev seal is not valid on a child chain");
    assert_eq!(answer.10, Address::ZERO);
}
