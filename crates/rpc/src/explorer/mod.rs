//! The explorer: one page, served by every node under `/explorer`, that reads the chain through
//! the node's own JSON-RPC (WebSocket for what is live) and shows what no Ethereum explorer
//! does: PoUW seals, the work market, oracle requests and the tree of child chains. Its files
//! are compiled into the binary, so it works offline (no CDN).

use alloy_primitives::keccak256;
use serde_json::{Map, Value, json};
use std::borrow::Cow;
use std::sync::LazyLock;

/// Where the explorer is served on the JSON-RPC port.
pub const PATH: &str = "/explorer";

/// The file at `rest` of the explorer's path (`""`, `/` or `/index.html` is the page itself):
/// its content type and bytes. The page routes by its URL's fragment, so these are all there is.
pub fn asset(rest: &str) -> Option<(&'static str, Cow<'static, str>)> {
    let (content_type, body) = match rest {
        "" | "/" | "/index.html" => ("text/html; charset=utf-8", include_str!("index.html")),
        "/explorer.js" => (
            "text/javascript; charset=utf-8",
            include_str!("explorer.js"),
        ),
        "/explorer.css" => ("text/css; charset=utf-8", include_str!("explorer.css")),
        "/abis.json" => ("application/json", KNOWN_ABIS.as_str()),
        _ => return None,
    };
    Some((content_type, Cow::Borrowed(body)))
}

/// Every event and function of ankr's own contracts, by topic and selector, so that the page
/// decodes their calls and logs without a keccak of its own.
static KNOWN_ABIS: LazyLock<String> = LazyLock::new(|| known_abis().to_string());

fn known_abis() -> Value {
    let mut events = Map::new();
    let mut functions = Map::new();
    for artifact in ankr_contracts::all() {
        for item in artifact.abi.as_array().into_iter().flatten() {
            let (Some(kind), Some(name)) = (item["type"].as_str(), item["name"].as_str()) else {
                continue;
            };
            let inputs = item["inputs"].as_array().cloned().unwrap_or_default();
            let types: Vec<String> = inputs.iter().map(canonical_type).collect();
            let signature = format!("{name}({})", types.join(","));
            let hash = keccak256(signature.as_bytes());
            let entry = json!({ "contract": artifact.name, "name": name, "signature": signature,
                "inputs": inputs.iter().zip(&types).map(|(input, ty)| json!({
                    "name": input["name"], "type": ty, "indexed": input["indexed"].as_bool().unwrap_or(false),
                })).collect::<Vec<_>>() });
            match kind {
                "event" => {
                    events.entry(hash.to_string()).or_insert(entry);
                }
                "function" => {
                    let selector = format!("0x{}", alloy_primitives::hex::encode(&hash[..4]));
                    functions.entry(selector).or_insert(entry);
                }
                _ => {}
            }
        }
    }
    json!({ "events": events, "functions": functions })
}

/// An ABI parameter's type as it enters a signature: tuples spelled out, `(a,b)[]`.
fn canonical_type(param: &Value) -> String {
    let ty = param["type"].as_str().unwrap_or_default();
    match ty.strip_prefix("tuple") {
        Some(suffix) => {
            let parts: Vec<String> = param["components"]
                .as_array()
                .into_iter()
                .flatten()
                .map(canonical_type)
                .collect();
            format!("({}){suffix}", parts.join(","))
        }
        None => ty.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_abis_hold_the_work_market_and_oracle_events_by_topic() {
        let abis = known_abis();
        let transfer = keccak256("Transfer(address,address,uint256)").to_string();
        assert_eq!(abis["events"][&transfer]["name"], "Transfer");
        let names: Vec<&str> = abis["events"]
            .as_object()
            .unwrap()
            .values()
            .map(|e| e["contract"].as_str().unwrap())
            .collect();
        for contract in [
            "WorkMarket",
            "NativeOracle",
            "RootChain",
            "EvmChildChain",
            "ChildChainRegistry",
        ] {
            assert!(
                names.contains(&contract),
                "{contract} has no events in the explorer's ABIs"
            );
        }
        // Multicall3's aggregate3 takes tuples: its selector is the well-known 0x82ad56cb.
        assert_eq!(abis["functions"]["0x82ad56cb"]["name"], "aggregate3");
    }
}
