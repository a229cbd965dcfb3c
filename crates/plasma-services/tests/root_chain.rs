//! RootChain (one Plasma child chain's contract) against a real node: signed transactions
//! through JSON-RPC, blocks sealed by the test at times it chooses (so that the real 7- and
//! 14-day periods pass in no time), child blocks made by the operator's own `Ledger`. Deposits
//! and their numbering, exits with confirm signatures, challenges, the exit queue, the
//! withdrawal-delay attack, finalize under a tight gas limit, a withheld block, fraud proofs,
//! and the Solidity decoder agreeing with `ankr_plasma::PlasmaTx::decode`.

use std::sync::atomic::{AtomicU64, Ordering};

use alloy_primitives::{Address, B256, Bytes, U256, hex, keccak256};
use alloy_sol_types::{SolCall, SolEvent, SolValue};
use ankr_chain::Contents;
use ankr_contracts::{RootChain, artifact};
use ankr_node::test_utils::{ANKR, DevChain, address, ankr, key};
use ankr_node::{DevSealing, devnet};
use ankr_plasma::transaction::confirm;
use ankr_plasma::{ChildBlock, Ledger, MerkleTree, Output, PlasmaTx, TxDomain, UtxoPos};
use serde_json::{Value, json};

const DAY: u64 = 86_400;
const CHALLENGE_PERIOD: u64 = 7 * DAY;
const MATURITY_PERIOD: u64 = 14 * DAY;
const BOND: u128 = ANKR / 100;
const STAKE: u128 = 5 * ANKR;

const OPERATOR: usize = 0;
const ALICE: usize = 1;
const BOB: usize = 2;
const CAROL: usize = 3;
const DAVE: usize = 4;

/// A node the test seals, the RootChain its operator deployed, and a clock.
struct Harness {
    chain: DevChain,
    root_chain: Address,
    clock: AtomicU64,
}

impl Harness {
    async fn start() -> Self {
        let mut harness = Self {
            chain: DevChain::start(devnet::spec(), DevSealing::Off).await,
            root_chain: Address::ZERO,
            clock: AtomicU64::new(ankr_chain::now_seconds()),
        };
        let mut code = artifact("RootChain").unwrap().bytecode.to_vec();
        code.extend(
            (
                U256::from(CHALLENGE_PERIOD),
                U256::from(MATURITY_PERIOD),
                ankr(BOND),
            )
                .abi_encode_params(),
        );
        let receipt = harness
            .send(OPERATOR, None, code, ankr(STAKE), 8_000_000)
            .await;
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        harness.root_chain = receipt["contractAddress"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        // The domain the tests sign in is the contract's own.
        assert_eq!(harness.root_chain, address(OPERATOR).create(0));
        assert_eq!(
            harness.read(RootChain::txDomainCall {}).await,
            domain().0,
            "RootChain.txDomain() is ankr_plasma::TxDomain"
        );
        harness
    }

    /// Moves the clock the next block is sealed at.
    fn warp(&self, seconds: u64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Seals one block of whatever is pooled, at the clock.
    fn seal(&self) {
        let at = self.clock.fetch_add(1, Ordering::SeqCst);
        let header = self
            .chain
            .node
            .chain
            .build_block(
                Address::repeat_byte(0xbe),
                at,
                &ankr_chain::Sealer::Dev,
                Contents::AnyNumber,
            )
            .unwrap()
            .unwrap();
        self.clock.fetch_max(header.timestamp + 1, Ordering::SeqCst);
    }

    /// Signs and pools a transaction; returns its hash.
    async fn pool(
        &self,
        from: usize,
        to: Option<Address>,
        data: Vec<u8>,
        value: U256,
        gas_limit: u64,
    ) -> String {
        self.chain.pool(from, to, data, value, gas_limit).await
    }

    async fn receipt(&self, hash: &str) -> Value {
        self.chain.receipt(hash).await
    }

    /// Sends a transaction, seals it into a block and returns its receipt.
    async fn send(
        &self,
        from: usize,
        to: Option<Address>,
        data: Vec<u8>,
        value: U256,
        gas_limit: u64,
    ) -> Value {
        let hash = self.pool(from, to, data, value, gas_limit).await;
        self.seal();
        self.receipt(&hash).await
    }

    /// A RootChain call that must succeed.
    async fn ok(&self, from: usize, call: impl SolCall, value: U256) -> Value {
        let receipt = self
            .send(
                from,
                Some(self.root_chain),
                call.abi_encode(),
                value,
                3_000_000,
            )
            .await;
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        receipt
    }

    /// A RootChain call that must revert with `reason` (checked with eth_call, not sent).
    async fn refused(&self, from: usize, call: impl SolCall, value: U256, reason: &str) {
        let error = self
            .call(from, call.abi_encode(), value)
            .await
            .expect_err(&format!("expected a refusal: {reason}"));
        assert!(error.contains(reason), "expected {reason:?}, got {error}");
    }

    async fn call(&self, from: usize, data: Vec<u8>, value: U256) -> Result<Bytes, String> {
        self.chain.call(from, self.root_chain, data, value).await
    }

    async fn read<C: SolCall>(&self, call: C) -> C::Return {
        let out = self
            .call(DAVE, call.abi_encode(), U256::ZERO)
            .await
            .unwrap();
        C::abi_decode_returns(&out).unwrap()
    }

    /// Deposits `amount` from `who` and records it in the operator's ledger.
    async fn deposit(&self, ledger: &mut Ledger, who: usize, amount: U256) -> UtxoPos {
        let receipt = self.ok(who, RootChain::depositCall {}, amount).await;
        let deposit: RootChain::Deposit = events(&receipt).remove(0);
        let blknum = deposit.blknum.to::<u64>();
        let block = ledger
            .deposit(blknum, address(who), amount)
            .unwrap()
            .clone();
        let on_chain = self.read(RootChain::blocksCall(U256::from(blknum))).await;
        assert_eq!(
            on_chain.root, block.root,
            "the contract hashes a deposit block as the ledger does"
        );
        UtxoPos {
            blknum,
            txindex: 0,
            oindex: 0,
        }
    }

    /// Seals the ledger's pool into the next child block and submits its root.
    async fn submit(&self, ledger: &mut Ledger) -> ChildBlock {
        let block = ledger.seal_block().clone();
        self.submit_block(&block).await;
        block
    }

    async fn submit_block(&self, block: &ChildBlock) {
        let receipt = self
            .ok(
                OPERATOR,
                RootChain::submitBlockCall { root: block.root },
                U256::ZERO,
            )
            .await;
        let submitted: RootChain::BlockSubmitted = events(&receipt).remove(0);
        assert_eq!(submitted.blknum.to::<u64>(), block.number);
    }

    fn exit_call(
        block: &ChildBlock,
        txindex: u32,
        oindex: u8,
        confirm_sigs: Vec<u8>,
    ) -> RootChain::startExitCall {
        RootChain::startExitCall {
            plasmaBlockNum: U256::from(block.number),
            txindex: U256::from(txindex),
            oindex: U256::from(oindex),
            txBytes: block.transactions[txindex as usize].encode().into(),
            proof: block.proof(txindex).into(),
            confirmSig: confirm_sigs.into(),
        }
    }

    async fn start_exit(
        &self,
        who: usize,
        block: &ChildBlock,
        txindex: u32,
        oindex: u8,
        confirm_sigs: Vec<u8>,
    ) -> Value {
        self.ok(
            who,
            Self::exit_call(block, txindex, oindex, confirm_sigs),
            ankr(BOND),
        )
        .await
    }

    /// Calls finalizeExit with `gas` and returns the exits it paid, in order.
    async fn finalize(&self, gas: u64) -> Vec<UtxoPos> {
        let receipt = self
            .send(
                DAVE,
                Some(self.root_chain),
                RootChain::finalizeExitCall {}.abi_encode(),
                U256::ZERO,
                gas,
            )
            .await;
        assert_eq!(receipt["status"], "0x1", "finalize never fails: {receipt}");
        events::<RootChain::ExitFinalized>(&receipt)
            .iter()
            .map(|e| UtxoPos {
                blknum: e.plasmaBlockNum.to(),
                txindex: e.txindex.to(),
                oindex: e.oindex.to(),
            })
            .collect()
    }

    async fn owed(&self, who: usize) -> U256 {
        self.read(RootChain::withdrawalsCall(address(who))).await
    }

    async fn queue_length(&self) -> u64 {
        self.read(RootChain::exitQueueLengthCall {}).await.to()
    }
}

/// The events of type `E` a receipt's logs hold, in order.
fn events<E: SolEvent>(receipt: &Value) -> Vec<E> {
    receipt["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|log| {
            let topics: Vec<B256> = log["topics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().parse().unwrap())
                .collect();
            let data = hex::decode(log["data"].as_str().unwrap()).unwrap();
            E::decode_raw_log(topics, &data).ok()
        })
        .collect()
}

/// A transaction spending `inputs` (position, owner) to `outputs`, signed by the owners.
/// The domain of the Harness's RootChain: the operator's first deployment on the devnet.
fn domain() -> TxDomain {
    TxDomain::new(devnet::DEVNET_CHAIN_ID, address(OPERATOR).create(0))
}

fn spend(inputs: &[(UtxoPos, usize)], outputs: &[(usize, U256)], fee: U256) -> PlasmaTx {
    let positions: Vec<UtxoPos> = inputs.iter().map(|(pos, _)| *pos).collect();
    let outputs: Vec<Output> = outputs
        .iter()
        .map(|(who, denom)| Output {
            owner: address(*who),
            denom: *denom,
        })
        .collect();
    let mut tx = PlasmaTx::spending(&positions, &outputs, fee);
    for (i, (_, owner)) in inputs.iter().enumerate() {
        tx.sign_input(i, &key(*owner), domain());
    }
    tx
}

/// The confirm signature of `who` over transaction `txindex` of `block`.
fn confirmation(who: usize, block: &ChildBlock, txindex: u32) -> Vec<u8> {
    confirm(
        &key(who),
        block.transactions[txindex as usize].hash(),
        block.root,
    )
    .to_vec()
}

fn pos(blknum: u64, txindex: u32, oindex: u8) -> UtxoPos {
    UtxoPos {
        blknum,
        txindex,
        oindex,
    }
}

#[tokio::test]
async fn deposits_are_numbered_between_child_blocks_and_at_most_999() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    for expected in 1..=3 {
        assert_eq!(
            h.deposit(&mut ledger, ALICE, ankr(ANKR)).await.blknum,
            expected
        );
    }
    let block = h.submit(&mut ledger).await;
    assert_eq!(block.number, 1000);
    assert_eq!(h.deposit(&mut ledger, BOB, ankr(7)).await.blknum, 1001);
    h.refused(
        BOB,
        RootChain::submitBlockCall {
            root: B256::repeat_byte(1),
        },
        U256::ZERO,
        "only the operator",
    )
    .await;

    // 998 more deposits fill 1002 … 1999; the next is refused until block 2000.
    let senders = [ALICE, BOB, CAROL, DAVE, 5, 6, 7, 8, 9];
    let mut left = 998;
    while left > 0 {
        let mut hashes = Vec::new();
        for &who in &senders {
            for _ in 0..60.min(left) {
                hashes.push(
                    h.pool(
                        who,
                        Some(h.root_chain),
                        RootChain::depositCall {}.abi_encode(),
                        ankr(1),
                        200_000,
                    )
                    .await,
                );
                left -= 1;
            }
        }
        while h.chain.node.chain.pool_size() > 0 {
            h.seal();
        }
        for hash in hashes {
            assert_eq!(h.receipt(&hash).await["status"], "0x1");
        }
    }
    assert_eq!(
        h.read(RootChain::currentDepositBlockCall {}).await,
        U256::from(1000),
        "1999 was the last"
    );
    h.refused(
        ALICE,
        RootChain::depositCall {},
        ankr(1),
        "999 deposits since the last child block",
    )
    .await;
    h.ok(
        OPERATOR,
        RootChain::submitBlockCall {
            root: B256::repeat_byte(2),
        },
        U256::ZERO,
    )
    .await;
    // A retried submission mined after the first would make block 3000 a copy of 2000.
    h.refused(
        OPERATOR,
        RootChain::submitBlockCall {
            root: B256::repeat_byte(2),
        },
        U256::ZERO,
        "root already submitted",
    )
    .await;
    let receipt = h.ok(ALICE, RootChain::depositCall {}, ankr(1)).await;
    assert_eq!(
        events::<RootChain::Deposit>(&receipt)[0].blknum,
        U256::from(2001)
    );
}

#[tokio::test]
async fn a_deposit_exits_after_maturity_and_is_withdrawn() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let deposit = h.deposit(&mut ledger, ALICE, ankr(ANKR)).await;
    let block = ledger.block(deposit.blknum).unwrap().clone();

