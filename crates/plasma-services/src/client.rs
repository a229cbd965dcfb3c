//! What a child chain's user does (`ankr plasma deposit | send | balance | utxos | exit |
//! challenge | finalize | withdraw | move`): talks to the operator's `plasma_*` JSON-RPC and
//! to the RootChain on the main chain.

use crate::api::{InclusionProof, PlasmaApiClient, Utxo};
use alloy_primitives::{Address, Bytes, U256};
use alloy_rpc_types_eth::TransactionReceipt;
use ankr_client::{MainChain, Sender, receipt_events};
use ankr_contracts::RootChain;
use ankr_plasma::transaction::confirm;
use ankr_plasma::{Output, PlasmaTx, TxDomain, UtxoPos};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use std::time::Duration;

/// Why a child-chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    MainChain(#[from] ankr_client::ClientError),
    /// The operator refused (its words are in the error) or could not be reached.
    #[error("child-chain operator: {0}")]
    Operator(#[from] jsonrpsee::core::ClientError),
    #[error("{0}")]
    Refused(String),
}

/// A user's view of one child chain.
#[derive(Clone)]
pub struct PlasmaClient {
    pub main: MainChain,
    operator: HttpClient,
    pub root_chain: Address,
}

impl PlasmaClient {
    /// The domain this chain's transactions are signed in (`RootChain.txDomain()`).
    pub fn domain(&self) -> TxDomain {
        TxDomain::new(self.main.chain_id(), self.root_chain)
    }

    /// Connects to the main chain and to the operator, which names its RootChain.
    pub async fn connect(main_rpc: &str, operator_rpc: &str) -> Result<Self, ClientError> {
        let mut client = Self::for_root_chain(main_rpc, operator_rpc, Address::ZERO).await?;
        client.root_chain = client.operator.chain_info().await?.root_chain;
        Ok(client)
    }

    /// A client of a known RootChain that does not need the operator to answer now: a watcher
    /// restarting after its operator went away still exits and challenges.
    pub async fn for_root_chain(
        main_rpc: &str,
        operator_rpc: &str,
        root_chain: Address,
    ) -> Result<Self, ClientError> {
        let main = MainChain::connect(main_rpc).await?;
        let operator = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .max_response_size(crate::MAX_BLOCK_MESSAGE_BYTES)
            .build(operator_rpc)?;
        Ok(Self {
            main,
            operator,
            root_chain,
        })
    }

    /// The operator's `plasma_*` JSON-RPC ([`PlasmaApiClient`]'s methods).
    pub fn operator(&self) -> &HttpClient {
        &self.operator
    }

    /// Sends `call` to the RootChain from `key` (checked first; see [`Sender::transact`]).
    async fn call_root_chain<C: alloy_sol_types::SolCall>(
        &self,
        key: &secp256k1::SecretKey,
        call: &C,
        value: U256,
        gas_limit: u64,
    ) -> Result<TransactionReceipt, ankr_client::ClientError> {
        Sender::new(self.main.clone(), *key)
            .transact(self.root_chain, call, value, gas_limit)
            .await
    }

    /// Deposits `amount` wei from `key` on the RootChain; returns the deposit's output once the
    /// operator has credited it.
    pub async fn deposit(
        &self,
        key: &secp256k1::SecretKey,
        amount: U256,
        timeout: Duration,
    ) -> Result<UtxoPos, ClientError> {
        // Bound to the next child block, so that an operator cannot put blocks in front of it
        // (audit M-2); an honest block landing first only makes it try again.
        let mut attempts = 0;
        let receipt = loop {
            let next = self
                .main
                .read(self.root_chain, RootChain::currentChildBlockCall {})
                .await?;
            let call = RootChain::depositBeforeCall { childBlock: next };
            match self.call_root_chain(key, &call, amount, 300_000).await {
                // Refused by the check before sending, or reverted once mined (the receipt
                // carries no reason; after a passing check, the chain moving is the likely
                // cause): tried again, five times at most.
                Err(ankr_client::ClientError::WouldRevert(reason))
                    if attempts < 5 && reason.contains("moved past") =>
                {
                    attempts += 1;
                }
                Err(ankr_client::ClientError::Reverted { .. }) if attempts < 5 => attempts += 1,
                result => break result?,
            }
        };
        let deposit = receipt_events::<RootChain::Deposit>(&receipt)
            .pop()
            .ok_or_else(|| ClientError::Refused("no Deposit event".into()))?;
        let pos = UtxoPos {
            blknum: deposit.blknum.to(),
            txindex: 0,
            oindex: 0,
        };
        let owner = ankr_types::recovery::address_of(key);
        self.wait_for(timeout, || async {
            Ok(self.utxos(owner).await?.iter().any(|u| u.pos() == pos))
        })
        .await?;
        Ok(pos)
    }

