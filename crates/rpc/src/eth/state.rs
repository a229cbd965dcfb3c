//! Account state at a block, and simulations on it (`eth_call`, `eth_estimateGas`, `eth_createAccessList`).

use super::*;

#[rpc(server, namespace = "eth")]
pub trait EthStateApi {
    #[method(name = "getBalance")]
    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    #[method(name = "getTransactionCount")]
    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64>;
    #[method(name = "getCode")]
    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;
    #[method(name = "getProof", blocking)]
    fn proof(
        &self,
        address: Address,
        keys: Vec<alloy_serde::storage::JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<alloy_rpc_types_eth::EIP1186AccountProofResponse>;
    #[method(name = "getStorageAt")]
    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256>;
    #[method(name = "call", blocking)]
    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
        block_overrides: Option<serde_json::Value>,
    ) -> RpcResult<Bytes>;
    #[method(name = "estimateGas", blocking)]
    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
        block_overrides: Option<serde_json::Value>,
    ) -> RpcResult<U64>;
    #[method(name = "createAccessList", blocking)]
    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
    ) -> RpcResult<alloy_rpc_types_eth::AccessListResult>;
}

impl EthStateApiServer for EthRpc {
    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        let reader = self.reader()?;
        let (_, state) = state_at(&reader, block)?;
        let account = state.account(address).map_err(internal)?;
        Ok(account.map(|a| a.balance).unwrap_or_default())
    }

    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64> {
        if block == Some(BlockId::Number(BlockNumberOrTag::Pending)) {
            return Ok(U64::from(
                self.chain.pending_nonce(address).map_err(internal)?,
            ));
        }
        let reader = self.reader()?;
        let (_, state) = state_at(&reader, block)?;
        let account = state.account(address).map_err(internal)?;
        Ok(U64::from(account.map(|a| a.nonce).unwrap_or_default()))
    }

    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        let reader = self.reader()?;
        let (_, state) = state_at(&reader, block)?;
        let Some(account) = state.account(address).map_err(internal)? else {
            return Ok(Bytes::new());
        };
        Ok(state
            .code(account.code_hash)
            .map_err(internal)?
            .unwrap_or_default())
    }

    fn proof(
        &self,
        address: Address,
        keys: Vec<alloy_serde::storage::JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<alloy_rpc_types_eth::EIP1186AccountProofResponse> {
        let reader = self.reader()?;
        let (_, state) = state_at(&reader, block)?;
        let slots: Vec<U256> = keys.iter().map(|k| k.as_b256().into()).collect();
        let proof = state.proof(address, &slots).map_err(internal)?;
        let account = proof.account.unwrap_or_default();
        let (code_hash, storage_hash) = match proof.account {
            Some(account) => (account.code_hash, account.storage_root),
            None => (
                alloy_primitives::KECCAK256_EMPTY,
                alloy_consensus::EMPTY_ROOT_HASH,
            ),
        };
        Ok(alloy_rpc_types_eth::EIP1186AccountProofResponse {
            address,
            balance: account.balance,
            code_hash,
            nonce: account.nonce,
            storage_hash,
            account_proof: proof.account_proof,
            storage_proof: keys
                .into_iter()
                .zip(proof.storage)
                .map(
                    |(key, (_, value, proof))| alloy_rpc_types_eth::EIP1186StorageProof {
                        key,
                        value,
                        proof,
                    },
                )
                .collect(),
        })
    }

    fn storage_at(&self, address: Address, slot: U256, block: Option<BlockId>) -> RpcResult<B256> {
        let reader = self.reader()?;
        let (_, state) = state_at(&reader, block)?;
        let value = state.storage(address, slot).map_err(internal)?;
        Ok(B256::from(value))
    }

    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
        block_overrides: Option<serde_json::Value>,
    ) -> RpcResult<Bytes> {
        let outcome = Simulation::at(&self.reader()?, block, state_overrides, block_overrides)?
            .run(&self.chain, request, ankr_execution::call_with)?;
        match outcome {
            CallOutcome::Success { output, .. } => Ok(output),
            CallOutcome::Revert { output, .. } => Err(errors::reverted(output)),
            CallOutcome::Halt { reason, .. } => Err(rpc_error(
                codes::SERVER,
                format!("execution halted: {reason}"),
            )),
        }
    }

    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
        block_overrides: Option<serde_json::Value>,
    ) -> RpcResult<U64> {
        let gas = Simulation::at(&self.reader()?, block, state_overrides, block_overrides)?.run(
            &self.chain,
            request,
            ankr_execution::estimate_gas_with,
        )?;
        Ok(U64::from(gas))
    }

    /// geth's answer: the list, the gas used with it, and `error` if the message failed.
    fn create_access_list(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
    ) -> RpcResult<alloy_rpc_types_eth::AccessListResult> {
        let (access_list, gas_used, result) =
            Simulation::at(&self.reader()?, block, state_overrides, None)?.run(
                &self.chain,
                request,
                ankr_execution::create_access_list,
            )?;
        let error = match result {
            ankr_execution::revm::context::result::ExecutionResult::Success { .. } => None,
            ankr_execution::revm::context::result::ExecutionResult::Revert { .. } => {
                Some("execution reverted".to_string())
            }
            ankr_execution::revm::context::result::ExecutionResult::Halt { reason, .. } => {
                Some(format!("execution halted: {reason:?}"))
            }
        };
        Ok(alloy_rpc_types_eth::AccessListResult {
            access_list,
            gas_used: U256::from(gas_used),
            error,
        })
    }
}