    h.refused(
        BOB,
        Harness::exit_call(&block, 0, 0, vec![]),
        ankr(BOND),
        "only the output's owner",
    )
    .await;
    h.refused(
        ALICE,
        Harness::exit_call(&block, 0, 0, vec![]),
        ankr(BOND - 1),
        "exit bond",
    )
    .await;
    let mut wrong_proof = Harness::exit_call(&block, 0, 0, vec![]);
    wrong_proof.proof = vec![1u8; 512].into();
    h.refused(ALICE, wrong_proof, ankr(BOND), "not in the block")
        .await;
    h.refused(
        ALICE,
        Harness::exit_call(&block, 0, 0, vec![0; 65]),
        ankr(BOND),
        "one confirm signature per input",
    )
    .await;

    h.start_exit(ALICE, &block, 0, 0, vec![]).await;
    h.refused(
        ALICE,
        Harness::exit_call(&block, 0, 0, vec![]),
        ankr(BOND),
        "exiting or exited",
    )
    .await;
    assert_eq!(h.finalize(1_000_000).await, vec![], "not matured");
    h.warp(MATURITY_PERIOD - 10);
    assert_eq!(h.finalize(1_000_000).await, vec![], "not matured");
    h.warp(20);
    assert_eq!(h.finalize(1_000_000).await, vec![deposit]);
    assert_eq!(h.owed(ALICE).await, ankr(ANKR + BOND));
    let receipt = h.ok(ALICE, RootChain::withdrawCall {}, U256::ZERO).await;
    assert_eq!(
        events::<RootChain::Withdrawal>(&receipt)[0].amount,
        ankr(ANKR + BOND)
    );
    h.refused(
        ALICE,
        RootChain::withdrawCall {},
        U256::ZERO,
        "nothing to withdraw",
    )
    .await;
    h.refused(
        ALICE,
        Harness::exit_call(&block, 0, 0, vec![]),
        ankr(BOND),
        "exiting or exited",
    )
    .await;
}

/// secp256k1's order: (r, n − s, v ^ 1) is the same signature's malleable twin.
const ORDER: U256 = U256::from_be_slice(&alloy_primitives::hex!(
    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
));

fn high_s(signature: &[u8]) -> Vec<u8> {
    let s = U256::from_be_slice(&signature[32..64]);
    let mut twin = signature.to_vec();
    twin[32..64].copy_from_slice(&(ORDER - s).to_be_bytes::<32>());
    twin[64] ^= 1;
    twin
}