    async fn wait_for<F, Fut>(&self, timeout: Duration, mut done: F) -> Result<(), ClientError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool, ClientError>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        while !done().await? {
            if tokio::time::Instant::now() > deadline {
                return Err(ClientError::Refused(format!("not done within {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    pub async fn utxos(&self, owner: Address) -> Result<Vec<Utxo>, ClientError> {
        Ok(self.operator.get_utxos(owner).await?)
    }

    pub async fn balance(&self, owner: Address) -> Result<U256, ClientError> {
        Ok(self.operator.get_balance(owner).await?)
    }

    /// Pays `amount` to `to` (plus `fee` to the operator) from `key`'s outputs (one or two,
    /// change back), waits until a block includes it, then posts the sender's confirm
    /// signatures. Returns where it was included.
    pub async fn send(
        &self,
        key: &secp256k1::SecretKey,
        to: Address,
        amount: U256,
        fee: U256,
        timeout: Duration,
    ) -> Result<(u64, u32), ClientError> {
        let owner = ankr_types::recovery::address_of(key);
        let mut utxos = self.utxos(owner).await?;
        utxos.sort_by_key(|u| std::cmp::Reverse(u.denom));
        let needed = amount + fee;
        let chosen: Vec<&Utxo> = match utxos.iter().find(|u| u.denom >= needed) {
            Some(one) => vec![one],
            None if utxos.len() >= 2 && utxos[0].denom + utxos[1].denom >= needed => {
                vec![&utxos[0], &utxos[1]]
            }
            None => {
                return Err(ClientError::Refused(format!(
                    "{owner} has no one or two outputs worth {needed} wei on this child chain"
                )));
            }
        };
        let total: U256 = chosen.iter().map(|u| u.denom).sum();
        let mut outputs = vec![Output {
            owner: to,
            denom: amount,
        }];
        if total > needed {
            outputs.push(Output {
                owner,
                denom: total - needed,
            });
        }
        let inputs: Vec<UtxoPos> = chosen.iter().map(|u| u.pos()).collect();
        let mut tx = PlasmaTx::spending(&inputs, &outputs, fee);
        for i in 0..chosen.len() {
            tx.sign_input(i, key, self.domain());
        }
        let hash = self
            .operator
            .send_raw_transaction(tx.encode().into())
            .await?;
        let deadline = tokio::time::Instant::now() + timeout;
        let (blknum, txindex) = loop {
            if let Some(position) = self.operator.get_transaction_position(hash).await? {
                break position;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ClientError::Refused(format!(
                    "transaction {hash} not in a block within {timeout:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        // Once the block's root is on the root chain, the sender confirms it (one signature
        // per input, all by this key).
        let proof = self.proof(blknum, txindex).await?;
        loop {
            let on_chain = self
                .main
                .read(self.root_chain, RootChain::blocksCall(U256::from(blknum)))
                .await?;
            if on_chain.root == proof.root {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ClientError::Refused(format!(
                    "block {blknum}'s root did not reach the root chain within {timeout:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let signature = confirm(key, tx.hash(), proof.root);
        let signatures: Vec<u8> = (0..chosen.len()).flat_map(|_| signature).collect();
        self.operator
            .confirm(blknum, txindex, signatures.into())
            .await?;
        Ok((blknum, txindex))
    }

    pub async fn proof(&self, blknum: u64, txindex: u32) -> Result<InclusionProof, ClientError> {
        Ok(self.operator.get_proof(blknum, txindex).await?)
    }

    pub async fn confirmations(
        &self,
        blknum: u64,
        txindex: u32,
    ) -> Result<Option<Bytes>, ClientError> {
        Ok(self.operator.get_confirmations(blknum, txindex).await?)
    }

    /// Starts the exit of `pos` (owned by `key`) with the operator's proof and the confirm
    /// signatures posted for it, posting the RootChain's bond.
    pub async fn exit(
        &self,
        key: &secp256k1::SecretKey,
        pos: UtxoPos,
    ) -> Result<TransactionReceipt, ClientError> {
        let proof = self.proof(pos.blknum, pos.txindex).await?;
        let tx = PlasmaTx::decode(&proof.transaction)
            .map_err(|e| ClientError::Refused(e.to_string()))?;
        let confirm_sig = if tx.is_deposit() {
            Bytes::new()
        } else {
            self.confirmations(pos.blknum, pos.txindex)
                .await?
                .ok_or_else(|| {
                    ClientError::Refused(format!(
                        "no confirm signatures posted for {pos}'s transaction"
                    ))
                })?
        };
        self.start_exit(key, pos, proof.transaction, proof.proof, confirm_sig)
            .await
    }

    /// `startExit` with everything given (a watcher that holds the block itself uses this).
    pub async fn start_exit(
        &self,
        key: &secp256k1::SecretKey,
        pos: UtxoPos,
        tx: Bytes,
        proof: Bytes,
        confirm_sig: Bytes,
    ) -> Result<TransactionReceipt, ClientError> {
        let bond = self
            .main
            .read(self.root_chain, RootChain::exitBondCall {})
            .await?;
        let call = RootChain::startExitCall {
            plasmaBlockNum: U256::from(pos.blknum),
            txindex: U256::from(pos.txindex),
            oindex: U256::from(pos.oindex),
            txBytes: tx,
            proof,
            confirmSig: confirm_sig,
        };
        Ok(self.call_root_chain(key, &call, bond, 1_000_000).await?)
    }

    /// Challenges the exit of `exit` with the transaction at (`blknum`, `txindex`) whose input
    /// `input` spends it, using the confirm signature posted for that transaction.
    pub async fn challenge(
        &self,
        key: &secp256k1::SecretKey,
        exit: UtxoPos,
        blknum: u64,
        txindex: u32,
        input: usize,
    ) -> Result<TransactionReceipt, ClientError> {
        let proof = self.proof(blknum, txindex).await?;
        let signatures = self.confirmations(blknum, txindex).await?.ok_or_else(|| {
            ClientError::Refused(
                "no confirm signature for the spend: the exit cannot be challenged".into(),
            )
        })?;
        let tx = PlasmaTx::decode(&proof.transaction)
            .map_err(|e| ClientError::Refused(e.to_string()))?;
        let slot = tx.inputs[..input].iter().filter(|i| !i.is_empty()).count();
        let confirm_sig = signatures
            .get(65 * slot..65 * (slot + 1))
            .ok_or_else(|| ClientError::Refused("confirm signature missing".into()))?;
        self.challenge_with(
            key,
            exit,
            blknum,
            txindex,
            input,
            proof.transaction,
            proof.proof,
            confirm_sig.to_vec().into(),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn challenge_with(
        &self,
        key: &secp256k1::SecretKey,
        exit: UtxoPos,
        blknum: u64,
        txindex: u32,
        input: usize,
        tx: Bytes,
        proof: Bytes,
        confirm_sig: Bytes,
    ) -> Result<TransactionReceipt, ClientError> {
        let call = RootChain::challengeExitCall {
            exitId: U256::from(exit.encoded()),
            plasmaBlockNum: U256::from(blknum),
            txindex: U256::from(txindex),
            oindex: U256::from(input),
            txBytes: tx,
            proof,
            confirmSig: confirm_sig,
        };
        Ok(self
            .call_root_chain(key, &call, U256::ZERO, 1_000_000)
            .await?)
    }

    /// Settles matured exits; returns how many were paid (anyone may call it).
    pub async fn finalize(&self, key: &secp256k1::SecretKey) -> Result<usize, ClientError> {
        let receipt = self
            .call_root_chain(key, &RootChain::finalizeExitCall {}, U256::ZERO, 3_000_000)
            .await?;
        Ok(receipt_events::<RootChain::ExitFinalized>(&receipt).len())
    }

    /// What the RootChain owes `who` (exits, bonds, rewards).
    pub async fn owed(&self, who: Address) -> Result<U256, ClientError> {
        Ok(self
            .main
            .read(self.root_chain, RootChain::withdrawalsCall(who))
            .await?)
    }

    /// Pulls everything owed to `key`; returns the amount.
    pub async fn withdraw(&self, key: &secp256k1::SecretKey) -> Result<U256, ClientError> {
        let receipt = self
            .call_root_chain(key, &RootChain::withdrawCall {}, U256::ZERO, 200_000)
            .await?;
        Ok(receipt_events::<RootChain::Withdrawal>(&receipt)
            .pop()
            .map(|w| w.amount)
            .unwrap_or_default())
    }

    /// When the exit of `pos` can be finalized (main-chain time), if it is exiting.
    pub async fn exitable_at(&self, pos: UtxoPos) -> Result<Option<u64>, ClientError> {
        let exit = self
            .main
            .read(
                self.root_chain,
                RootChain::exitsCall(U256::from(pos.encoded())),
            )
            .await?;
        Ok((exit.owner != Address::ZERO).then_some(exit.exitableAt))
    }
}

/// What [`move_between`] tells its caller as it goes.
#[derive(Clone, Copy, Debug)]
pub enum MoveProgress<'a> {
    /// A step done, in words.
    Step(&'a str),
    /// Waiting for the exit to mature: main-chain time now, when the wait began, when it
    /// matures (seconds): what a progress bar shows, about once a second.
    Maturing {
        now: u64,
        since: u64,
        matures_at: u64,
    },
}

/// Moves `amount` wei of `key`'s coins from child chain `from` to child chain `to` through the
/// main chain: a payment to itself on `from` makes an output of exactly `amount` (if needed),
/// which exits; once the exit matures it is finalized and withdrawn, and `amount` is deposited
/// on `to`. `progress` hears each step and, while the exit matures, the time left.
pub async fn move_between(
    from: &PlasmaClient,
    to: &PlasmaClient,
    key: &secp256k1::SecretKey,
    amount: U256,
    timeout: Duration,
    progress: impl Fn(MoveProgress<'_>),
) -> Result<UtxoPos, ClientError> {
    let owner = ankr_types::recovery::address_of(key);
    let exact = from
        .utxos(owner)
        .await?
        .into_iter()
        .find(|u| u.denom == amount);
    let pos = match exact {
        Some(u) => u.pos(),
        None => {
            let (blknum, txindex) = from.send(key, owner, amount, U256::ZERO, timeout).await?;
            progress(MoveProgress::Step(&format!(
                "made an output of exactly {amount} wei at {blknum}:{txindex}:0"
            )));
            UtxoPos {
                blknum,
                txindex,
                oindex: 0,
            }
        }
    };
    from.exit(key, pos).await?;
    let exitable = from.exitable_at(pos).await?.unwrap_or_default();
    progress(MoveProgress::Step(&format!(
        "exit of {pos} started on {}; it matures at main-chain time {exitable}",
        from.root_chain
    )));
    let deadline = tokio::time::Instant::now() + timeout;
    let since = from.main.latest_timestamp().await?;
    loop {
        if from.exitable_at(pos).await?.is_none() {
            break; // finalized (by us or anyone)
        }
        let now = from.main.latest_timestamp().await?;
        progress(MoveProgress::Maturing {
            now,
            since,
            matures_at: exitable,
        });
        if now >= exitable {
            from.finalize(key).await?;
            continue;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(ClientError::Refused(format!(
                "exit of {pos} did not mature within {timeout:?}"
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let withdrawn = from.withdraw(key).await?;
    progress(MoveProgress::Step(&format!(
        "exit finalized; withdrew {withdrawn} wei (amount + bond) on the main chain"
    )));
    let deposit = to.deposit(key, amount, timeout).await?;
    progress(MoveProgress::Step(&format!(
        "deposited {amount} wei on {}: output {deposit}",
        to.root_chain
    )));
    Ok(deposit)
}
