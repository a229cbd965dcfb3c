//! `ankr bench --only plasma`: the Merkle root of a full child block (65,536 transactions)
//! against the keccak limit measured in the same run: the 65,535 parent hashes of 64 bytes the
//! tree needs, hashed back to back with nothing else.

use alloy_primitives::{B256, keccak256};
use ankr_plasma::MerkleTree;
use ankr_plasma::merkle::MAX_LEAVES;
use std::time::{Duration, Instant};

/// The chain the pure ledger benchmarks sign for (no RootChain is involved).
fn domain() -> ankr_plasma::TxDomain {
    ankr_plasma::TxDomain::new(1, alloy_primitives::Address::repeat_byte(0xbe))
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .min()
        .expect("at least one run")
}

pub(crate) fn run() {
    let leaves: Vec<B256> = (0..MAX_LEAVES as u32)
        .map(|i| keccak256(i.to_be_bytes()))
        .collect();
    let keccak = best_of(5, || {
        let mut block = [0u8; 64];
        let mut last = B256::ZERO;
        for leaf in &leaves[..MAX_LEAVES - 1] {
            block[..32].copy_from_slice(leaf.as_slice());
            block[32..].copy_from_slice(last.as_slice());
            last = keccak256(block);
        }
        std::hint::black_box(last);
    });
    let mut root = B256::ZERO;
    let tree = best_of(5, || {
        root = MerkleTree::new(leaves.clone())
            .expect("a full block fits")
            .root();
    });
    println!(
        "plasma: Merkle root of 65,536 transactions {:.1} ms; 65,535 raw keccaks of 64 bytes {:.1} ms: {:.2}× the keccak limit (goal ≤ 1.2×; includes keeping every level for proofs)",
        tree.as_secs_f64() * 1e3,
        keccak.as_secs_f64() * 1e3,
        tree.as_secs_f64() / keccak.as_secs_f64()
    );
    std::hint::black_box(root);
}

/// Operator throughput: `n` signed one-input transactions (each spending its own deposit) from
/// their bytes to a sealed block (decode, signature recovery, UTXO checks and update, Merkle
/// root), against the same recoveries alone on one core in the same run (the ledger is one
/// thread).
pub(crate) fn operator_throughput(n: usize) {
    use alloy_primitives::{Address, U256};
    use ankr_plasma::{Ledger, Output, PlasmaTx, UtxoPos, transaction::recover};
    use ankr_plasma_services::store::{ChildStore, block_event};
    let keys: Vec<secp256k1::SecretKey> = (0..64u64)
        .map(|i| {
            secp256k1::SecretKey::from_byte_array(keccak256(i.to_be_bytes()).0)
                .expect("a valid key")
        })
        .collect();
    let owners: Vec<Address> = keys.iter().map(ankr_types::recovery::address_of).collect();
    // n deposits, 999 per interval with an empty child block between, as the root chain numbers them.
    let fresh_ledger = || {
        let mut ledger = Ledger::new(domain(), alloy_primitives::Address::ZERO);
        let mut numbers = Vec::with_capacity(n);
        let mut next = 1;
        for i in 0..n {
            if next % 1000 == 0 {
                ledger.seal_block();
                next += 1;
            }
            ledger
                .deposit(next, owners[i % 64], U256::from(1_000_000))
                .expect("in order");
            numbers.push(next);
            next += 1;
        }
        (ledger, numbers)
    };
    let (mut ledger, numbers) = fresh_ledger();
    let raw: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let deposit = UtxoPos {
                blknum: numbers[i],
                txindex: 0,
                oindex: 0,
            };
            let outputs = [
                Output {
                    owner: owners[(i + 1) % 64],
                    denom: U256::from(999_000),
                },
                Output {
                    owner: owners[i % 64],
                    denom: U256::from(900),
                },
            ];
            let mut tx = PlasmaTx::spending(&[deposit], &outputs, U256::from(100));
            tx.sign_input(0, &keys[i % 64], domain());
            tx.encode()
        })
        .collect();
    let signed: Vec<PlasmaTx> = raw
        .iter()
        .map(|r| PlasmaTx::decode(r).expect("valid"))
        .collect();
    let recovery = best_of(3, || {
        for tx in &signed {
            std::hint::black_box(recover(tx.signing_hash(domain()), &tx.inputs[0].signature));
        }
    });
    // The operator's work, without and with its file (each pooled transaction written, the
    // block appended durably and the pool emptied, as `ankr plasma operator` does).
    let folder = tempfile::tempdir().expect("a temporary folder");
    let store = ChildStore::open(&folder.path().join("child-chain.redb")).expect("a redb file");
    let mut best = [Duration::MAX; 2];
    for _ in 0..3 {
        for (with_file, best) in best.iter_mut().enumerate() {
            let started = Instant::now();
            for bytes in &raw {
                let tx = PlasmaTx::decode(bytes).expect("valid");
                ledger.add_transaction(tx).expect("valid spend");
                if with_file == 1 {
                    store.pool_put(bytes).expect("pool written");
                }
            }
            let block = ledger.seal_block();
            if with_file == 1 {
                store.seal(&block_event(block)).expect("block written");
            }
            std::hint::black_box(block.root);
            *best = (*best).min(started.elapsed());
            ledger = fresh_ledger().0;
        }
    }
    let [operator, with_file] = best;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "plasma: operator {:.0} tx/s ({n} transactions from bytes to a sealed block); signature recovery alone {:.0}/s on one core: {:.2} of the recovery limit (goal ≥ 0.5)",
        rate(operator),
        rate(recovery),
        recovery.as_secs_f64() / operator.as_secs_f64()
    );
    println!(
        "plasma: operator with its file (pool written per transaction, block durable) {:.0} tx/s: {:.2} of the recovery limit",
        rate(with_file),
        recovery.as_secs_f64() / with_file.as_secs_f64()
    );
}