#[tokio::test]
async fn spent_outputs_exit_with_confirm_signatures_and_double_exits_are_challenged() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let alice_deposit = h.deposit(&mut ledger, ALICE, ankr(5 * ANKR)).await;
    let bob_first = h.deposit(&mut ledger, BOB, ankr(3 * ANKR)).await;
    let bob_second = h.deposit(&mut ledger, BOB, ankr(2 * ANKR)).await;
    // One input: Alice pays Carol 4 and keeps 1. Two inputs: Bob pays Dave 5.
    ledger
        .add_transaction(spend(
            &[(alice_deposit, ALICE)],
            &[(CAROL, ankr(4 * ANKR)), (ALICE, ankr(ANKR))],
            U256::ZERO,
        ))
        .unwrap();
    ledger
        .add_transaction(spend(
            &[(bob_first, BOB), (bob_second, BOB)],
            &[(DAVE, ankr(5 * ANKR))],
            U256::ZERO,
        ))
        .unwrap();
    let block = h.submit(&mut ledger).await;

    // Carol's output needs Alice's confirm signature over (tx hash, block root).
    let by_carol = confirmation(CAROL, &block, 0);
    h.refused(
        CAROL,
        Harness::exit_call(&block, 0, 0, by_carol),
        ankr(BOND),
        "not by the input's owner",
    )
    .await;
    let alice_confirms = confirmation(ALICE, &block, 0);
    h.refused(
        CAROL,
        Harness::exit_call(&block, 0, 0, high_s(&alice_confirms)),
        ankr(BOND),
        "not by the input's owner",
    )
    .await;
    h.refused(
        CAROL,
        Harness::exit_call(&block, 0, 0, vec![]),
        ankr(BOND),
        "a confirm signature per input",
    )
    .await;
    h.start_exit(CAROL, &block, 0, 0, alice_confirms.clone())
        .await;
    // Dave's needs one per input.
    let bob_confirms = confirmation(BOB, &block, 1);
    h.refused(
        DAVE,
        Harness::exit_call(&block, 1, 0, bob_confirms.clone()),
        ankr(BOND),
        "a confirm signature per input",
    )
    .await;
    h.start_exit(
        DAVE,
        &block,
        1,
        0,
        [bob_confirms.clone(), bob_confirms].concat(),
    )
    .await;

    // Alice tries to exit the deposit she spent; while that exit stands, her change cannot exit.
    let deposit_block = ledger.block(alice_deposit.blknum).unwrap().clone();
    h.start_exit(ALICE, &deposit_block, 0, 0, vec![]).await;
    h.refused(
        ALICE,
        Harness::exit_call(&block, 0, 1, alice_confirms.clone()),
        ankr(BOND),
        "an input of this output is exiting or exited",
    )
    .await;
    // Bob proves the deposit spent with Alice's confirm signature and takes her bond.
    let challenge = |confirm_sig: Vec<u8>, input: u8| RootChain::challengeExitCall {
        exitId: U256::from(alice_deposit.encoded()),
        plasmaBlockNum: U256::from(block.number),
        txindex: U256::ZERO,
        oindex: U256::from(input),
        txBytes: block.transactions[0].encode().into(),
        proof: block.proof(0).into(),
        confirmSig: confirm_sig.into(),
    };
    h.refused(
        BOB,
        challenge(alice_confirms.clone(), 1),
        U256::ZERO,
        "does not spend the exiting output",
    )
    .await;
    h.refused(
        BOB,
        challenge(confirmation(BOB, &block, 0), 0),
        U256::ZERO,
        "not by the exiter",
    )
    .await;
    h.refused(
        BOB,
        challenge(high_s(&alice_confirms), 0),
        U256::ZERO,
        "not by the exiter",
    )
    .await;
    let receipt = h
        .ok(BOB, challenge(alice_confirms.clone(), 0), U256::ZERO)
        .await;
    assert_eq!(events::<RootChain::ExitChallenged>(&receipt).len(), 1);
    assert_eq!(h.owed(BOB).await, ankr(BOND) / U256::from(2));
    h.refused(
        BOB,
        challenge(alice_confirms.clone(), 0),
        U256::ZERO,
        "no such exit",
    )
    .await;
    // Now her change exits.
    h.start_exit(ALICE, &block, 0, 1, alice_confirms).await;

    h.warp(MATURITY_PERIOD + 1);
    let paid = h.finalize(2_000_000).await;
    assert_eq!(
        paid,
        vec![pos(1000, 0, 0), pos(1000, 0, 1), pos(1000, 1, 0)]
    );
    assert_eq!(h.owed(CAROL).await, ankr(4 * ANKR + BOND));
    assert_eq!(h.owed(ALICE).await, ankr(ANKR + BOND));
    assert_eq!(h.owed(DAVE).await, ankr(5 * ANKR + BOND));
    h.refused(
        CAROL,
        Harness::exit_call(&block, 0, 0, confirmation(ALICE, &block, 0)),
        ankr(BOND),
        "exiting or exited",
    )
    .await;

    // The operator lets Carol spend her exited output to Bob in block 2000: that output cannot
    // exit (Plasma MVP paid such coins twice).
    let respent = spend(
        &[(pos(1000, 0, 0), CAROL)],
        &[(BOB, ankr(4 * ANKR))],
        U256::ZERO,
    );
    let block_2000 = ChildBlock::new(2000, vec![respent], block.root).unwrap();
    h.submit_block(&block_2000).await;
    h.refused(
        BOB,
        Harness::exit_call(&block_2000, 0, 0, confirmation(CAROL, &block_2000, 0)),
        ankr(BOND),
        "an input of this output is exiting or exited",
    )
    .await;
}

#[tokio::test]
async fn the_exit_queue_settles_in_priority_order_and_deletes_anywhere() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let owners = [ALICE, BOB, CAROL, ALICE, BOB, CAROL, ALICE, BOB];
    let mut deposits = Vec::new();
    for (i, who) in owners.iter().enumerate() {
        deposits.push(h.deposit(&mut ledger, *who, ankr(ANKR + i as u128)).await);
    }
    // Deposits 2, 5 and 7 are spent to Dave in block 1000; their owners will still try to exit.
    let spent = [1usize, 4, 6];
    for &i in &spent {
        ledger
            .add_transaction(spend(
                &[(deposits[i], owners[i])],
                &[(DAVE, ankr(ANKR + i as u128))],
                U256::ZERO,
            ))
            .unwrap();
    }
    let block = h.submit(&mut ledger).await;
    for i in [7usize, 2, 4, 0, 6, 1, 5, 3] {
        let deposit_block = ledger.block(deposits[i].blknum).unwrap().clone();
        h.start_exit(owners[i], &deposit_block, 0, 0, vec![]).await;
    }
    assert_eq!(h.queue_length().await, 8);
    let next = h.read(RootChain::nextExitCall {}).await;
    assert_eq!(next.utxoPos, U256::from(deposits[0].encoded()));

    // Challenge from the middle, a leaf and the root of the heap.
    for (txindex, &i) in [(1u32, &spent[1]), (2, &spent[2]), (0, &spent[0])] {
        h.ok(
            DAVE,
            RootChain::challengeExitCall {
                exitId: U256::from(deposits[i].encoded()),
                plasmaBlockNum: U256::from(block.number),
                txindex: U256::from(txindex),
                oindex: U256::ZERO,
                txBytes: block.transactions[txindex as usize].encode().into(),
                proof: block.proof(txindex).into(),
                confirmSig: confirmation(owners[i], &block, txindex).into(),
            },
            U256::ZERO,
        )
        .await;
    }
    assert_eq!(h.queue_length().await, 5);
    assert_eq!(h.owed(DAVE).await, ankr(3 * BOND) / U256::from(2));

    h.warp(MATURITY_PERIOD + 1);
    let paid = h.finalize(3_000_000).await;
    let expected: Vec<UtxoPos> = [0usize, 2, 3, 5, 7].iter().map(|&i| deposits[i]).collect();
    assert_eq!(
        paid, expected,
        "every unchallenged exit, lowest position first"
    );
    assert_eq!(h.queue_length().await, 0);
}

