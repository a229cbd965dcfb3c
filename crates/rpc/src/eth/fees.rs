//! What a transaction should pay: gas price, tip, fee history (as geth computes them).

use super::*;

#[rpc(server, namespace = "eth")]
pub trait EthFeesApi {
    #[method(name = "gasPrice")]
    fn gas_price(&self) -> RpcResult<U256>;
    #[method(name = "maxPriorityFeePerGas")]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    #[method(name = "feeHistory")]
    fn fee_history(
        &self,
        block_count: serde_json::Value,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;
    #[method(name = "blobBaseFee")]
    fn blob_base_fee(&self) -> RpcResult<Option<U256>>;
}

impl EthFeesApiServer for EthRpc {
    fn gas_price(&self) -> RpcResult<U256> {
        Ok(U256::from(
            next_base_fee(&self.chain.head()) as u128 + self.suggested_tip(),
        ))
    }

    fn max_priority_fee_per_gas(&self) -> RpcResult<U256> {
        Ok(U256::from(self.suggested_tip()))
    }

    fn fee_history(
        &self,
        block_count: serde_json::Value,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        let count = match &block_count {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s
                .strip_prefix("0x")
                .map_or_else(|| s.parse().ok(), |hex| u64::from_str_radix(hex, 16).ok()),
            _ => None,
        }
        .ok_or_else(|| invalid_params("blockCount must be a number or hex quantity"))?;
        let count = count.min(MAX_FEE_HISTORY);
        if let Some(p) = &percentiles
            && (p.iter().any(|x| !(0.0..=100.0).contains(x)) || p.windows(2).any(|w| w[0] > w[1]))
        {
            return Err(invalid_params(
                "reward percentiles must be ascending within [0, 100]",
            ));
        }
        let reader = self.reader()?;
        let newest = number_of(&reader, newest)?.ok_or_else(header_not_found)?;
        let oldest = (newest + 1).saturating_sub(count);
        let mut history = FeeHistory {
            oldest_block: oldest,
            ..Default::default()
        };
        let mut last = None;
        for number in oldest..=newest {
            if count == 0 {
                break;
            }
            let header = reader
                .header_by_number(number)
                .map_err(internal)?
                .ok_or_else(header_not_found)?;
            history
                .base_fee_per_gas
                .push(header.base_fee_per_gas as u128);
            history
                .gas_used_ratio
                .push(header.gas_used as f64 / header.gas_limit as f64);
            history.base_fee_per_blob_gas.push(0);
            history.blob_gas_used_ratio.push(0.0);
            if let Some(p) = &percentiles {
                let rewards = block_rewards(&reader, &header, p)?;
                history.reward.get_or_insert_with(Vec::new).push(rewards);
            }
            last = Some(header);
        }
        if let Some(last) = last {
            history.base_fee_per_gas.push(next_base_fee(&last) as u128);
            history.base_fee_per_blob_gas.push(0);
        }
        Ok(history)
    }

    /// What geth answers on a chain without blobs (no `excessBlobGas` in its headers): null.
    fn blob_base_fee(&self) -> RpcResult<Option<U256>> {
        Ok(None)
    }
}

/// Most blocks one `eth_feeHistory` may cover.
const MAX_FEE_HISTORY: u64 = 1024;

impl EthRpc {
    pub(super) fn suggested_tip(&self) -> u128 {
        ankr_types::fees::DEFAULT_TIP
    }
}

/// Effective tips at the given gas-weighted percentiles of one block (as geth computes them).
fn block_rewards(
    reader: &StoreReader,
    header: &Header,
    percentiles: &[f64],
) -> RpcResult<Vec<u128>> {
    let hash = header.hash();
    let body = reader.body(hash).map_err(internal)?.unwrap_or_default();
    let receipts = reader.receipts(hash).map_err(internal)?.unwrap_or_default();
    if body.transactions.is_empty() {
        return Ok(vec![0; percentiles.len()]);
    }
    let mut tips: Vec<(u128, u64)> = Vec::with_capacity(body.transactions.len());
    let mut previous = 0;
    for (tx, receipt) in body.transactions.iter().zip(&receipts) {
        let gas = receipt.cumulative_gas_used() - previous;
        previous = receipt.cumulative_gas_used();
        tips.push((
            tx.effective_tip_per_gas(header.base_fee_per_gas)
                .unwrap_or(0),
            gas,
        ));
    }
    tips.sort_unstable();
    let total: u64 = tips.iter().map(|(_, g)| g).sum();
    Ok(percentiles
        .iter()
        .map(|p| {
            let threshold = (total as f64 * p / 100.0) as u64;
            let mut sum = 0;
            for (tip, gas) in &tips {
                sum += gas;
                if sum >= threshold {
                    return *tip;
                }
            }
            tips.last().map_or(0, |(tip, _)| *tip)
        })
        .collect())
}
