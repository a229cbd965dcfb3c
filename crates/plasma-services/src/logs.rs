//! The RootChain's logs that the operator and the watcher follow, decoded in one place.

use alloy_primitives::{Address, B256, U256};
use ankr_client::{ClientError, MainChain};
use ankr_contracts::RootChain;
use ankr_plasma::UtxoPos;

/// A RootChain log a child-chain service acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootChainLog {
    Deposit {
        blknum: u64,
        owner: Address,
        amount: U256,
    },
    Submitted {
        blknum: u64,
        root: B256,
    },
    ExitStarted {
        pos: UtxoPos,
        exitor: Address,
    },
}

/// The `Deposit`, `BlockSubmitted` and `ExitStarted` logs of `root_chain` in blocks
/// `from..=to`, in order.
pub async fn root_chain_logs(
    main: &MainChain,
    root_chain: Address,
    from: u64,
    to: u64,
) -> Result<Vec<RootChainLog>, ClientError> {
    Ok(main
        .logs(root_chain, None, from, to)
        .await?
        .iter()
        .filter_map(|log| {
            if let Some(d) = log.decode::<RootChain::Deposit>() {
                return Some(RootChainLog::Deposit {
                    blknum: d.blknum.to(),
                    owner: d.depositor,
                    amount: d.amount,
                });
            }
            if let Some(b) = log.decode::<RootChain::BlockSubmitted>() {
                return Some(RootChainLog::Submitted {
                    blknum: b.blknum.to(),
                    root: b.root,
                });
            }
            let e = log.decode::<RootChain::ExitStarted>()?;
            Some(RootChainLog::ExitStarted {
                pos: UtxoPos {
                    blknum: e.plasmaBlockNum.to(),
                    txindex: e.txindex.to(),
                    oindex: e.oindex.to(),
                },
                exitor: e.exitor,
            })
        })
        .collect())
}