#[tokio::test]
async fn an_old_output_cannot_stall_the_queue_ahead_of_matured_exits() {
    // The withdrawal-delay attack: without the 7-day floor, an exit of a very old output sorts
    // before everything and, while it matures, holds back exits that have matured.
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let attacker_utxo = h.deposit(&mut ledger, ALICE, ankr(ANKR)).await;
    let honest_utxo = h.deposit(&mut ledger, BOB, ankr(ANKR)).await;
    // The chain goes on: a child block a day for 20 days.
    for _ in 0..20 {
        h.warp(DAY);
        h.submit(&mut ledger).await;
    }
    let honest_block = ledger.block(honest_utxo.blknum).unwrap().clone();
    h.start_exit(BOB, &honest_block, 0, 0, vec![]).await;
    for _ in 0..6 {
        h.warp(DAY);
        h.submit(&mut ledger).await;
    }
    // Day 26: the attacker exits an output from day 0, a day before Bob's exit matures.
    let attacker_block = ledger.block(attacker_utxo.blknum).unwrap().clone();
    h.start_exit(ALICE, &attacker_block, 0, 0, vec![]).await;
    let (_, bob_priority) = {
        let next = h.read(RootChain::nextExitCall {}).await;
        assert_eq!(
            next.utxoPos,
            U256::from(honest_utxo.encoded()),
            "Bob's exit stays first"
        );
        (next.utxoPos, next.priority)
    };
    assert!(
        bob_priority > U256::from(attacker_utxo.encoded()),
        "both floored past day 0's blocks"
    );
    h.warp(DAY);
    assert_eq!(h.finalize(1_000_000).await, vec![honest_utxo]);
    assert_eq!(
        h.queue_length().await,
        1,
        "the attacker's exit waits its own 7 days"
    );
    h.warp(CHALLENGE_PERIOD);
    assert_eq!(h.finalize(1_000_000).await, vec![attacker_utxo]);
}

#[tokio::test]
async fn finalize_stops_before_running_out_of_gas() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let mut expected = Vec::new();
    for i in 0..6u128 {
        let who = [ALICE, BOB, CAROL][i as usize % 3];
        let utxo = h.deposit(&mut ledger, who, ankr(ANKR + i)).await;
        let block = ledger.block(utxo.blknum).unwrap().clone();
        h.start_exit(who, &block, 0, 0, vec![]).await;
        expected.push(utxo);
    }
    h.warp(MATURITY_PERIOD + 1);
    // Too little gas for one exit: it reverts ("not enough gas to settle the next matured
    // exit"), so that any estimator's search lands on a limit that settles one (audit item 15:
    // geth-style searches from below found a limit that settled none).
    let starved = h
        .send(
            DAVE,
            Some(h.root_chain),
            RootChain::finalizeExitCall {}.abi_encode(),
            U256::ZERO,
            60_000,
        )
        .await;
    assert_eq!(starved["status"], "0x0");
    // Audit item 15: what eth_estimateGas answers settles at least one exit.
    let estimate = h
        .chain
        .rpc(
            "eth_estimateGas",
            serde_json::json!([{
                "from": address(DAVE),
                "to": h.root_chain,
                "data": Bytes::from(RootChain::finalizeExitCall {}.abi_encode()),
            }]),
        )
        .await
        .unwrap();
    let estimate =
        u64::from_str_radix(estimate.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    let mut paid = h.finalize(estimate).await;
    assert!(
        !paid.is_empty(),
        "the estimate ({estimate} gas) settles an exit"
    );
    while paid.len() < expected.len() {
        let some = h.finalize(250_000).await;
        assert!(
            !some.is_empty() && some.len() < expected.len(),
            "a tight limit settles some: {some:?}"
        );
        paid.extend(some);
    }
    assert_eq!(paid, expected);
}

#[tokio::test]
async fn a_withheld_block_cannot_take_anyones_funds() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let alice_deposit = h.deposit(&mut ledger, ALICE, ankr(10 * ANKR)).await;
    ledger
        .add_transaction(spend(
            &[(alice_deposit, ALICE)],
            &[(BOB, ankr(6 * ANKR)), (ALICE, ankr(4 * ANKR))],
            U256::ZERO,
        ))
        .unwrap();
    let block = h.submit(&mut ledger).await;
    let alice_confirms = confirmation(ALICE, &block, 0);
    // Bob signs a payment to Carol; the operator puts it in block 2000, submits the root and
    // withholds the block. Bob never saw it, so he never confirms it.
    ledger
        .add_transaction(spend(
            &[(pos(1000, 0, 0), BOB)],
            &[(CAROL, ankr(6 * ANKR))],
            U256::ZERO,
        ))
        .unwrap();
    let withheld = h.submit(&mut ledger).await;
    // Everyone exits the last outputs they can prove.
    h.start_exit(BOB, &block, 0, 0, alice_confirms.clone())
        .await;
    h.start_exit(ALICE, &block, 0, 1, alice_confirms).await;
    // The operator holds Bob's spend but no confirm signature by Bob: the challenge fails.
    let challenge = |confirm_sig: Vec<u8>| RootChain::challengeExitCall {
        exitId: U256::from(pos(1000, 0, 0).encoded()),
        plasmaBlockNum: U256::from(withheld.number),
        txindex: U256::ZERO,
        oindex: U256::ZERO,
        txBytes: withheld.transactions[0].encode().into(),
        proof: withheld.proof(0).into(),
        confirmSig: confirm_sig.into(),
    };
    h.refused(
        OPERATOR,
        challenge(confirmation(OPERATOR, &withheld, 0)),
        U256::ZERO,
        "not by the exiter",
    )
    .await;
    h.refused(OPERATOR, challenge(vec![]), U256::ZERO, "not by the exiter")
        .await;
    h.warp(MATURITY_PERIOD + 1);
    assert_eq!(
        h.finalize(1_000_000).await,
        vec![pos(1000, 0, 0), pos(1000, 0, 1)]
    );
    assert_eq!(h.owed(BOB).await, ankr(6 * ANKR + BOND));
    assert_eq!(h.owed(ALICE).await, ankr(4 * ANKR + BOND));
}

/// A child block with `transactions` chained to `previous`, submitted by the operator.
async fn submit_invalid(
    h: &Harness,
    number: u64,
    transactions: Vec<PlasmaTx>,
    previous: B256,
) -> ChildBlock {
    let block = ChildBlock::new(number, transactions, previous).unwrap();
    h.submit_block(&block).await;
    block
}

fn tx_at(block: &ChildBlock, txindex: u32) -> (U256, U256, Bytes, Bytes) {
    (
        U256::from(block.number),
        U256::from(txindex),
        block.transactions[txindex as usize].encode().into(),
        block.proof(txindex).into(),
    )
}

/// After a proven fraud: the prover holds half the stake, the chain takes no blocks or
/// deposits, and the rolled-back block's outputs cannot exit.
async fn assert_rolled_back(h: &Harness, block: &ChildBlock, prover: usize) {
    assert_eq!(h.owed(prover).await, ankr(STAKE) / U256::from(2));
    assert_eq!(
        h.read(RootChain::rolledBackFromCall {}).await,
        U256::from(block.number)
    );
    assert!(
        !h.read(RootChain::isLiveCall {
            blknum: U256::from(block.number)
        })
        .await
    );
    h.refused(
        OPERATOR,
        RootChain::submitBlockCall {
            root: B256::repeat_byte(9),
        },
        U256::ZERO,
        "rolled back",
    )
    .await;
    h.refused(ALICE, RootChain::depositCall {}, ankr(1), "rolled back")
        .await;
    let receipt = h.ok(prover, RootChain::withdrawCall {}, U256::ZERO).await;
    assert_eq!(
        events::<RootChain::Withdrawal>(&receipt)[0].amount,
        ankr(STAKE) / U256::from(2)
    );
}

