//! ANKR between the main chain and an EVM child chain (DESIGN §8), EIP-8079's way: the child's
//! ANKR is pre-minted into its `ChildBridge` at genesis and unlocked by deposits, never minted.
//!
//! - In: `deposit` escrows ANKR in the manager, which folds (recipient, amount) into a rolling
//!   deposit hash. The operator's [`run_relay`] sets that hash (read some main blocks below
//!   the head) as the anchor of the blocks it builds, then credits the deposits it covers on the
//!   child chain. The manager refuses (or lets anyone prove wrong) a block whose anchor it never
//!   gave or that leaves out a deposit older than its `ANCHOR_DEADLINE`.
//! - Out: [`start_withdrawal`] sends ANKR back into the child's bridge, which records (main
//!   recipient, amount); once a child block holding it is final on the main chain,
//!   [`finish_withdrawal`] proves the record there with `eth_getProof` against that block's
//!   header and the manager pays it, once.
//!
//! The manager's escrow always equals the ANKR outside the child's bridge, plus deposits not
//! credited yet, plus withdrawals started but not paid yet, plus base fees burnt on the child.

use alloy_primitives::{Address, B256, U256};
use alloy_rpc_types_eth::BlockId;
use ankr_chain::Chain;
use ankr_client::eth::{DebugApiClient, EthApiClient};
use ankr_client::{ClientError, MainChain, Sender};
use ankr_contracts::{ChildBridge, EvmChildChain};
use ankr_execution::CHILD_BRIDGE_ADDRESS;
use ankr_types::{ChainSpec, GenesisAccount};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// ChildBridge's `withdrawals` mapping slot (the manager's `WITHDRAWALS_SLOT`).
pub const WITHDRAWALS_SLOT: u64 = 4;
/// Main-chain blocks below the head at which the relay reads the deposit hash: a deposit the
/// main chain later reorganises away would make the blocks anchoring it wrong.
pub const ANCHOR_CONFIRMATIONS: u64 = 2;
/// How often the relay looks at the main chain and the child's bridge.
const RELAY_POLL: Duration = Duration::from_millis(500);
/// Deposits each anchor takes at most (the manager's `ANCHOR_STEP`): what one `credit`
/// transaction carries (about 40,000 gas each).
pub const ANCHOR_STEP: u64 = 64;

/// The ANKR a child chain's bridge holds at genesis: more than the main chain will ever
/// escrow, so that every deposit can be unlocked.
pub fn premint() -> U256 {
    U256::from(u128::MAX)
}

/// The bridge's genesis account: ChildBridge's runtime code and the pre-mint.
pub fn genesis_bridge() -> GenesisAccount {
    GenesisAccount {
        balance: premint(),
        code: ankr_contracts::artifact("ChildBridge")
            .expect("ChildBridge artifact is committed")
            .deployed_bytecode,
        ..Default::default()
    }
}

/// The ANKR a spec gives accounts other than the bridge at genesis: what the manager must
/// escrow from the start for every child ANKR to be backed.
pub fn genesis_supply(spec: &ChainSpec) -> U256 {
    spec.alloc
        .iter()
        .filter(|(address, _)| **address != CHILD_BRIDGE_ADDRESS)
        .map(|(_, account)| account.balance)
        .fold(U256::ZERO, |sum, balance| sum.saturating_add(balance))
}

/// One deposit as the manager took it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    /// From 1, in the order the manager took them.
    pub index: u64,
    pub to: Address,
    pub amount: U256,
    /// The rolling hash that covers it and every earlier one.
    pub hash: B256,
}

/// Escrows `amount` in `manager` for `to` on the child chain.
pub async fn deposit(
    sender: &Sender,
    manager: Address,
    to: Address,
    amount: U256,
) -> Result<Deposit, ClientError> {
    let receipt = sender
        .transact(manager, &EvmChildChain::depositCall { to }, amount, 150_000)
        .await?;
    let event = ankr_client::main_chain::receipt_events::<EvmChildChain::Deposited>(&receipt)
        .into_iter()
        .next()
        .ok_or_else(|| ClientError::Decode("a deposit's receipt without Deposited".into()))?;
    Ok(Deposit {
        index: event.index.saturating_to(),
        to: event.to,
        amount: event.amount,
        hash: event.depositHash,
    })
}