/// Gas of each RootChain and ChildChainRegistry function, measured on a dev node with real
/// transactions (fraud proofs each on a chain of their own, since a proof ends a chain).
pub(crate) async fn gas() -> anyhow::Result<()> {
    use alloy_primitives::{Address, Bytes, U256};
    use ankr_client::main_chain::{MainChain, receipt_events};
    use ankr_contracts::RootChain;
    use ankr_node::{DevSealing, Node, NodeConfig, devnet};
    use ankr_plasma::transaction::confirm;
    use ankr_plasma::{ChildBlock, Ledger, Output, PlasmaTx, UtxoPos};
    use ankr_plasma_services::operator::{RootChainSettings, deploy_child_chain};

    let dir = tempfile::tempdir()?;
    let node = Node::start(NodeConfig {
        operator: None,
        data_dir: dir.path().to_path_buf(),
        spec: devnet::spec(),
        rpc_addr: "127.0.0.1:0".parse()?,
        sealing: DevSealing::Interval(Duration::from_millis(100)),
        beneficiary: Address::repeat_byte(0xbe),
        mining: None,
        network: None,
        pool: Default::default(),
    })
    .await?;
    let main = MainChain::connect(&node.rpc_url()).await?;
    let key = |i: usize| devnet::accounts()[i].secret;
    let who = |i: usize| devnet::accounts()[i].address;
    let ankr = U256::from(ankr_types::chain_spec::ANKR);
    let settings = RootChainSettings {
        challenge_period: 2,
        maturity_period: 4,
        exit_bond: ankr / U256::from(100),
        stake: ankr,
    };
    let figures: std::cell::RefCell<Vec<(String, u64)>> = Default::default();
    let used = |receipt: &alloy_rpc_types_eth::TransactionReceipt| receipt.gas_used;
    let sender = |i: usize| ankr_client::Sender::new(main.clone(), key(i));

    // One chain through its whole life.
    let root_chain = deploy_child_chain(&main, &key(0), "gas", settings).await?;
    let domain = ankr_plasma::TxDomain::new(main.chain_id(), root_chain);
    let mut ledger = Ledger::new(domain, ankr_types::recovery::address_of(&key(0)));
    let transact = async |from: usize,
                          call: &dyn Fn() -> Vec<u8>,
                          value: U256,
                          name: &str|
           -> anyhow::Result<alloy_rpc_types_eth::TransactionReceipt> {
        let sent = sender(from)
            .send(Some(root_chain), call(), value, 3_000_000)
            .await?;
        let receipt = main
            .wait(sent.hash, Duration::from_secs(30))
            .await
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        figures
            .borrow_mut()
            .push((name.to_string(), used(&receipt)));
        Ok(receipt)
    };
    use alloy_sol_types::SolCall;
    let mut deposits = Vec::new();
    for (i, owner) in [1usize, 2, 1].iter().enumerate() {
        let receipt = transact(
            *owner,
            &|| RootChain::depositCall {}.abi_encode(),
            ankr,
            if i == 0 { "deposit" } else { "deposit (again)" },
        )
        .await?;
        let blknum: u64 = receipt_events::<RootChain::Deposit>(&receipt)[0]
            .blknum
            .to();
        ledger
            .deposit(blknum, who(*owner), ankr)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        deposits.push(UtxoPos {
            blknum,
            txindex: 0,
            oindex: 0,
        });
    }
    let spend =
        |domain: ankr_plasma::TxDomain, inputs: &[(UtxoPos, usize)], to: usize, amount: U256| {
            let positions: Vec<UtxoPos> = inputs.iter().map(|(pos, _)| *pos).collect();
            let to = Output {
                owner: who(to),
                denom: amount,
            };
            let mut tx = PlasmaTx::spending(&positions, &[to], U256::ZERO);
            for (k, (_, owner)) in inputs.iter().enumerate() {
                tx.sign_input(k, &key(*owner), domain);
            }
            tx
        };
    ledger
        .add_transaction(spend(domain, &[(deposits[0], 1)], 3, ankr))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ledger
        .add_transaction(spend(
            domain,
            &[(deposits[1], 2), (deposits[2], 1)],
            3,
            ankr * U256::from(2),
        ))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let block = ledger.seal_block().clone();
    transact(
        0,
        &|| RootChain::submitBlockCall { root: block.root }.abi_encode(),
        U256::ZERO,
        "submitBlock",
    )
    .await?;
    // The steady state: the previous block's root is read (no resubmission) and the
    // registry's boundary slots are already set.
    let next = ledger.seal_block().clone();
    transact(
        0,
        &|| RootChain::submitBlockCall { root: next.root }.abi_encode(),
        U256::ZERO,
        "submitBlock (again)",
    )
    .await?;
    let bond = settings.exit_bond;
    let exit_call =
        |block: &ChildBlock, txindex: u32, confirm_sig: Vec<u8>| RootChain::startExitCall {
            plasmaBlockNum: U256::from(block.number),
            txindex: U256::from(txindex),
            oindex: U256::ZERO,
            txBytes: block.transactions[txindex as usize].encode().into(),
            proof: block.proof(txindex).into(),
            confirmSig: confirm_sig.into(),
        };
    let deposit_block = ledger.block(deposits[0].blknum).expect("recorded").clone();
    transact(
        1,
        &|| exit_call(&deposit_block, 0, vec![]).abi_encode(),
        bond,
        "startExit (deposit)",
    )
    .await?;
    let c0 = confirm(&key(1), block.transactions[0].hash(), block.root).to_vec();
    let challenge = RootChain::challengeExitCall {
        exitId: U256::from(deposits[0].encoded()),
        plasmaBlockNum: U256::from(block.number),
        txindex: U256::ZERO,
        oindex: U256::ZERO,
        txBytes: block.transactions[0].encode().into(),
        proof: block.proof(0).into(),
        confirmSig: c0.clone().into(),
    };
    transact(4, &|| challenge.abi_encode(), U256::ZERO, "challengeExit").await?;
    transact(
        3,
        &|| exit_call(&block, 0, c0.clone()).abi_encode(),
        bond,
        "startExit (one input, confirm signature)",
    )
    .await?;
    let c1 = [
        confirm(&key(2), block.transactions[1].hash(), block.root).to_vec(),
        confirm(&key(1), block.transactions[1].hash(), block.root).to_vec(),
    ]
    .concat();
    transact(
        3,
        &|| exit_call(&block, 1, c1.clone()).abi_encode(),
        bond,
        "startExit (two inputs)",
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await; // ≥ 4 main-chain seconds at 100 ms blocks
    let receipt = transact(
        4,
        &|| RootChain::finalizeExitCall {}.abi_encode(),
        U256::ZERO,
        "finalizeExit",
    )
    .await?;
    let paid = receipt_events::<RootChain::ExitFinalized>(&receipt).len();
    if let Some(last) = figures.borrow_mut().last_mut() {
        last.0 = format!("finalizeExit ({paid} exits)");
    }
    transact(
        3,
        &|| RootChain::withdrawCall {}.abi_encode(),
        U256::ZERO,
        "withdraw",
    )
    .await?;

    // Fraud proofs, each against a chain whose block 1000 is bad in its own way.
    let deposit_tx = |ledger: &Ledger, pos: UtxoPos| {
        let b = ledger.block(pos.blknum).expect("recorded");
        (
            Bytes::from(b.transactions[0].encode()),
            Bytes::from(b.proof(0)),
        )
    };
    for kind in ["proveOverspend", "proveBadSignature", "proveDoubleSpend"] {
        let owner = 5 + figures.borrow().len() % 4;
        let root_chain = deploy_child_chain(&main, &key(owner), kind, settings).await?;
        let chain_domain = ankr_plasma::TxDomain::new(main.chain_id(), root_chain);
        let hash = sender(1)
            .send(
                Some(root_chain),
                RootChain::depositCall {}.abi_encode(),
                ankr,
                300_000,
            )
            .await?
            .hash;
        let receipt = main.wait(hash, Duration::from_secs(30)).await?;
        let blknum: u64 = receipt_events::<RootChain::Deposit>(&receipt)[0]
            .blknum
            .to();
        let mut ledger = Ledger::new(chain_domain, ankr_types::recovery::address_of(&key(owner)));
        ledger
            .deposit(blknum, who(1), ankr)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let pos = UtxoPos {
            blknum,
            txindex: 0,
            oindex: 0,
        };
        let bad_txs = match kind {
            "proveOverspend" => vec![spend(chain_domain, &[(pos, 1)], 1, ankr * U256::from(2))],
            "proveBadSignature" => vec![spend(chain_domain, &[(pos, 2)], 2, ankr)],
            _ => vec![
                spend(chain_domain, &[(pos, 1)], 2, ankr),
                spend(chain_domain, &[(pos, 1)], 3, ankr),
            ],
        };
        let bad = ChildBlock::new(1000, bad_txs, Default::default())?;
        let hash = sender(owner)
            .send(
                Some(root_chain),
                RootChain::submitBlockCall { root: bad.root }.abi_encode(),
                U256::ZERO,
                300_000,
            )
            .await?
            .hash;
        main.wait(hash, Duration::from_secs(30)).await?;
        let at = |i: u32| {
            (
                Bytes::from(bad.transactions[i as usize].encode()),
                Bytes::from(bad.proof(i)),
            )
        };
        let (tx, proof) = at(0);
        let (input_tx, input_proof) = deposit_tx(&ledger, pos);
        let call: Vec<u8> = match kind {
            "proveOverspend" => RootChain::proveOverspendCall {
                blknum: U256::from(1000),
                txindex: U256::ZERO,
                txBytes: tx,
                proof,
                inputTxs: [input_tx, Bytes::new()],
                inputProofs: [input_proof, Bytes::new()],
            }
            .abi_encode(),
            "proveBadSignature" => RootChain::proveBadSignatureCall {
                blknum: U256::from(1000),
                txindex: U256::ZERO,
                txBytes: tx,
                proof,
                k: U256::ZERO,
                inputTx: input_tx,
                inputProof: input_proof,
            }
            .abi_encode(),
            _ => {
                let (later_tx, later_proof) = at(1);
                let spend = |txindex: u64, tx_bytes: Bytes, proof: Bytes| RootChain::Spend {
                    blknum: U256::from(1000),
                    txindex: U256::from(txindex),
                    txBytes: tx_bytes,
                    proof,
                    input: U256::ZERO,
                };
                RootChain::proveDoubleSpendCall {
                    later: spend(1, later_tx, later_proof),
                    earlier: spend(0, tx, proof),
                }
                .abi_encode()
            }
        };
        let hash = sender(4)
            .send(Some(root_chain), call, U256::ZERO, 3_000_000)
            .await?
            .hash;
        let receipt = main.wait(hash, Duration::from_secs(30)).await?;
        anyhow::ensure!(
            receipt_events::<RootChain::BlockInvalid>(&receipt).len() == 1,
            "{kind} did not convict"
        );
        figures
            .borrow_mut()
            .push((kind.to_string(), used(&receipt)));
    }
    for (name, gas) in figures.borrow().iter() {
        println!("plasma gas: {name:<42} {gas:>9}");
    }
    node.stop().await;
    Ok(())
}