#[tokio::test]
async fn an_overspending_block_is_proven_and_every_honest_user_exits() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let alice_deposit = h.deposit(&mut ledger, ALICE, ankr(3 * ANKR)).await;
    let operator_deposit = h.deposit(&mut ledger, OPERATOR, ankr(1)).await;
    let good = h.submit(&mut ledger).await;
    // Block 2000: Alice's honest payment to Bob, and the operator turning 1 wei into 100 ANKR.
    let honest = spend(
        &[(alice_deposit, ALICE)],
        &[(BOB, ankr(3 * ANKR))],
        U256::ZERO,
    );
    let theft = spend(
        &[(operator_deposit, OPERATOR)],
        &[(OPERATOR, ankr(100 * ANKR))],
        U256::ZERO,
    );
    // It also slips in a deposit-shaped transaction: no inputs, 50 ANKR out.
    let minted = PlasmaTx::deposit(address(OPERATOR), ankr(50 * ANKR));
    let bad = submit_invalid(&h, 2000, vec![honest, theft, minted], good.root).await;
    // The operator exits its inflated output at once, confirming its own spend.
    h.start_exit(OPERATOR, &bad, 1, 0, confirmation(OPERATOR, &bad, 1))
        .await;
    h.refused(
        OPERATOR,
        Harness::exit_call(&bad, 2, 0, vec![]),
        ankr(BOND),
        "only a deposit block holds a transaction without inputs",
    )
    .await;

    let deposit_tx = |utxo: UtxoPos| {
        let block = ledger.block(utxo.blknum).unwrap();
        (
            Bytes::from(block.transactions[0].encode()),
            Bytes::from(block.proof(0)),
        )
    };
    let (blknum, txindex, tx_bytes, proof) = tx_at(&bad, 0);
    let (input, input_proof) = deposit_tx(alice_deposit);
    let honest_proof = RootChain::proveOverspendCall {
        blknum,
        txindex,
        txBytes: tx_bytes,
        proof,
        inputTxs: [input, Bytes::new()],
        inputProofs: [input_proof, Bytes::new()],
    };
    h.refused(
        DAVE,
        honest_proof,
        U256::ZERO,
        "outputs and fee equal the inputs",
    )
    .await;
    let (blknum, txindex, tx_bytes, proof) = tx_at(&bad, 1);
    let (input, input_proof) = deposit_tx(operator_deposit);
    let receipt = h
        .ok(
            DAVE,
            RootChain::proveOverspendCall {
                blknum,
                txindex,
                txBytes: tx_bytes,
                proof,
                inputTxs: [input, Bytes::new()],
                inputProofs: [input_proof, Bytes::new()],
            },
            U256::ZERO,
        )
        .await;
    assert_eq!(
        events::<RootChain::BlockInvalid>(&receipt)[0].blknum,
        U256::from(2000)
    );
    assert_rolled_back(&h, &bad, DAVE).await;

    // Alice's payment went down with block 2000: she exits her deposit, and no one can
    // challenge it with a spend in a rolled-back block.
    let alice_block = ledger.block(alice_deposit.blknum).unwrap().clone();
    h.start_exit(ALICE, &alice_block, 0, 0, vec![]).await;
    h.refused(
        BOB,
        RootChain::challengeExitCall {
            exitId: U256::from(alice_deposit.encoded()),
            plasmaBlockNum: U256::from(2000),
            txindex: U256::ZERO,
            oindex: U256::ZERO,
            txBytes: bad.transactions[0].encode().into(),
            proof: bad.proof(0).into(),
            confirmSig: confirmation(ALICE, &bad, 0).into(),
        },
        U256::ZERO,
        "no such block",
    )
    .await;
    h.refused(
        BOB,
        Harness::exit_call(&bad, 0, 0, confirmation(ALICE, &bad, 0)),
        ankr(BOND),
        "no such block",
    )
    .await;
    h.warp(MATURITY_PERIOD + 1);
    let receipt = h
        .send(
            DAVE,
            Some(h.root_chain),
            RootChain::finalizeExitCall {}.abi_encode(),
            U256::ZERO,
            1_000_000,
        )
        .await;
    // The operator's exit from the rolled-back block is dropped (bond back), Alice is paid.
    assert_eq!(
        events::<RootChain::ExitDropped>(&receipt)[0].exitId,
        U256::from(pos(2000, 1, 0).encoded())
    );
    assert_eq!(events::<RootChain::ExitFinalized>(&receipt).len(), 1);
    assert_eq!(h.owed(ALICE).await, ankr(3 * ANKR + BOND));
    assert_eq!(h.owed(OPERATOR).await, ankr(BOND));
}

#[tokio::test]
async fn a_block_with_a_forged_signature_is_proven() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let alice_deposit = h.deposit(&mut ledger, ALICE, ankr(ANKR)).await;
    let good = h.submit(&mut ledger).await;
    // The operator spends Alice's deposit to itself, signing with its own key.
    let forged = spend(
        &[(alice_deposit, OPERATOR)],
        &[(OPERATOR, ankr(ANKR))],
        U256::ZERO,
    );
    let honest = spend(&[(alice_deposit, ALICE)], &[(BOB, ankr(ANKR))], U256::ZERO);
    let bad = submit_invalid(&h, 2000, vec![honest, forged], good.root).await;
    let deposit_block = ledger.block(alice_deposit.blknum).unwrap().clone();
    let prove = |txindex: u32| {
        let (blknum, txindex, tx_bytes, proof) = tx_at(&bad, txindex);
        RootChain::proveBadSignatureCall {
            blknum,
            txindex,
            txBytes: tx_bytes,
            proof,
            k: U256::ZERO,
            inputTx: deposit_block.transactions[0].encode().into(),
            inputProof: deposit_block.proof(0).into(),
        }
    };
    h.refused(DAVE, prove(0), U256::ZERO, "the signature is the owner's")
        .await;
    h.ok(DAVE, prove(1), U256::ZERO).await;
    assert_rolled_back(&h, &bad, DAVE).await;
}

#[tokio::test]
async fn a_double_spend_is_proven_against_the_later_block() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let alice_deposit = h.deposit(&mut ledger, ALICE, ankr(ANKR)).await;
    ledger
        .add_transaction(spend(
            &[(alice_deposit, ALICE)],
            &[(BOB, ankr(ANKR))],
            U256::ZERO,
        ))
        .unwrap();
    let first = h.submit(&mut ledger).await;
    // Alice signs a second spend of the same deposit and the operator includes it.
    let again = spend(
        &[(alice_deposit, ALICE)],
        &[(CAROL, ankr(ANKR))],
        U256::ZERO,
    );
    let bad = submit_invalid(&h, 2000, vec![again], first.root).await;
    let spend_at = |block: &ChildBlock, input: u64| {
        let (blknum, txindex, tx_bytes, proof) = tx_at(block, 0);
        RootChain::Spend {
            blknum,
            txindex,
            txBytes: tx_bytes,
            proof,
            input: U256::from(input),
        }
    };
    h.refused(
        DAVE,
        RootChain::proveDoubleSpendCall {
            later: spend_at(&first, 0),
            earlier: spend_at(&bad, 0),
        },
        U256::ZERO,
        "name the later spend first",
    )
    .await;
    h.refused(
        DAVE,
        RootChain::proveDoubleSpendCall {
            later: spend_at(&bad, 1),
            earlier: spend_at(&first, 0),
        },
        U256::ZERO,
        "an empty input",
    )
    .await;
    h.ok(
        DAVE,
        RootChain::proveDoubleSpendCall {
            later: spend_at(&bad, 0),
            earlier: spend_at(&first, 0),
        },
        U256::ZERO,
    )
    .await;
    assert_rolled_back(&h, &bad, DAVE).await;
    assert!(
        h.read(RootChain::isLiveCall {
            blknum: U256::from(1000)
        })
        .await,
        "the earlier block stands"
    );
}