/// The manager's deposits numbered `first..=last`, from its logs.
pub async fn deposits(
    main: &MainChain,
    manager: Address,
    first: u64,
    last: u64,
) -> Result<Vec<Deposit>, ClientError> {
    if first > last {
        return Ok(Vec::new());
    }
    let head = main.head().await?;
    let mut found: Vec<Deposit> = main
        .events::<EvmChildChain::Deposited>(manager, 0, head)
        .await?
        .into_iter()
        .filter_map(|event| {
            let index: u64 = event.index.saturating_to();
            (first..=last).contains(&index).then_some(Deposit {
                index,
                to: event.to,
                amount: event.amount,
                hash: event.depositHash,
            })
        })
        .collect();
    found.sort_by_key(|d| d.index);
    if found.len() as u64 != last - first + 1 {
        return Err(ClientError::Decode(format!(
            "the manager's logs hold {} of deposits {first}..={last}",
            found.len()
        )));
    }
    Ok(found)
}

/// The operator's relay: keeps the anchor of the blocks it builds at the manager's deposit
/// hash `ANCHOR_CONFIRMATIONS` main blocks below the head, and credits on the child chain
/// (from the operator's child account, through its own JSON-RPC) every deposit the chain has
/// anchored but not credited yet. Runs until `stop` turns true.
pub async fn run_relay(
    chain: Arc<Chain>,
    main: MainChain,
    manager: Address,
    child: Sender,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(error) = relay_once(&chain, &main, manager, &child).await {
            tracing::warn!(%error, "bridge relay failed; retrying");
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(RELAY_POLL) => {}
        }
    }
}

/// One round of the relay: the anchor of the next blocks, then the credits.
pub async fn relay_once(
    chain: &Chain,
    main: &MainChain,
    manager: Address,
    child: &Sender,
) -> Result<(), ClientError> {
    // The anchor: up to ANCHOR_STEP deposits further towards those the main chain has
    // confirmed (the manager requires a step while deposits are due, and allows no more than
    // the bridge can credit at once).
    let confirmed_at = main.head().await?.saturating_sub(ANCHOR_CONFIRMATIONS);
    let confirmed: u64 = match main
        .read_at(manager, EvmChildChain::depositCountCall {}, confirmed_at)
        .await
    {
        Ok(count) => count.saturating_to(),
        // An empty answer: the manager was deployed after that block.
        Err(ClientError::Decode(_)) => 0,
        Err(error) => return Err(error),
    };
    let current = chain.anchor();
    let taken: u64 = main
        .read(manager, EvmChildChain::depositIndexCall(current))
        .await?
        .saturating_to();
    let target = confirmed.min(taken + ANCHOR_STEP);
    // An anchor the manager does not know (a deposit a main-chain reorganisation removed) is
    // replaced at once: every block carrying it would be wrong.
    let unknown = current != B256::ZERO && taken == 0;
    if target > taken || unknown {
        let next = if target == 0 {
            B256::ZERO
        } else {
            main.read(
                manager,
                EvmChildChain::depositHashAtCall(U256::from(target)),
            )
            .await?
        };
        tracing::info!(deposits = target, anchor = %next, "anchoring the main chain's deposits");
        chain.set_anchor(next);
    }

    // The credits: every deposit up to an anchored hash, in one transaction.
    let bridge = child.chain();
    let (latest, credited) = tokio::try_join!(
        bridge.read(CHILD_BRIDGE_ADDRESS, ChildBridge::latestAnchorCall {}),
        bridge.read(CHILD_BRIDGE_ADDRESS, ChildBridge::creditedCountCall {}),
    )?;
    let credited: u64 = credited.saturating_to();
    let covered: u64 = main
        .read(manager, EvmChildChain::depositIndexCall(latest))
        .await?
        .saturating_to();
    if latest == B256::ZERO || covered <= credited {
        return Ok(());
    }
    // A batch must end on an anchored hash; each block anchors one step, so one lies within
    // ANCHOR_STEP of the credited ones (the latest, unless the relay fell behind).
    let mut last = covered.min(credited + ANCHOR_STEP);
    while last > credited + 1 && last != covered {
        let hash = main
            .read(manager, EvmChildChain::depositHashAtCall(U256::from(last)))
            .await?;
        if bridge
            .read(CHILD_BRIDGE_ADDRESS, ChildBridge::anchoredCall(hash))
            .await?
        {
            break;
        }
        last -= 1;
    }
    let pending = deposits(main, manager, credited + 1, last).await?;
    let call = ChildBridge::creditCall {
        deposits: pending
            .iter()
            .map(|d| ChildBridge::Deposit {
                to: d.to,
                amount: d.amount,
            })
            .collect(),
    };
    let gas = 80_000 + 40_000 * call.deposits.len() as u64;
    child
        .transact(CHILD_BRIDGE_ADDRESS, &call, U256::ZERO, gas)
        .await?;
    tracing::info!(
        first = credited + 1,
        last,
        "credited deposits on the child chain"
    );
    Ok(())
}

