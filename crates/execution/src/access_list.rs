//! `eth_createAccessList`: which accounts and slots a message touches, found the way geth's
//! access-list tracer finds them (SLOAD/SSTORE slots of the running contract; accounts named by
//! BALANCE, EXTCODE*, SELFDESTRUCT and the CALL family), re-run with the list until it stops
//! changing (warming an account can change the path taken).

use crate::call::{message, not_run, simulation_db};
use crate::{BlockContext, CallError, CallRequest, ChainConfig, Overrides};
use alloy_eips::eip2930::{AccessList, AccessListItem};
use alloy_primitives::{Address, B256};
use ankr_storage::StateReader;
use revm::{
    Context, InspectEvm, Inspector, MainBuilder, MainContext,
    bytecode::opcode,
    context::result::ExecutionResult,
    interpreter::{
        Interpreter,
        interpreter::EthInterpreter,
        interpreter_types::{InputsTr, Jumps},
    },
};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What geth's tracer records, minus the accounts every access list leaves out.
#[derive(Default)]
struct AccessListInspector {
    excluded: HashSet<Address>,
    touched: BTreeMap<Address, BTreeSet<B256>>,
}

impl AccessListInspector {
    fn account(&mut self, address: Address) {
        if !self.excluded.contains(&address) {
            self.touched.entry(address).or_default();
        }
    }
}

impl<CTX> Inspector<CTX, EthInterpreter> for AccessListInspector {
    fn step(&mut self, interp: &mut Interpreter<EthInterpreter>, _context: &mut CTX) {
        let stack = interp.stack.data();
        let word = |depth: usize| stack.len().checked_sub(depth + 1).map(|i| stack[i]);
        match interp.bytecode.opcode() {
            opcode::SLOAD | opcode::SSTORE => {
                if let Some(slot) = word(0) {
                    let contract = interp.input.target_address();
                    self.touched
                        .entry(contract)
                        .or_default()
                        .insert(B256::from(slot.to_be_bytes::<32>()));
                }
            }
            opcode::EXTCODECOPY
            | opcode::EXTCODEHASH
            | opcode::EXTCODESIZE
            | opcode::BALANCE
            | opcode::SELFDESTRUCT => {
                if let Some(address) = word(0) {
                    self.account(Address::from_word(address.into()));
                }
            }
            opcode::DELEGATECALL | opcode::CALL | opcode::STATICCALL | opcode::CALLCODE => {
                if let Some(address) = word(1) {
                    self.account(Address::from_word(address.into()));
                }
            }
            _ => {}
        }
    }
}

/// The access list `request` would use and the gas it then spends, as `eth_createAccessList`
/// answers; with the outcome, so that a revert is reported beside the list (as geth does).
pub fn create_access_list(
    state: &StateReader,
    overrides: &Overrides,
    chain: &ChainConfig,
    block: &BlockContext,
    request: &CallRequest,
) -> Result<(AccessList, u64, ExecutionResult), CallError> {
    let from = request.from.unwrap_or_default();
    let to = request.to.unwrap_or_else(|| {
        from.create(
            request
                .nonce
                .unwrap_or_else(|| state.account(from).ok().flatten().map_or(0, |a| a.nonce)),
        )
    });
    // The sender, the recipient and the precompiles are warm anyway (EIP-2929).
    let mut excluded: HashSet<Address> = [from, to].into();
    excluded.extend(
        crate::stateless::precompile::precompiles()
            .addresses()
            .copied(),
    );
    let gas = request.gas_within(chain);
    let mut list = request.access_list.clone().unwrap_or_default();
    for _ in 0..8 {
        let mut request = request.clone();
        request.access_list = Some(list.clone());
        let inspector = AccessListInspector {
            excluded: excluded.clone(),
            touched: BTreeMap::new(),
        };
        let (cfg, tx) = message(chain, &request, gas);
        let mut evm = Context::mainnet()
            .with_db(simulation_db(state, overrides))
            .with_cfg(cfg)
            .with_block(block.block_env())
            .build_mainnet_with_inspector(inspector);
        evm.precompiles = crate::config::ankr_precompiles();
        let result = evm.inspect_one_tx(tx).map_err(not_run)?;
        let found = AccessList(
            evm.inspector
                .touched
                .iter()
                .map(|(address, slots)| AccessListItem {
                    address: *address,
                    storage_keys: slots.iter().copied().collect(),
                })
                .collect(),
        );
        if found == list {
            // As a receipt counts it (after the refund), which is what geth reports.
            let gas_used = result.tx_gas_used();
            return Ok((list, gas_used, result));
        }
        list = found;
    }
    Err(CallError::Invalid(
        "the access list did not settle after 8 runs".into(),
    ))
}