/// Valid transactions and systematic corruptions of them: flipped bytes, cut and extended
/// encodings, non-canonical integers and lengths.
fn decoder_cases() -> Vec<Vec<u8>> {
    let txs = [
        spend(
            &[(pos(1000, 3, 0), ALICE)],
            &[(BOB, U256::from(7)), (ALICE, U256::from(2))],
            U256::from(1),
        ),
        spend(
            &[(pos(2, 0, 0), ALICE), (pos(4000, 65535, 1), BOB)],
            &[(CAROL, U256::MAX)],
            U256::ZERO,
        ),
        PlasmaTx::deposit(address(BOB), U256::from(127)),
    ];
    let mut cases = Vec::new();
    for tx in txs {
        let bytes = tx.encode();
        cases.push(bytes.clone());
        for i in (0..bytes.len())
            .step_by(7)
            .chain([0, 1, 2, 3, 4, bytes.len() - 1])
        {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut mutated = bytes.clone();
                mutated[i] ^= flip;
                cases.push(mutated);
            }
        }
        cases.push(bytes[..bytes.len() - 1].to_vec());
        cases.push([bytes.clone(), vec![0x80]].concat());
    }
    // Hand-made: a list of 13 with a zero written as 0x00, with 0x8105 for 5, a long-form
    // string length for a short string, a nested list, 12 and 14 fields.
    let field = |f: &[u8]| f.to_vec();
    let sig = [vec![0xb8, 65], vec![0u8; 65]].concat();
    let owner = [vec![0x94], vec![0x11; 20]].concat();
    let body = |fields: Vec<Vec<u8>>| {
        let payload: Vec<u8> = fields.concat();
        [vec![0xf8, payload.len() as u8], payload].concat()
    };
    let good = vec![
        field(&[0x05]),
        field(&[0x80]),
        field(&[0x80]),
        sig.clone(),
        field(&[0x80]),
        field(&[0x80]),
        field(&[0x80]),
        sig.clone(),
        owner.clone(),
        field(&[0x09]),
        owner.clone(),
        field(&[0x80]),
        field(&[0x80]),
    ];
    cases.push(body(good.clone()));
    for (index, replacement) in [
        (0usize, vec![0x00]),
        (0, vec![0x81, 0x05]),
        (9, vec![0x82, 0x00, 0x09]),
        (8, [vec![0xb8, 20], vec![0x11; 20]].concat()),
        (1, vec![0xc0]),
        (2, vec![0x84, 1, 2, 3, 4]),
        (1, vec![0x85, 1, 2, 3, 4, 5]),
    ] {
        let mut fields = good.clone();
        fields[index] = replacement;
        cases.push(body(fields));
    }
    cases.push(body(good[..12].to_vec()));
    cases.push(body([good.clone(), vec![field(&[0x80])]].concat()));
    cases
}

#[tokio::test]
async fn the_contract_decodes_exactly_what_the_operator_decodes() {
    let h = Harness::start().await;
    let cases = decoder_cases();
    let tree = MerkleTree::new(cases.iter().map(keccak256).collect()).unwrap();
    let previous = B256::ZERO;
    let root = ankr_plasma::block_root(tree.root(), previous);
    h.ok(OPERATOR, RootChain::submitBlockCall { root }, U256::ZERO)
        .await;
    let (mut valid, mut invalid) = (0, 0);
    for (i, case) in cases.iter().enumerate() {
        let proof = tree.proof_bytes(i);
        let call = RootChain::proveMalformedCall {
            blknum: U256::from(1000),
            txindex: U256::from(i),
            txBytes: case.clone().into(),
            proof: proof.into(),
        };
        let contract = h.call(DAVE, call.abi_encode(), U256::ZERO).await;
        let rust = PlasmaTx::decode(case);
        match (&rust, &contract) {
            (Ok(_), Err(reason)) if reason.contains("the transaction decodes") => valid += 1,
            (Err(_), Ok(_)) => invalid += 1,
            _ => panic!(
                "case {i} {}: rust {rust:?}, contract {contract:?}",
                hex::encode(case)
            ),
        }
    }
    assert!(
        valid >= 4 && invalid >= 50,
        "{valid} valid, {invalid} invalid"
    );
}

#[tokio::test]
async fn main_chain_headers_commit_to_every_child_chains_boundary() {
    use ankr_contracts::ChildChainRegistry;
    use ankr_contracts::genesis::CHILD_CHAIN_REGISTRY_ADDRESS;
    let h = Harness::start().await;
    let register = ChildChainRegistry::registerCall {
        name: "payments".into(),
        rootChain: h.root_chain,
    };
    let receipt = h
        .send(
            BOB,
            Some(CHILD_CHAIN_REGISTRY_ADDRESS),
            register.abi_encode(),
            U256::ZERO,
            500_000,
        )
        .await;
    assert_eq!(
        receipt["status"], "0x0",
        "only the chain's operator registers it"
    );
    let receipt = h
        .send(
            OPERATOR,
            Some(CHILD_CHAIN_REGISTRY_ADDRESS),
            register.abi_encode(),
            ankr(devnet::DEVNET_CHILD_CHAIN_MIN_STAKE),
            500_000,
        )
        .await;
    assert_eq!(receipt["status"], "0x1");

    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let deposit = h.deposit(&mut ledger, ALICE, ankr(ANKR)).await;
    ledger
        .add_transaction(spend(&[(deposit, ALICE)], &[(BOB, ankr(ANKR))], U256::ZERO))
        .unwrap();
    let first = h.submit(&mut ledger).await;
    let second = h.submit(&mut ledger).await;
    h.seal(); // the next header commits to the state after `second`'s submission

    let answer = h.chain.rpc("ankr_childChains", json!([])).await.unwrap();
    let root: B256 = answer["childChainsRoot"].as_str().unwrap().parse().unwrap();
    let chains = answer["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 1);
    assert_eq!(chains[0]["blknum"], 2000);
    assert_eq!(
        chains[0]["root"].as_str().unwrap().parse::<B256>().unwrap(),
        second.root
    );
    let leaf: B256 = chains[0]["leaf"].as_str().unwrap().parse().unwrap();
    let proof: Vec<B256> = chains[0]["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ankr_plasma::verify(root, leaf, 0, &proof));
    let head = h.chain.node.chain.head();
    assert_eq!(head.child_chains_root, root);
    // An earlier header commits to the earlier boundary.
    let earlier = h
        .chain
        .rpc(
            "ankr_childChains",
            json!([format!("0x{:x}", head.number - 1)]),
        )
        .await
        .unwrap();
    assert_eq!(
        earlier["chains"][0]["root"]
            .as_str()
            .unwrap()
            .parse::<B256>()
            .unwrap(),
        first.root
    );

    // Another node recomputes every commitment on import and refuses a forged one.
    let dir = tempfile::tempdir().unwrap();
    let other = ankr_chain::Chain::open(dir.path(), devnet::spec()).unwrap();
    let reader = h.chain.node.chain.reader().unwrap();
    for number in 1..head.number {
        let header = reader.header_by_number(number).unwrap().unwrap();
        let body = reader.body(header.hash()).unwrap().unwrap();
        other
            .import_block(ankr_types::Block {
                header,
                transactions: body.transactions,
            })
            .unwrap();
    }
    let body = reader.body(head.hash()).unwrap().unwrap();
    let mut forged = head.clone();
    forged.child_chains_root = B256::repeat_byte(7);
    let error = other
        .import_block(ankr_types::Block {
            header: forged,
            transactions: body.transactions.clone(),
        })
        .unwrap_err();
    assert!(
        matches!(error, ankr_chain::ImportError::WrongChildChainsRoot { .. }),
        "{error}"
    );
    other
        .import_block(ankr_types::Block {
            header: head,
            transactions: body.transactions,
        })
        .unwrap();
}

/// Twelve deposits, all spent in block 1000, whose owners start exits and others challenge
/// them in any order: after every step the contract's queue holds exactly the model's exits
/// with the model's first at its head, and finalize pays the rest in the model's order.
async fn exit_queue_case(ops: Vec<(bool, usize)>) {
    use std::collections::BTreeSet;
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let owners = [ALICE, BOB, CAROL];
    let mut deposits = Vec::new();
    for i in 0..12 {
        deposits.push(
            h.deposit(&mut ledger, owners[i % 3], ankr(ANKR + i as u128))
                .await,
        );
    }
    for (i, deposit) in deposits.iter().enumerate() {
        ledger
            .add_transaction(spend(
                &[(*deposit, owners[i % 3])],
                &[(DAVE, ankr(ANKR + i as u128))],
                U256::ZERO,
            ))
            .unwrap();
    }
    let block = h.submit(&mut ledger).await;
    let mut live = BTreeSet::new();
    for (start, i) in ops {
        let deposit_block = ledger.block(deposits[i].blknum).unwrap().clone();
        let position = deposits[i].encoded();
        match (start, live.contains(&position)) {
            (true, false) => {
                h.start_exit(owners[i % 3], &deposit_block, 0, 0, vec![])
                    .await;
                live.insert(position);
            }
            (true, true) => {
                h.refused(
                    owners[i % 3],
                    Harness::exit_call(&deposit_block, 0, 0, vec![]),
                    ankr(BOND),
                    "exiting or exited",
                )
                .await
            }
            (false, is_live) => {
                let call = RootChain::challengeExitCall {
                    exitId: U256::from(position),
                    plasmaBlockNum: U256::from(1000),
                    txindex: U256::from(i),
                    oindex: U256::ZERO,
                    txBytes: block.transactions[i].encode().into(),
                    proof: block.proof(i as u32).into(),
                    confirmSig: confirmation(owners[i % 3], &block, i as u32).into(),
                };
                if is_live {
                    h.ok(DAVE, call, U256::ZERO).await;
                    live.remove(&position);
                } else {
                    h.refused(DAVE, call, U256::ZERO, "no such exit").await;
                }
            }
        }
        assert_eq!(h.queue_length().await, live.len() as u64);
        let next = h.read(RootChain::nextExitCall {}).await;
        assert_eq!(next.utxoPos, U256::from(live.first().copied().unwrap_or(0)));
    }
    h.warp(MATURITY_PERIOD + 1);
    let paid: Vec<u64> = h
        .finalize(5_000_000)
        .await
        .iter()
        .map(UtxoPos::encoded)
        .collect();
    assert_eq!(paid, live.into_iter().collect::<Vec<_>>());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 8, ..Default::default() })]

    #[test]
    fn the_exit_queue_matches_a_model_under_any_starts_and_deletions(
        ops in proptest::collection::vec((proptest::bool::weighted(0.6), 0..12usize), 1..30)
    ) {
        tokio::runtime::Runtime::new().unwrap().block_on(exit_queue_case(ops));
    }
}

