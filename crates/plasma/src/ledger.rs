//! A child chain's state as its operator keeps it (the whitepaper: "when someone makes a
//! deposit, add the transaction to UTXO set; when someone makes a valid transaction … remove
//! the original output … and add its outputs; when someone successfully exits, remove it"):
//! the UTXO set, the pool of the next block, and the blocks made so far with their roots.
//! Numbering follows the root chain: child blocks 1000, 2000, …; a deposit takes the next of
//! the (at most 999) numbers after the last child block. A watcher replays the same rules
//! to check the operator's blocks.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy_primitives::{Address, B256, U256};

use crate::merkle::{MAX_LEAVES, MerkleError, MerkleTree, block_root};
use crate::transaction::{Output, PlasmaTx, TxDomain, TxError};

/// Child blocks are numbered by this; deposit blocks take the numbers in between.
pub const CHILD_BLOCK_INTERVAL: u64 = 1000;

/// The block whose root hash block `blknum`'s root hash chains over: the last child block
/// before it (0, none, before block 1000).
pub fn chained_to(blknum: u64) -> u64 {
    if blknum.is_multiple_of(CHILD_BLOCK_INTERVAL) {
        blknum.saturating_sub(CHILD_BLOCK_INTERVAL)
    } else {
        blknum - blknum % CHILD_BLOCK_INTERVAL
    }
}

/// A UTXO's place: output `oindex` of transaction `txindex` in block `blknum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UtxoPos {
    pub blknum: u64,
    pub txindex: u32,
    pub oindex: u8,
}

impl UtxoPos {
    /// blknum·10^9 + txindex·10^4 + oindex, the root chain's exit id.
    pub fn encoded(&self) -> u64 {
        crate::transaction::utxo_position(self.blknum, self.txindex, self.oindex)
    }

    /// The position a root-chain exit id names.
    pub fn decode(encoded: u64) -> Self {
        Self {
            blknum: encoded / 1_000_000_000,
            txindex: ((encoded % 1_000_000_000) / 10_000) as u32,
            oindex: (encoded % 10_000) as u8,
        }
    }
}

impl std::fmt::Display for UtxoPos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.blknum, self.txindex, self.oindex)
    }
}

/// A block of the child chain: its transactions, their tree and its root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildBlock {
    pub number: u64,
    pub transactions: Vec<PlasmaTx>,
    /// keccak(Merkle root ‖ root hash of [`chained_to`]`(number)`): what the root chain holds.
    pub root: B256,
    /// Kept so that proofs are 16 lookups, not a rebuild of the tree.
    tree: MerkleTree,
}

impl ChildBlock {
    /// A block over `transactions` chained to `previous` (the root hash of the last child block).
    pub fn new(
        number: u64,
        transactions: Vec<PlasmaTx>,
        previous: B256,
    ) -> Result<Self, MerkleError> {
        let tree = MerkleTree::new(transactions.iter().map(PlasmaTx::hash).collect())?;
        Ok(Self {
            number,
            transactions,
            root: block_root(tree.root(), previous),
            tree,
        })
    }

    /// The Merkle root of the transactions (before chaining).
    pub fn merkle_root(&self) -> B256 {
        self.tree.root()
    }

    /// The inclusion proof of transaction `txindex`: 16 siblings, 512 bytes.
    pub fn proof(&self, txindex: u32) -> Vec<u8> {
        self.tree.proof_bytes(txindex as usize)
    }
}

/// Why the ledger refuses a transaction or a deposit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Transaction(#[from] TxError),
    #[error("a transaction must spend at least one output")]
    NoInputs,
    #[error("input {0} is not an unspent output")]
    NotUnspent(UtxoPos),
    #[error("input {0} is exiting to the root chain")]
    Exiting(UtxoPos),
    #[error("input {0} is already spent by a transaction waiting for the next block")]
    SpentInPool(UtxoPos),
    #[error("the next block is full ({MAX_LEAVES} transactions)")]
    BlockFull,
    #[error("deposit block {got} does not follow deposit {last} within a known interval")]
    DepositOutOfOrder { last: u64, got: u64 },
    #[error("block {got} is not the next child block ({expected})")]
    WrongNumber { expected: u64, got: u64 },
}

/// A child block that breaks the rules: which transaction (if any) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid child block (transaction {txindex:?}): {error}")]
pub struct InvalidBlock {
    pub txindex: Option<u32>,
    pub error: LedgerError,
}

