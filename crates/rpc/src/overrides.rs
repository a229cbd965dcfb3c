//! geth's `eth_call` / `eth_estimateGas` overrides, read strictly: every field is either
//! applied or refused with a reason, never silently ignored (a tool that sends an override
//! and gets an answer must be able to trust it was applied).

use crate::errors::invalid_params;
use alloy_primitives::{Address, B256, Bytes, U256, map::HashMap};
use ankr_execution::{AccountOverride, BlockContext, Overrides, StorageOverride};
use jsonrpsee::core::RpcResult;
use serde::Deserialize;
use serde_json::Value;

/// One account's override as geth takes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AccountFields {
    balance: Option<U256>,
    nonce: Option<alloy_primitives::U64>,
    code: Option<Bytes>,
    state: Option<HashMap<B256, B256>>,
    state_diff: Option<HashMap<B256, B256>>,
    #[serde(rename = "movePrecompileToAddress")]
    move_precompile_to: Option<Address>,
}

/// The state overrides parameter (null or absent: none).
pub fn state(value: Option<Value>) -> RpcResult<Overrides> {
    let mut overrides = Overrides::default();
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(overrides);
    };
    let accounts: HashMap<Address, AccountFields> = serde_json::from_value(value)
        .map_err(|e| invalid_params(format!("bad state overrides: {e}")))?;
    for (address, fields) in accounts {
        if fields.move_precompile_to.is_some() {
            return Err(invalid_params(
                "movePrecompileToAddress is not supported: ankr's precompiles stay where they are",
            ));
        }
        let storage = match (fields.state, fields.state_diff) {
            (Some(_), Some(_)) => {
                return Err(invalid_params(format!(
                    "account {address} has both 'state' and 'stateDiff'"
                )));
            }
            (Some(slots), None) => Some(StorageOverride::Replace(slots)),
            (None, Some(slots)) => Some(StorageOverride::Patch(slots)),
            (None, None) => None,
        };
        overrides.accounts.insert(
            address,
            AccountOverride {
                balance: fields.balance,
                nonce: fields.nonce.map(|n| n.to()),
                code: fields.code,
                storage,
            },
        );
    }
    Ok(overrides)
}

/// The block overrides parameter as geth takes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct BlockFields {
    #[serde(alias = "blockNumber")]
    number: Option<alloy_primitives::U64>,
    difficulty: Option<U256>,
    #[serde(alias = "timestamp")]
    time: Option<alloy_primitives::U64>,
    gas_limit: Option<alloy_primitives::U64>,
    #[serde(alias = "feeRecipient")]
    coinbase: Option<Address>,
    #[serde(alias = "prevRandao")]
    random: Option<B256>,
    #[serde(alias = "baseFeePerGas")]
    base_fee: Option<alloy_primitives::U64>,
    blob_base_fee: Option<U256>,
    #[serde(alias = "parentBeaconBlockRoot")]
    beacon_root: Option<B256>,
    block_hash: Option<HashMap<alloy_primitives::U64, B256>>,
}

/// Applies the block overrides parameter to `context` (and `BLOCKHASH` answers to
/// `overrides`).
pub fn block(
    value: Option<Value>,
    context: &mut BlockContext,
    overrides: &mut Overrides,
) -> RpcResult<()> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let fields: BlockFields = serde_json::from_value(value)
        .map_err(|e| invalid_params(format!("bad block overrides: {e}")))?;
    if fields.blob_base_fee.is_some() {
        return Err(invalid_params(
            "blobBaseFee cannot be overridden: ankr has no blob transactions",
        ));
    }
    if fields.beacon_root.is_some() {
        return Err(invalid_params(
            "beaconRoot cannot be overridden: ankr has no beacon chain",
        ));
    }
    if let Some(number) = fields.number {
        context.number = number.to();
    }
    if let Some(difficulty) = fields.difficulty {
        context.difficulty = difficulty;
    }
    if let Some(time) = fields.time {
        context.timestamp = time.to();
    }
    if let Some(gas_limit) = fields.gas_limit {
        context.gas_limit = gas_limit.to();
    }
    if let Some(coinbase) = fields.coinbase {
        context.beneficiary = coinbase;
    }
    if let Some(random) = fields.random {
        context.prevrandao = random;
    }
    if let Some(base_fee) = fields.base_fee {
        context.base_fee = base_fee.to();
    }
    for (number, hash) in fields.block_hash.unwrap_or_default() {
        overrides.block_hashes.insert(number.to(), hash);
    }
    Ok(())
}

/// Typed overrides (tracing and simulation options carry them typed) as the JSON the parsers
/// above take, so that every method applies them by the same rules.
pub fn to_json(value: Option<impl serde::Serialize>) -> RpcResult<Option<Value>> {
    value
        .map(|v| serde_json::to_value(v).map_err(crate::errors::internal))
        .transpose()
}
