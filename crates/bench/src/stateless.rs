//! EXECUTE's cost (DESIGN §8): the same block executed by the node from its store and by the
//! stateless path from its witness (what the EXECUTE precompile runs), in the same run. The
//! ratio of the two times per unit of child gas is what `EXECUTE_GAS_PER_CHILD_GAS` should be
//! set from; the witness size per transaction is what a proof carries.

use crate::fixtures::{TOKEN, key, signed, spec};
use crate::measure::best_of;
use alloy_eips::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_sol_types::SolCall;
use ankr_chain::{Chain, Contents, Sealer};
use ankr_contracts::ExampleToken;
use ankr_execution::stateless::{Tries, execute_gas, make_witness, make_witness_from, verify};
use ankr_execution::{BlockContext, Mode, TwoThreads, execute_block};
use ankr_types::{Block, RecoveredTx, recover_senders, recovery::address_of};
use std::time::Instant;

/// Times node execution, witness making and stateless verification of blocks of `n`
/// transfers and of `n` ERC-20 transfers.
pub(crate) fn run(n: usize) -> anyhow::Result<()> {
    println!(
        "== EXECUTE: stateless re-execution from a witness vs the node's own execution, {n} transactions a block, best of 3"
    );
    println!(
        "  {:<16} {:>12} {:>11} {:>13} {:>8} {:>12} {:>18} {:>14} {:>15}",
        "workload",
        "child gas",
        "node ms",
        "stateless ms",
        "ratio",
        "witness ms",
        "whole tries ms",
        "witness B/tx",
        "EXECUTE gas/gas"
    );
    let senders: Vec<Address> = (0..n).map(|i| address_of(&key(i))).collect();
    for workload in ["transfers", "ERC-20 transfers"] {
        let dir = tempfile::tempdir()?;
        // A child chain's block, as EXECUTE takes only those: operator-sealed.
        let operator = key(usize::MAX >> 1);
        let mut spec = spec(&senders, 1 << 40);
        spec.operator = Some(address_of(&operator));
        spec.allow_dev_seal = false;
        let chain = Chain::open(dir.path(), spec)?;
        for i in 0..n {
            let to = Address::from_word(B256::from(U256::from(i + 1_000_000)));
            let tx = match workload {
                "transfers" => signed(i, TxKind::Call(to), Bytes::new(), 21_000),
                _ => {
                    let call = ExampleToken::transferCall {
                        to,
                        value: U256::from(1),
                    };
                    signed(i, TxKind::Call(TOKEN), call.abi_encode().into(), 100_000)
                }
            };
            chain.submit_raw_transaction(&tx.encoded_2718())?;
        }
        let parent = chain.head();
        let header = chain
            .build_block(
                Address::repeat_byte(0xbe),
                parent.timestamp + 1,
                &Sealer::Operator(operator),
                Contents::AnyNumber,
            )?
            .ok_or_else(|| anyhow::anyhow!("no block was built"))?;
        let reader = chain.reader()?;
        let body = reader
            .body(header.hash())?
            .ok_or_else(|| anyhow::anyhow!("no body"))?;
        let block = Block {
            header,
            transactions: body.transactions,
        };
        anyhow::ensure!(
            block.transactions.len() == n,
            "the block holds {} of {n}",
            block.transactions.len()
        );
        let config = chain.execution_config();

        let recovered: Vec<RecoveredTx> = block
            .transactions
            .iter()
            .zip(recover_senders(&block.transactions))
            .map(|(tx, sender)| Ok(RecoveredTx::new(tx.clone(), sender?)))
            .collect::<Result<_, ankr_types::RecoveryError>>()?;
        let parent_state = reader.state_at(parent.number)?;
        let context = BlockContext::of(&block.header);
        // The node: recovery is counted on both sides, so it is recovered inside the timing.
        let node = best_of(3, || {
            let txs: Vec<RecoveredTx> = block
                .transactions
                .iter()
                .zip(recover_senders(&block.transactions))
                .map(|(tx, sender)| RecoveredTx::new(tx.clone(), sender.expect("recovered above")))
                .collect();
            execute_block(
                &parent_state,
                config,
                &context,
                txs,
                Mode::Import,
                &TwoThreads::default(),
            )?;
            Ok(())
        })?;
        drop(recovered);
        let started = Instant::now();
        let witness = make_witness(&reader, config, &block)?;
        let making = started.elapsed();
        // The same witness from the whole tries, a scan of the state: what it cost before the
        // kept trie was read along the touched keys.
        let started = Instant::now();
        let whole = make_witness_from(&reader, config, &block, Tries::Whole)?;
        let making_whole = started.elapsed();
        anyhow::ensure!(whole == witness, "the two ways to a witness disagree");
        let stateless = best_of(3, || {
            verify(config, &block, &witness)?;
            Ok(())
        })?;
        let input = alloy_rlp::encode(&block).len() + witness.size();
        let gas_used = block.header.gas_used;
        println!(
            "  {:<16} {:>12} {:>11.1} {:>13.1} {:>8.2} {:>12.1} {:>18.1} {:>14.0} {:>15.2}",
            workload,
            gas_used,
            node.as_secs_f64() * 1e3,
            stateless.as_secs_f64() * 1e3,
            stateless.as_secs_f64() / node.as_secs_f64(),
            making.as_secs_f64() * 1e3,
            making_whole.as_secs_f64() * 1e3,
            witness.size() as f64 / n as f64,
            execute_gas(gas_used, input) as f64 / gas_used as f64,
        );
    }
    println!(
        "  ratio = stateless time / node time on the same block (EXECUTE's cost per child gas, relative)"
    );
    println!(
        "  EXECUTE gas/gas = what the precompile charges per child gas, input bytes included\n"
    );
    Ok(())
}
