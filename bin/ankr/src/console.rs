//! The devnet's console: one line per main-chain block (who sealed it, its transactions and
//! gas) and, under it, one per thing a person running a devnet watches for: a child chain's
//! block committed or submitted, a deposit, an exit, a fraud proof or a reversal, an oracle
//! answer, a work-market delivery. Everything is decoded from the block's own receipts, so the
//! console shows what the chain did, not what a service meant to do. Full logs go to a file
//! (`devnet.log` in the data folder); `ankr devnet -v` prints them here instead.

use crate::plasma::format_ankr;
use alloy_primitives::{Address, B256, Log};
use alloy_sol_types::SolEvent;
use ankr_chain::{Chain, NewBlock};
use ankr_contracts::{ChildChainRegistry, EvmChildChain, NativeOracle, RootChain, WorkMarket};
use ankr_pouw::PouwSeal;
use ankr_types::{Header, SealKind};
use std::collections::HashMap;
use std::sync::Arc;

/// What the console remembers between blocks: child chains' names by contract, miners'
/// platforms, the last block's time.
pub struct Console {
    chain_names: HashMap<Address, String>,
    node_platforms: Vec<B256>,
    last_timestamp: Option<u64>,
}

impl Console {
    /// A console for a chain whose node `i` mines on platform `node_platforms[i]`; it learns
    /// the child chains already registered from the blocks the chain holds.
    pub fn new(chain: &Chain, node_platforms: Vec<B256>) -> Self {
        let mut console = Self {
            chain_names: HashMap::new(),
            node_platforms,
            last_timestamp: None,
        };
        if let Ok(reader) = chain.reader() {
            for number in 0..=chain.head().number {
                let Ok(Some(hash)) = reader.canonical_hash(number) else {
                    continue;
                };
                for receipt in reader.receipts(hash).ok().flatten().unwrap_or_default() {
                    for log in receipt.logs() {
                        console.learn_name(log);
                    }
                }
            }
        }
        console.last_timestamp = Some(chain.head().timestamp);
        console
    }

    fn learn_name(&mut self, log: &Log) {
        if let Ok(registered) = ChildChainRegistry::ChildChainRegistered::decode_log(log) {
            self.chain_names
                .insert(registered.rootChain, registered.name.clone());
        }
    }

    /// The lines of one new block: its own, then one per event worth a person's attention.
    pub fn lines(&mut self, block: &NewBlock) -> Vec<String> {
        let header = &block.header;
        let interval = self
            .last_timestamp
            .map(|last| format!(" · +{} s", header.timestamp.saturating_sub(last)))
            .unwrap_or_default();
        self.last_timestamp = Some(header.timestamp);
        let gas: u64 = header.gas_used;
        let mut lines = vec![format!(
            "  block {:<6} {} · {} tx · {} gas{interval}",
            header.number,
            self.sealer(header),
            block.transaction_hashes.len(),
            thousands(gas as u128),
        )];
        // An every-block child chain commits several blocks per main block: one line per chain.
        let mut committed: Vec<(Address, u64, u64, usize)> = Vec::new();
        for receipt in &block.receipts {
            for log in receipt.logs() {
                self.learn_name(log);
                if let Ok(e) = EvmChildChain::BlockCommitted::decode_log(log) {
                    let number = e.number.saturating_to::<u64>();
                    match committed.iter_mut().find(|c| c.0 == log.address) {
                        Some(range) => {
                            range.1 = range.1.min(number);
                            range.2 = range.2.max(number);
                            range.3 += 1;
                        }
                        None => committed.push((log.address, number, number, 1)),
                    }
                } else if let Some(line) = self.event(log) {
                    lines.push(format!("    {line}"));
                }
            }
        }
        for (contract, first, last, count) in committed {
            let name = self.name(contract);
            lines.push(match count {
                1 => format!("    {name}: child block {first} committed"),
                _ => format!("    {name}: child blocks {first}–{last} committed ({count})"),
            });
        }
        lines
    }

    fn sealer(&self, header: &Header) -> String {
        match header.seal.kind {
            SealKind::UsefulWork => match PouwSeal::decode(&header.seal.proof) {
                Ok(seal) => {
                    let who = match self
                        .node_platforms
                        .iter()
                        .position(|p| *p == seal.platform_id)
                    {
                        Some(i) => format!("node {i}"),
                        None => format!("platform {}", short(&seal.platform_id.to_string())),
                    };
                    format!(
                        "sealed by {who} (PoUW, {} instructions)",
                        thousands(seal.instructions as u128)
                    )
                }
                Err(_) => "sealed by useful work (undecodable proof)".into(),
            },
            SealKind::Dev => "dev-sealed".into(),
            SealKind::Operator => "operator-sealed".into(),
        }
    }

    fn name(&self, contract: Address) -> String {
        self.chain_names
            .get(&contract)
            .cloned()
            .unwrap_or_else(|| short(&contract.to_string()))
    }