/// A withdrawal started on the child chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub id: u64,
    pub to: Address,
    pub amount: U256,
    /// The child block that recorded it.
    pub block: u64,
}

/// Sends `amount` from `child`'s account into the child's bridge, for `to` on the main chain.
pub async fn start_withdrawal(
    child: &Sender,
    to: Address,
    amount: U256,
) -> Result<Withdrawal, ClientError> {
    let receipt = child
        .transact(
            CHILD_BRIDGE_ADDRESS,
            &ChildBridge::withdrawCall { to },
            amount,
            150_000,
        )
        .await?;
    let event = ankr_client::main_chain::receipt_events::<ChildBridge::WithdrawalStarted>(&receipt)
        .into_iter()
        .next()
        .ok_or_else(|| {
            ClientError::Decode("a withdrawal's receipt without WithdrawalStarted".into())
        })?;
    Ok(Withdrawal {
        id: event.id.saturating_to(),
        to: event.to,
        amount: event.amount,
        block: receipt.block_number.unwrap_or_default(),
    })
}

/// The storage slot of ChildBridge's `withdrawals[id]`.
pub fn withdrawal_slot(id: u64) -> B256 {
    alloy_primitives::keccak256(
        [
            U256::from(id).to_be_bytes::<32>(),
            U256::from(WITHDRAWALS_SLOT).to_be_bytes::<32>(),
        ]
        .concat(),
    )
}

/// The manager's `withdraw` call for `withdrawal`, proven against child block `number` (final
/// on the main chain and at or above the one that recorded it), read from `child`.
pub async fn withdrawal_proof(
    child: &MainChain,
    withdrawal: &Withdrawal,
    number: u64,
) -> Result<EvmChildChain::withdrawCall, ClientError> {
    let rpc = |method| move |source| ClientError::Rpc { method, source };
    let at = BlockId::number(number);
    let header = child
        .client()
        .raw_header(at)
        .await
        .map_err(rpc("debug_getRawHeader"))?;
    let proof = child
        .client()
        .proof(
            CHILD_BRIDGE_ADDRESS,
            vec![withdrawal_slot(withdrawal.id)],
            at,
        )
        .await
        .map_err(rpc("eth_getProof"))?;
    let storage_proof = proof
        .storage_proof
        .into_iter()
        .next()
        .map(|slot| slot.proof)
        .unwrap_or_default();
    Ok(EvmChildChain::withdrawCall {
        number: U256::from(number),
        header,
        id: U256::from(withdrawal.id),
        to: withdrawal.to,
        amount: withdrawal.amount,
        accountProof: proof.account_proof,
        storageProof: storage_proof,
    })
}

/// Waits until the manager holds a final child block at or above the withdrawal's, then
/// proves the withdrawal there and has the manager pay it (any main-chain account may send).
pub async fn finish_withdrawal(
    main: &Sender,
    manager: Address,
    child: &MainChain,
    withdrawal: &Withdrawal,
    timeout: Duration,
) -> Result<alloy_rpc_types_eth::TransactionReceipt, ClientError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let latest: u64 = main
            .chain()
            .read(manager, EvmChildChain::latestNumberCall {})
            .await?
            .saturating_to();
        if latest >= withdrawal.block {
            // The newest final block: later blocks hold the record too (it is never erased).
            let mut number = latest;
            while number >= withdrawal.block {
                let is_final = main
                    .chain()
                    .read(
                        manager,
                        EvmChildChain::isFinalCall {
                            number: U256::from(number),
                        },
                    )
                    .await?;
                if is_final {
                    let call = withdrawal_proof(child, withdrawal, number).await?;
                    return main.transact(manager, &call, U256::ZERO, 600_000).await;
                }
                number -= 1;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ClientError::Decode(format!(
                "no child block at or above {} became final on the main chain in time",
                withdrawal.block
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