/// The UTXO set, the pool and the blocks.
#[derive(Debug, Default)]
pub struct Ledger {
    utxos: HashMap<UtxoPos, Output>,
    exiting: HashSet<UtxoPos>,
    pool: Vec<PlasmaTx>,
    spent_in_pool: HashSet<UtxoPos>,
    blocks: BTreeMap<u64, ChildBlock>,
    next_child_block: u64,
    last_deposit: u64,
    /// Where each included transaction is: (block, index).
    positions: HashMap<B256, (u64, u32)>,
    /// Which included transaction spent each spent output: (block, index, input).
    spent_by: HashMap<UtxoPos, (u64, u32, usize)>,
    /// The chain whose signatures count here.
    domain: TxDomain,
    /// Who owns the fee outputs: the RootChain's owner, the operator.
    operator: Address,
}

/// The output index of a transaction's fee output (ours, not the whitepaper's: the fee a
/// transaction pays is an output of its own, at (block, txindex, 2), owned by the operator, which
/// spends or exits it like any other — without it fees stayed locked in the RootChain for good,
/// audit L-4).
pub const FEE_OINDEX: u8 = 2;

impl Ledger {
    /// An empty ledger of the child chain of `domain`, whose fee outputs `operator` owns.
    pub fn new(domain: TxDomain, operator: Address) -> Self {
        Self {
            next_child_block: CHILD_BLOCK_INTERVAL,
            domain,
            operator,
            ..Default::default()
        }
    }

    /// The chain whose signatures count here.
    pub fn domain(&self) -> TxDomain {
        self.domain
    }

    /// The number the next child block will have.
    pub fn next_child_block(&self) -> u64 {
        self.next_child_block
    }

    fn root_of(&self, blknum: u64) -> B256 {
        self.blocks.get(&blknum).map(|b| b.root).unwrap_or_default()
    }

    /// Records the root chain's deposit block `blknum` (from its `Deposit` event) and its
    /// output. Deposits come in the root chain's order; one made while the operator's latest
    /// block was still on its way to the root chain is numbered before that block.
    pub fn deposit(
        &mut self,
        blknum: u64,
        owner: Address,
        amount: U256,
    ) -> Result<&ChildBlock, LedgerError> {
        let chained = chained_to(blknum);
        if blknum.is_multiple_of(CHILD_BLOCK_INTERVAL)
            || blknum <= self.last_deposit
            || blknum > self.next_child_block
            || (chained != 0 && !self.blocks.contains_key(&chained))
        {
            return Err(LedgerError::DepositOutOfOrder {
                last: self.last_deposit,
                got: blknum,
            });
        }
        let tx = PlasmaTx::deposit(owner, amount);
        let block =
            ChildBlock::new(blknum, vec![tx], self.root_of(chained)).expect("one transaction fits");
        self.utxos.insert(
            UtxoPos {
                blknum,
                txindex: 0,
                oindex: 0,
            },
            tx.outputs[0],
        );
        self.positions.insert(tx.hash(), (blknum, 0));
        self.last_deposit = blknum;
        Ok(self.blocks.entry(blknum).or_insert(block))
    }

    /// Replays child block `number` made elsewhere (by the operator, seen by a watcher, or read
    /// back from disk): every transaction must be valid in order, as the operator's pool would
    /// have taken it. The pool must be empty.
    pub fn apply_block(
        &mut self,
        number: u64,
        transactions: Vec<PlasmaTx>,
    ) -> Result<&ChildBlock, InvalidBlock> {
        assert!(
            self.pool.is_empty(),
            "apply_block replays onto an empty pool"
        );
        if number != self.next_child_block {
            return Err(InvalidBlock {
                txindex: None,
                error: LedgerError::WrongNumber {
                    expected: self.next_child_block,
                    got: number,
                },
            });
        }
        for (txindex, tx) in transactions.into_iter().enumerate() {
            if let Err(error) = self.add_transaction(tx) {
                self.pool.clear();
                self.spent_in_pool.clear();
                return Err(InvalidBlock {
                    txindex: Some(txindex as u32),
                    error,
                });
            }
        }
        Ok(self.seal_block())
    }