/// How many blocks behind the head traces and Otterscan's searches may look (state queries
/// look as far as the store keeps: [`ankr_storage::DEFAULT_STATE_HISTORY`] unless configured).
pub(crate) const STATE_HISTORY: u64 = ankr_storage::DEFAULT_STATE_HISTORY;

/// Where a simulation (`eth_call`, `eth_estimateGas`, `eth_createAccessList`) runs: the state
/// of `block` (default latest) under the state overrides, and its context under the block
/// overrides.
pub(crate) struct Simulation {
    state: StateReader,
    overrides: ankr_execution::Overrides,
    context: BlockContext,
}

/// One of ankr-execution's simulations: `call_with`, `estimate_gas_with`, `create_access_list`.
type Simulate<T> = fn(
    &StateReader,
    &ankr_execution::Overrides,
    &ankr_execution::ChainConfig,
    &BlockContext,
    &CallRequest,
) -> Result<T, ankr_execution::CallError>;

impl Simulation {
    pub(crate) fn at(
        reader: &StoreReader,
        block: Option<BlockId>,
        state_overrides: Option<serde_json::Value>,
        block_overrides: Option<serde_json::Value>,
    ) -> RpcResult<Self> {
        let (header, state) = state_at(reader, block)?;
        let mut overrides = crate::overrides::state(state_overrides)?;
        let mut context = BlockContext::of(&header);
        crate::overrides::block(block_overrides, &mut context, &mut overrides)?;
        Ok(Self {
            state,
            overrides,
            context,
        })
    }

    /// The state, overrides and block context the simulation runs on.
    pub(crate) fn parts(&self) -> (&StateReader, &ankr_execution::Overrides, &BlockContext) {
        (&self.state, &self.overrides, &self.context)
    }

    /// Runs `simulate` on `request` here, its errors in geth's words.
    pub(super) fn run<T>(
        &self,
        chain: &Chain,
        request: TransactionRequest,
        simulate: Simulate<T>,
    ) -> RpcResult<T> {
        simulate(
            &self.state,
            &self.overrides,
            chain.execution_config(),
            &self.context,
            &call_request(request),
        )
        .map_err(errors::from_call)
    }
}

/// The state as of `block` (default latest) and that block's header. Blocks within the store's
/// kept history are served by undoing later changesets; older state is not.
pub(crate) fn state_at(
    reader: &StoreReader,
    block: Option<BlockId>,
) -> RpcResult<(Header, StateReader)> {
    let head = head_of(reader)?;
    let block = block.unwrap_or_default();
    if matches!(
        block,
        BlockId::Number(BlockNumberOrTag::Latest | BlockNumberOrTag::Pending)
    ) {
        // What nearly every call asks for: the head, canonical and within any window.
        return Ok((head, reader.state().map_err(internal)?));
    }
    let header = header_of(reader, block)?.ok_or_else(header_not_found)?;
    if reader.canonical_hash(header.number).map_err(internal)? != Some(header.hash()) {
        return Err(rpc_error(
            codes::SERVER,
            "state of a non-canonical block is not available",
        ));
    }
    // The window is what the store keeps (`ankr node --state-history N`; all with `--archive`).
    let window = reader.state_history().map_err(internal)?;
    let oldest = reader.oldest_state().map_err(internal)?;
    let beyond_window = window.is_some_and(|blocks| head.number - header.number > blocks);
    if header.number < oldest || beyond_window {
        return Err(rpc_error(
            codes::SERVER,
            format!(
                "historical state is not available: this node serves the state of the last \
                 {} blocks (head {}; an archive node serves all), block {} was asked for",
                window.unwrap_or(head.number),
                head.number,
                header.number
            ),
        ));
    }
    let state = if header.number == head.number {
        reader.state()
    } else {
        reader.state_at(header.number)
    };
    Ok((header, state.map_err(internal)?))
}

pub(crate) fn call_request(request: TransactionRequest) -> CallRequest {
    CallRequest {
        from: request.from,
        to: match request.to {
            Some(TxKind::Call(to)) => Some(to),
            _ => None,
        },
        gas: request.gas,
        gas_price: request.gas_price,
        max_fee_per_gas: request.max_fee_per_gas,
        max_priority_fee_per_gas: request.max_priority_fee_per_gas,
        value: request.value,
        input: request.input.into_input().unwrap_or_default(),
        nonce: request.nonce,
        access_list: request.access_list,
        authorization_list: request.authorization_list,
    }
}