/// Audit M-6: a contract that merely reports an owner and a huge stake registered 1,024
/// zero-stake chains and filled the registry for good. Now every registration leaves a bond
/// of at least the minimum stake in the registry, and a full registry gives the slot of the
/// smallest bond to a larger one.
#[tokio::test]
async fn attack_m6_fakes_cannot_fill_the_child_chain_registry_for_free() {
    use ankr_contracts::genesis::CHILD_CHAIN_REGISTRY_ADDRESS;
    use ankr_contracts::{ChildChainRegistry, FakeRootChainFactory};
    let h = Harness::start().await;
    let bond = ankr(devnet::DEVNET_CHILD_CHAIN_MIN_STAKE);
    let code = artifact("FakeRootChainFactory").unwrap().bytecode.to_vec();
    let deployed = h.send(DAVE, None, code, U256::ZERO, 2_000_000).await;
    let factory: Address = deployed["contractAddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let spam = |n: u64, each: U256| {
        (
            FakeRootChainFactory::spamCall {
                n: U256::from(n),
                bond: each,
            }
            .abi_encode(),
            each * U256::from(n),
        )
    };
    // A fake without a bond: refused (it used to register on its reported stake alone).
    let (data, value) = spam(1, U256::ZERO);
    let receipt = h.send(DAVE, Some(factory), data, value, 1_000_000).await;
    assert_eq!(receipt["status"], "0x0", "a zero bond is refused");

    // Filling all 1,024 slots now locks 1,024 × the minimum stake.
    for _ in 0..(1024 / 32) {
        let (data, value) = spam(32, bond);
        let receipt = h.send(DAVE, Some(factory), data, value, 16_000_000).await;
        assert_eq!(receipt["status"], "0x1", "{receipt}");
    }
    let chain = &h.chain;
    let registry = async |data: Vec<u8>| {
        chain
            .call(DAVE, CHILD_CHAIN_REGISTRY_ADDRESS, data, U256::ZERO)
            .await
            .unwrap()
    };
    let count = registry(ChildChainRegistry::countCall {}.abi_encode()).await;
    assert_eq!(U256::abi_decode(&count).unwrap(), U256::from(1024));

    // Full: an honest chain bonding the minimum is refused, one bonding more takes a slot, and
    // the evicted fake's bond goes back to whoever posted it.
    let register = ChildChainRegistry::registerCall {
        name: "payments".into(),
        rootChain: h.root_chain,
    };
    let receipt = h
        .send(
            OPERATOR,
            Some(CHILD_CHAIN_REGISTRY_ADDRESS),
            register.abi_encode(),
            bond,
            5_000_000,
        )
        .await;
    assert_eq!(
        receipt["status"], "0x0",
        "a full registry wants more than the smallest bond"
    );
    let receipt = h
        .send(
            OPERATOR,
            Some(CHILD_CHAIN_REGISTRY_ADDRESS),
            register.abi_encode(),
            bond + bond,
            5_000_000,
        )
        .await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    println!(
        "registering into a full registry: gas {}",
        receipt["gasUsed"]
    );
    let id = registry(ChildChainRegistry::idOfCall(h.root_chain).abi_encode()).await;
    assert_ne!(U256::abi_decode(&id).unwrap(), U256::ZERO);
    let count = registry(ChildChainRegistry::countCall {}.abi_encode()).await;
    assert_eq!(U256::abi_decode(&count).unwrap(), U256::from(1024));
    let returned = registry(ChildChainRegistry::withdrawalsCall(factory).abi_encode()).await;
    assert_eq!(U256::abi_decode(&returned).unwrap(), bond);
}

/// Audit M-2: the operator sees a pending deposit and puts blocks of its own in front of it, so
/// that the deposit lands behind them. A deposit bound to the child block it expects
/// (`depositBefore`, what `ankr plasma deposit` sends) reverts instead, and the funds stay
/// with the depositor; sent again against the new block, it lands.
#[tokio::test]
async fn attack_m2_a_deposit_bound_to_its_child_block_cannot_be_front_run() {
    let h = Harness::start().await;
    let expected: U256 = h.read(RootChain::currentChildBlockCall {}).await;
    let bound = RootChain::depositBeforeCall {
        childBlock: expected,
    };
    // Alice signs a deposit bound to the next child block; before it is mined, the operator
    // puts a block of its own in front (here: a deposit of Bob's and a block spending it).
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let deposit = h.deposit(&mut ledger, BOB, ankr(ANKR)).await;
    ledger
        .add_transaction(spend(&[(deposit, BOB)], &[(BOB, ankr(ANKR))], U256::ZERO))
        .unwrap();
    h.submit(&mut ledger).await;
    let receipt = h
        .send(
            ALICE,
            Some(h.root_chain),
            bound.abi_encode(),
            ankr(ANKR),
            300_000,
        )
        .await;
    assert_eq!(
        receipt["status"], "0x0",
        "the front-run deposit does not land"
    );
    let now: U256 = h.read(RootChain::currentChildBlockCall {}).await;
    assert_eq!(now, expected + U256::from(1000));
    h.refused(
        ALICE,
        RootChain::depositBeforeCall {
            childBlock: expected,
        },
        ankr(ANKR),
        "the child chain moved past the expected block",
    )
    .await;
    h.ok(
        ALICE,
        RootChain::depositBeforeCall { childBlock: now },
        ankr(ANKR),
    )
    .await;
}