    /// One event's line, for the events a person running a devnet watches for (child blocks
    /// committed are counted by [`Self::lines`]).
    fn event(&self, log: &Log) -> Option<String> {
        let chain = || self.name(log.address);
        if let Ok(e) = ChildChainRegistry::ChildChainRegistered::decode_log(log) {
            return Some(format!(
                "registry: child chain #{} {:?} registered (contract {}, operator {})",
                e.id, e.name, e.rootChain, e.operator
            ));
        }
        if let Ok(e) = EvmChildChain::BlocksReverted::decode_log(log) {
            return Some(format!(
                "{}: child blocks {}–{} REVERTED, proven wrong by {}",
                chain(),
                e.fromNumber,
                e.toNumber,
                e.prover
            ));
        }
        if let Ok(e) = EvmChildChain::AvailabilityChallenged::decode_log(log) {
            return Some(format!(
                "{}: child block {} challenged for availability by {}",
                chain(),
                e.number,
                e.challenger
            ));
        }
        if let Ok(e) = EvmChildChain::Frozen::decode_log(log) {
            return Some(format!(
                "{}: FROZEN after child block {} (a block was withheld)",
                chain(),
                e.lastNumber
            ));
        }
        if let Ok(e) = EvmChildChain::Deposited::decode_log(log) {
            return Some(format!(
                "{}: deposit {} of {} to {}",
                chain(),
                e.index,
                format_ankr(e.amount),
                e.to
            ));
        }
        if let Ok(e) = EvmChildChain::WithdrawalPaid::decode_log(log) {
            return Some(format!(
                "{}: withdrawal {} of {} paid to {} (child block {})",
                chain(),
                e.id,
                format_ankr(e.amount),
                e.to,
                e.childBlock
            ));
        }
        if let Ok(e) = RootChain::BlockSubmitted::decode_log(log) {
            return Some(format!(
                "{}: Plasma block {} submitted {}",
                chain(),
                e.blknum,
                short(&e.root.to_string())
            ));
        }
        if let Ok(e) = RootChain::Deposit::decode_log(log) {
            return Some(format!(
                "{}: deposit of {} by {} (block {})",
                chain(),
                format_ankr(e.amount),
                e.depositor,
                e.blknum
            ));
        }
        if let Ok(e) = RootChain::ExitStarted::decode_log(log) {
            return Some(format!(
                "{}: exit started by {} (block {}, tx {}, output {})",
                chain(),
                e.exitor,
                e.plasmaBlockNum,
                e.txindex,
                e.oindex
            ));
        }
        if let Ok(e) = RootChain::ExitChallenged::decode_log(log) {
            return Some(format!(
                "{}: exit {} CHALLENGED by {}",
                chain(),
                e.exitId,
                e.challenger
            ));
        }
        if let Ok(e) = RootChain::ExitFinalized::decode_log(log) {
            return Some(format!(
                "{}: exit paid to {} (block {}, tx {}, output {})",
                chain(),
                e.exitor,
                e.plasmaBlockNum,
                e.txindex,
                e.oindex
            ));
        }
        if let Ok(e) = RootChain::BlockInvalid::decode_log(log) {
            return Some(format!(
                "{}: Plasma block {} proven INVALID by {}",
                chain(),
                e.blknum,
                e.prover
            ));
        }
        if let Ok(e) = NativeOracle::Delivered::decode_log(log) {
            return Some(format!(
                "oracle: request {} answered (code {}) by relay {}",
                e.id, e.code, e.relay
            ));
        }
        if let Ok(e) = NativeOracle::Expired::decode_log(log) {
            return Some(format!("oracle: request {} expired unanswered", e.id));
        }
        if let Ok(e) = WorkMarket::TaskPosted::decode_log(log) {
            return Some(format!(
                "work market: task {} posted by {} (up to {} instructions)",
                e.id,
                e.provider,
                thousands(e.maxInstructions.saturating_to::<u128>())
            ));
        }
        if let Ok(e) = WorkMarket::ResultDelivered::decode_log(log) {
            return Some(format!(
                "work market: task {} delivered by {} ({} instructions, paid {})",
                e.id,
                e.miner,
                thousands(e.instructions.saturating_to::<u128>()),
                format_ankr(e.payment)
            ));
        }
        None
    }
}

/// Prints each new head's lines until the chain's channel closes (the node stopped).
pub fn spawn(chain: Arc<Chain>, node_platforms: Vec<B256>) -> tokio::task::JoinHandle<()> {
    let mut heads = chain.subscribe();
    let mut console = Console::new(&chain, node_platforms);
    tokio::spawn(async move {
        loop {
            match heads.recv().await {
                Ok(block) => {
                    for line in console.lines(&block) {
                        println!("{line}");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    println!("  … {missed} blocks not shown (the console fell behind)");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

fn short(hex: &str) -> String {
    if hex.len() > 14 {
        format!("{}…{}", &hex[..8], &hex[hex.len() - 6..])
    } else {
        hex.to_string()
    }
}

/// 1234567 → "1,234,567".
fn thousands(value: u128) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_599_627), "12,599,627");
        assert_eq!(format_ankr(U256::from(10u64).pow(U256::from(18))), "1 ANKR");
        assert_eq!(
            format_ankr(U256::from(9_000_000_000_000_000u64)),
            "0.009 ANKR"
        );
    }
}