    /// Checks a transaction against the UTXO set and the pool and, if valid, pools it.
    pub fn add_transaction(&mut self, tx: PlasmaTx) -> Result<(), LedgerError> {
        if self.pool.len() >= MAX_LEAVES {
            return Err(LedgerError::BlockFull);
        }
        let mut owners = [None; 2];
        let mut spent = [U256::ZERO; 2];
        if tx.inputs[0].is_empty() {
            return Err(LedgerError::NoInputs);
        }
        for (i, input) in tx.inputs.iter().enumerate() {
            if input.is_empty() {
                continue;
            }
            let pos = input.utxo();
            let output = self.utxos.get(&pos).ok_or(LedgerError::NotUnspent(pos))?;
            if self.exiting.contains(&pos) {
                return Err(LedgerError::Exiting(pos));
            }
            if self.spent_in_pool.contains(&pos) {
                return Err(LedgerError::SpentInPool(pos));
            }
            owners[i] = Some(output.owner);
            spent[i] = output.denom;
        }
        tx.check(owners, spent, self.domain)?;
        for input in tx.inputs.iter().filter(|i| !i.is_empty()) {
            self.spent_in_pool.insert(input.utxo());
        }
        self.pool.push(tx);
        Ok(())
    }

    /// Makes the next child block from the pool (possibly empty): spends its inputs and adds
    /// its outputs and fee outputs to the UTXO set.
    pub fn seal_block(&mut self) -> &ChildBlock {
        let number = self.next_child_block;
        let transactions = std::mem::take(&mut self.pool);
        self.spent_in_pool.clear();
        for (txindex, tx) in transactions.iter().enumerate() {
            self.positions.insert(tx.hash(), (number, txindex as u32));
            for (k, input) in tx.inputs.iter().enumerate().filter(|(_, i)| !i.is_empty()) {
                self.utxos.remove(&input.utxo());
                self.spent_by
                    .insert(input.utxo(), (number, txindex as u32, k));
            }
            let fee = Output {
                owner: self.operator,
                denom: tx.fee,
            };
            let outputs = tx.outputs.iter().zip([0, 1]).chain([(&fee, FEE_OINDEX)]);
            for (output, oindex) in outputs {
                if !output.denom.is_zero() {
                    let pos = UtxoPos {
                        blknum: number,
                        txindex: txindex as u32,
                        oindex,
                    };
                    self.utxos.insert(pos, *output);
                }
            }
        }
        let block = ChildBlock::new(number, transactions, self.root_of(chained_to(number)))
            .expect("the pool holds at most a block's worth");
        self.next_child_block += CHILD_BLOCK_INTERVAL;
        self.blocks.entry(number).or_insert(block)
    }

    /// An output the root chain is paying out: it can no longer be spent here, and pooled
    /// transactions spending it are dropped.
    pub fn mark_exiting(&mut self, pos: UtxoPos) {
        self.exiting.insert(pos);
        self.utxos.remove(&pos);
        if self.spent_in_pool.remove(&pos) {
            self.pool
                .retain(|tx| !tx.inputs.iter().any(|i| !i.is_empty() && i.utxo() == pos));
            self.spent_in_pool = self
                .pool
                .iter()
                .flat_map(|tx| tx.inputs)
                .filter(|i| !i.is_empty())
                .map(|i| i.utxo())
                .collect();
        }
    }

    /// Whether `pos` is exiting (or exited) on the root chain.
    pub fn is_exiting(&self, pos: UtxoPos) -> bool {
        self.exiting.contains(&pos)
    }

    /// The included transaction that spent `pos`: (block, index, which input).
    pub fn spender_of(&self, pos: UtxoPos) -> Option<(u64, u32, usize)> {
        self.spent_by.get(&pos).copied()
    }

    /// Where transaction `hash` was included: (block, index).
    pub fn position_of(&self, hash: B256) -> Option<(u64, u32)> {
        self.positions.get(&hash).copied()
    }

    /// The blocks so far, by number.
    pub fn blocks(&self) -> impl Iterator<Item = &ChildBlock> {
        self.blocks.values()
    }

    pub fn block(&self, blknum: u64) -> Option<&ChildBlock> {
        self.blocks.get(&blknum)
    }

    /// Unspent outputs of `owner`, by position.
    pub fn utxos_of(&self, owner: Address) -> Vec<(UtxoPos, Output)> {
        let mut found: Vec<_> = self
            .utxos
            .iter()
            .filter(|(_, o)| o.owner == owner)
            .map(|(p, o)| (*p, *o))
            .collect();
        found.sort_by_key(|(p, _)| *p);
        found
    }

    pub fn balance_of(&self, owner: Address) -> U256 {
        self.utxos_of(owner).iter().map(|(_, o)| o.denom).sum()
    }

    /// Transactions waiting for the next block.
    pub fn pool_len(&self) -> usize {
        self.pool.len()
    }

    /// The outputs the pooled transactions spend.
    pub fn pooled_inputs(&self) -> impl Iterator<Item = UtxoPos> + '_ {
        self.spent_in_pool.iter().copied()
    }
}