/// Audit L-1: on a chain idle longer than the challenge period, an exit's priority was floored
/// to the *next* child block's number, above the numbers of deposits still to come. An attacker
/// who deposits and exits after an honest exit started sorted ahead of it and, maturing a week
/// later, held it back; each repeat cost the honest exiter another week. The floor is now the
/// chain's last block: later deposits sort behind.
#[tokio::test]
async fn attack_l1_deposits_on_an_idle_chain_cannot_hold_back_an_older_exit() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let honest = h.deposit(&mut ledger, BOB, ankr(ANKR)).await;
    h.submit(&mut ledger).await;
    // Thirty idle days.
    h.warp(30 * DAY);
    let honest_block = ledger.block(honest.blknum).unwrap().clone();
    h.start_exit(BOB, &honest_block, 0, 0, vec![]).await;
    // The attacker deposits and exits, again and again.
    let mut attacks = Vec::new();
    for _ in 0..3 {
        h.warp(DAY);
        let utxo = h.deposit(&mut ledger, ALICE, ankr(1)).await;
        let block = ledger.block(utxo.blknum).unwrap().clone();
        h.start_exit(ALICE, &block, 0, 0, vec![]).await;
        attacks.push(utxo);
    }
    let next = h.read(RootChain::nextExitCall {}).await;
    assert_eq!(
        next.utxoPos,
        U256::from(honest.encoded()),
        "the honest exit stays first"
    );
    // Bob's week is up: he is paid, whatever the attacker's exits still wait for.
    h.warp(CHALLENGE_PERIOD - 3 * DAY + 1);
    assert_eq!(h.finalize(1_000_000).await, vec![honest]);
    assert_eq!(h.owed(BOB).await, ankr(ANKR + BOND));
    assert_eq!(h.queue_length().await, attacks.len() as u64);
}

/// Audit L-2: fraud proofs and challenges pay whoever sends them, so a cheater who sees the
/// honest proof coming sends the same proof first and takes its own forfeit back. Now half the
/// forfeit goes to the sender and half stays in the contract for the exits: the cheater who
/// front-runs still loses half.
#[tokio::test]
async fn attack_l2_a_cheater_proving_its_own_fraud_first_still_loses_half() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    // A double exit: Alice spends her deposit to Carol, then exits the deposit anyway.
    let alice_deposit = h.deposit(&mut ledger, ALICE, ankr(ANKR)).await;
    ledger
        .add_transaction(spend(
            &[(alice_deposit, ALICE)],
            &[(CAROL, ankr(ANKR))],
            U256::ZERO,
        ))
        .unwrap();
    let block = h.submit(&mut ledger).await;
    let deposit_block = ledger.block(alice_deposit.blknum).unwrap().clone();
    h.start_exit(ALICE, &deposit_block, 0, 0, vec![]).await;
    // Carol's watcher would challenge; Alice challenges her own exit first.
    let alice_confirms = confirmation(ALICE, &block, 0);
    let challenge = RootChain::challengeExitCall {
        exitId: U256::from(alice_deposit.encoded()),
        plasmaBlockNum: U256::from(block.number),
        txindex: U256::ZERO,
        oindex: U256::ZERO,
        txBytes: block.transactions[0].encode().into(),
        proof: block.proof(0).into(),
        confirmSig: alice_confirms.into(),
    };
    h.ok(ALICE, challenge, U256::ZERO).await;
    assert_eq!(
        h.owed(ALICE).await,
        ankr(BOND) / U256::from(2),
        "half her bond is lost"
    );

    // A forged block: the operator proves its own fraud before anyone else.
    let forged = spend(
        &[(alice_deposit, OPERATOR)],
        &[(OPERATOR, ankr(ANKR))],
        U256::ZERO,
    );
    let bad = submit_invalid(&h, 2000, vec![forged], block.root).await;
    let (blknum, txindex, tx_bytes, proof) = tx_at(&bad, 0);
    let prove = RootChain::proveBadSignatureCall {
        blknum,
        txindex,
        txBytes: tx_bytes,
        proof,
        k: U256::ZERO,
        inputTx: deposit_block.transactions[0].encode().into(),
        inputProof: deposit_block.proof(0).into(),
    };
    h.ok(OPERATOR, prove, U256::ZERO).await;
    assert_eq!(
        h.owed(OPERATOR).await,
        ankr(STAKE) / U256::from(2),
        "half its stake is lost"
    );
    // The other halves pay exits: Carol's output exits in full even if the contract were short.
    assert_eq!(h.read(RootChain::ownerStakeCall {}).await, U256::ZERO);
    let held: U256 = h.read(RootChain::owedTotalCall {}).await;
    let balance = h
        .chain
        .rpc(
            "eth_getBalance",
            serde_json::json!([h.root_chain, "latest"]),
        )
        .await
        .unwrap();
    let balance: U256 = balance.as_str().unwrap().parse().unwrap();
    assert_eq!(
        balance - held,
        ankr(ANKR) + ankr(BOND) / U256::from(2) + ankr(STAKE) / U256::from(2),
        "Carol's coin and the forfeited halves stay for the exits"
    );
}

/// Audit L-4 on the contract: a transaction's fee is its output 2, the operator's. Only the
/// operator exits it (with the spender's confirm signature, as any output), and fraud proofs
/// value it at the fee: a block that spends a fee output for more is an overspend.
#[tokio::test]
async fn fee_outputs_are_the_operators_and_fraud_proofs_value_them_at_the_fee() {
    let h = Harness::start().await;
    let mut ledger = Ledger::new(domain(), address(OPERATOR));
    let deposit = h.deposit(&mut ledger, ALICE, ankr(5 * ANKR)).await;
    ledger
        .add_transaction(spend(
            &[(deposit, ALICE)],
            &[(BOB, ankr(4 * ANKR))],
            ankr(ANKR),
        ))
        .unwrap();
    let block = h.submit(&mut ledger).await;
    let fee_output = pos(1000, 0, 2);
    assert_eq!(ledger.utxos_of(address(OPERATOR)).len(), 1);
    let alice_confirms = confirmation(ALICE, &block, 0);
    h.refused(
        BOB,
        Harness::exit_call(&block, 0, 2, alice_confirms.clone()),
        ankr(BOND),
        "only the output's owner",
    )
    .await;
    h.refused(
        OPERATOR,
        Harness::exit_call(&block, 0, 3, alice_confirms.clone()),
        ankr(BOND),
        "two outputs and a fee output",
    )
    .await;
    let receipt = h.start_exit(OPERATOR, &block, 0, 2, alice_confirms).await;
    assert_eq!(events::<RootChain::ExitStarted>(&receipt).len(), 1);
    let exit = h
        .read(RootChain::exitsCall(U256::from(fee_output.encoded())))
        .await;
    assert_eq!(exit.amount, ankr(ANKR));

    // Block 2000 spends the 1-ANKR fee output for 3 ANKR: proven an overspend.
    let mint = spend(
        &[(fee_output, OPERATOR)],
        &[(OPERATOR, ankr(3 * ANKR))],
        U256::ZERO,
    );
    let bad = submit_invalid(&h, 2000, vec![mint], block.root).await;
    let (blknum, txindex, tx_bytes, proof) = tx_at(&bad, 0);
    h.ok(
        DAVE,
        RootChain::proveOverspendCall {
            blknum,
            txindex,
            txBytes: tx_bytes,
            proof,
            inputTxs: [block.transactions[0].encode().into(), Bytes::new()],
            inputProofs: [block.proof(0).into(), Bytes::new()],
        },
        U256::ZERO,
    )
    .await;
    assert_rolled_back(&h, &bad, DAVE).await;
}
