//! A long PoUW chain made now rather than over real time: blocks one second apart from the
//! head's timestamp (the devnet genesis is at time 0, so they all lie in the past), each
//! sealed by a real enclave run and full of transfers. Sync tests and the network benchmark
//! need hundreds of blocks; mining them at the 1 s target would take minutes.

use alloy_consensus::TxEip1559;
use alloy_eips::Encodable2718;
use alloy_primitives::{TxKind, U256};
use ankr_chain::Chain;
use ankr_enclave::workloads::builtin;
use ankr_enclave::{Enclave, Subtask, Template};
use ankr_types::fees::Fees;
use ankr_types::{Seal, SealKind};

/// Why history could not be made.
pub type HistoryError = Box<dyn std::error::Error + Send + Sync>;

/// Extends `chain` by `blocks` blocks sealed by `enclave` (live in the chain's registry, and
/// the difficulty low enough that it wins most draws), each carrying `transfers` value
/// transfers between the funded dev accounts. Returns the new head number.
pub fn mine_history(
    chain: &Chain,
    enclave: &dyn Enclave,
    blocks: u64,
    transfers: usize,
) -> Result<u64, HistoryError> {
    let accounts = crate::devnet::accounts();
    let state = chain.reader()?.state()?;
    let mut nonces = accounts
        .iter()
        .map(|a| Ok(state.account(a.address)?.map_or(0, |a| a.nonce)))
        .collect::<Result<Vec<u64>, ankr_storage::StoreError>>()?;
    drop(state);
    let work = &builtin()[0];
    let mut index = 0;
    for _ in 0..blocks {
        let fees = Fees::following(
            ankr_chain::next_base_fee(&chain.head()).into(),
            ankr_types::fees::DEFAULT_TIP,
        );
        for t in 0..transfers {
            let from = t % accounts.len();
            let tx = TxEip1559 {
                chain_id: chain.spec().chain_id,
                nonce: nonces[from],
                gas_limit: 21_000,
                max_fee_per_gas: fees.max_fee_per_gas,
                max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
                to: TxKind::Call(accounts[(from + 1) % accounts.len()].address),
                value: U256::from(1_000 + t),
                ..Default::default()
            };
            nonces[from] += 1;
            let signed = ankr_types::recovery::sign_transaction(&accounts[from].secret, tx);
            chain.submit_raw_transaction(&signed.encoded_2718())?;
        }
        let head = chain.head();
        let mut block = chain.build_template(accounts[0].address, head.timestamp + 1)?;
        let template = Template {
            hash: block.header.template_hash(),
            difficulty: block.header.difficulty,
        };
        loop {
            let subtask = Subtask {
                task_id: work.task_id(),
                index,
                module: work.module.clone(),
                input: work.input(index),
                budget: 1 << 32,
            };
            index += 1;
            let report = enclave.run_subtask(&template, &subtask)?;
            if report.won {
                block.header.seal = Seal {
                    kind: SealKind::UsefulWork,
                    proof: report.seal.encode(),
                };
                break;
            }
        }
        chain.import_block(block)?;
    }
    Ok(chain.head().number)
}
