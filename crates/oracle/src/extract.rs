//! From a fetched document to the ABI value a callback receives: the request's parameters,
//! a path into JSON (a JSONPath subset) or XML (an XPath subset), and the value typed and
//! scaled as the request asks.
//!
//! JSONPath: `$`, then `.name`, `['name']` or `[index]` steps (`$.data[0]['price usd']`).
//! XML path: `/root/child[2]/leaf` (1-based positions among same-named children) with an
//! optional last `@attribute`; the value is the element's trimmed text.

use crate::datagram::code;
use alloy_primitives::{I256, U256, hex};
use alloy_sol_types::{SolType, SolValue, sol_data};

/// `(string url, string path, string resultType, uint8 decimals)`.
type ValueQueryAbi = (
    sol_data::String,
    sol_data::String,
    sol_data::String,
    sol_data::Uint<8>,
);

/// Why a request gets an error code instead of data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not found: {0}")]
    NotFound(String),
}

impl ExtractError {
    /// The response code the contract is told.
    pub fn code(&self) -> u16 {
        match self {
            ExtractError::BadRequest(_) => code::BAD_REQUEST,
            ExtractError::NotFound(_) => code::NOT_FOUND,
        }
    }
}

fn bad(reason: impl Into<String>) -> ExtractError {
    ExtractError::BadRequest(reason.into())
}

/// Parameters of kinds 0 and 1: `abi.encode(string url, string path, string resultType,
/// uint8 decimals)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueQuery {
    pub url: String,
    pub path: String,
    pub result_type: String,
    pub decimals: u8,
}

impl ValueQuery {
    pub fn decode(params: &[u8]) -> Result<Self, ExtractError> {
        let (url, path, result_type, decimals) =
            ValueQueryAbi::abi_decode_params(params).map_err(|e| {
                bad(format!(
                    "params are not abi.encode(string,string,string,uint8): {e}"
                ))
            })?;
        Ok(Self {
            url,
            path,
            result_type,
            decimals,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        ValueQueryAbi::abi_encode_params(&(
            self.url.clone(),
            self.path.clone(),
            self.result_type.clone(),
            self.decimals,
        ))
    }
}

/// Parameters of kind 2: `abi.encode(string url)`.
pub fn decode_document_url(params: &[u8]) -> Result<String, ExtractError> {
    String::abi_decode(params).map_err(|e| bad(format!("params are not abi.encode(string): {e}")))
}

/// The text a path selects in a JSON document (strings unquoted, numbers as written).
pub fn select_json(document: &[u8], path: &str) -> Result<String, ExtractError> {
    let value: serde_json::Value =
        serde_json::from_slice(document).map_err(|e| bad(format!("source is not JSON: {e}")))?;
    let mut current = &value;
    for step in json_steps(path)? {
        current = match step {
            JsonStep::Name(name) => current.get(&name),
            JsonStep::Index(i) => current.get(i),
        }
        .ok_or_else(|| ExtractError::NotFound(format!("{path} selects nothing")))?;
    }
    Ok(match current {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => return Err(ExtractError::NotFound(format!("{path} is null"))),
        other => other.to_string(),
    })
}

enum JsonStep {
    Name(String),
    Index(usize),
}

fn json_steps(path: &str) -> Result<Vec<JsonStep>, ExtractError> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| bad("a JSONPath starts with $"))?;
    let mut steps = Vec::new();
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '.' => {
                let start = i + 1;
                let mut end = rest.len();
                while let Some(&(j, c)) = chars.peek() {
                    if c == '.' || c == '[' {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                let name = &rest[start..end];
                if name.is_empty() {
                    return Err(bad(format!("empty name in {path}")));
                }
                steps.push(JsonStep::Name(name.to_string()));
            }
            '[' => {
                let close = rest[i..]
                    .find(']')
                    .ok_or_else(|| bad(format!("unclosed [ in {path}")))?
                    + i;
                let inner = &rest[i + 1..close];
                let step = if let Some(quoted) =
                    inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
                {
                    JsonStep::Name(quoted.to_string())
                } else {
                    JsonStep::Index(
                        inner
                            .parse()
                            .map_err(|_| bad(format!("bad index [{inner}] in {path}")))?,
                    )
                };
                steps.push(step);
                while chars.peek().is_some_and(|&(j, _)| j <= close) {
                    chars.next();
                }
            }
            _ => return Err(bad(format!("unexpected {c:?} in {path}"))),
        }
    }
    Ok(steps)
}

/// The text a path selects in an XML document.
pub fn select_xml(document: &[u8], path: &str) -> Result<String, ExtractError> {
    let text = std::str::from_utf8(document).map_err(|_| bad("source is not UTF-8 XML"))?;
    let xml =
        roxmltree::Document::parse(text).map_err(|e| bad(format!("source is not XML: {e}")))?;
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| bad("an XML path starts with /"))?;
    let not_found = || ExtractError::NotFound(format!("{path} selects nothing"));
    let mut steps: Vec<&str> = rest.split('/').collect();
    let attribute = match steps.last() {
        Some(last) if last.starts_with('@') => {
            let name = &last[1..];
            steps.pop();
            Some(name)
        }
        _ => None,
    };
    let mut node = xml.root();
    for step in steps {
        let (name, position) = match step.split_once('[') {
            Some((name, index)) => {
                let index = index
                    .strip_suffix(']')
                    .and_then(|i| i.parse::<usize>().ok())
                    .filter(|&i| i >= 1)
                    .ok_or_else(|| bad(format!("bad position in {step}")))?;
                (name, index)
            }
            None => (step, 1),
        };
        node = node
            .children()
            .filter(|n| n.is_element() && n.tag_name().name() == name)
            .nth(position - 1)
            .ok_or_else(not_found)?;
    }
    match attribute {
        Some(name) => node
            .attribute(name)
            .map(str::to_string)
            .ok_or_else(not_found),
        None => Ok(node
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect::<String>()
            .trim()
            .to_string()),
    }
}

/// `text` as the ABI value of `result_type`, numbers scaled by 10^decimals (extra fraction
/// digits are cut, as integer division would).
pub fn encode_value(text: &str, result_type: &str, decimals: u8) -> Result<Vec<u8>, ExtractError> {
    Ok(match result_type {
        "uint256" => {
            let (negative, magnitude) = scaled(text, decimals)?;
            if negative && !magnitude.is_zero() {
                return Err(bad(format!(
                    "{text} is negative, the request asked for uint256"
                )));
            }
            magnitude.abi_encode()
        }
        "int256" => {
            let (negative, magnitude) = scaled(text, decimals)?;
            let value =
                I256::try_from(magnitude).map_err(|_| bad(format!("{text} overflows int256")))?;
            (if negative { -value } else { value }).abi_encode()
        }
        "bool" => match text.trim() {
            "true" => true.abi_encode(),
            "false" => false.abi_encode(),
            other => return Err(bad(format!("{other} is not a bool"))),
        },
        "string" => text.to_string().abi_encode(),
        "bytes32" => {
            let bytes = hex::decode(text.trim()).map_err(|_| bad(format!("{text} is not hex")))?;
            if bytes.len() > 32 {
                return Err(bad(format!("{text} is longer than 32 bytes")));
            }
            let mut word = [0u8; 32];
            word[..bytes.len()].copy_from_slice(&bytes);
            alloy_primitives::B256::from(word).abi_encode()
        }
        "bytes" => {
            let bytes = hex::decode(text.trim()).unwrap_or_else(|_| text.as_bytes().to_vec());
            alloy_primitives::Bytes::from(bytes).abi_encode()
        }
        other => return Err(bad(format!("unknown result type {other}"))),
    })
}

/// A decimal number (`-12.5`, `3e2`) times 10^decimals, as (negative, |value|), truncated.
fn scaled(text: &str, decimals: u8) -> Result<(bool, U256), ExtractError> {
    let text = text.trim();
    let not_number = || bad(format!("{text} is not a number"));
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().map_err(|_| not_number())?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_digit())
    {
        return Err(not_number());
    }
    let digits = format!("{whole}{fraction}");
    // value = digits × 10^(exponent − len(fraction) + decimals)
    let shift = exponent - fraction.len() as i64 + i64::from(decimals);
    let overflow = || bad(format!("{text} scaled by 10^{decimals} overflows 256 bits"));
    let kept = if shift >= 0 {
        digits.as_str()
    } else {
        let cut = (-shift) as usize;
        if cut >= digits.len() {
            "0"
        } else {
            &digits[..digits.len() - cut]
        }
    };
    let mut value = U256::from_str_radix(if kept.is_empty() { "0" } else { kept }, 10)
        .map_err(|_| overflow())?;
    if shift > 0 {
        let factor = U256::from(10u64)
            .checked_pow(U256::from(shift as u64))
            .ok_or_else(overflow)?;
        value = value.checked_mul(factor).ok_or_else(overflow)?;
    }
    Ok((negative, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_select_values() {
        let doc = br#"{"data":[{"price usd":"101.25","n":7}],"ok":true,"none":null}"#;
        assert_eq!(
            select_json(doc, "$.data[0]['price usd']").unwrap(),
            "101.25"
        );
        assert_eq!(select_json(doc, "$.data[0].n").unwrap(), "7");
        assert_eq!(select_json(doc, "$.ok").unwrap(), "true");
        assert_eq!(
            select_json(doc, "$.data[1]").unwrap_err().code(),
            code::NOT_FOUND
        );
        assert_eq!(
            select_json(doc, "$.none").unwrap_err().code(),
            code::NOT_FOUND
        );
        assert_eq!(
            select_json(doc, "data").unwrap_err().code(),
            code::BAD_REQUEST
        );
        assert_eq!(
            select_json(b"<x/>", "$.a").unwrap_err().code(),
            code::BAD_REQUEST
        );
    }

    #[test]
    fn xml_paths_select_text_and_attributes() {
        let doc = br#"<listings><home id="a"><price> 450000 </price></home><home id="b"><price>510000</price></home></listings>"#;
        assert_eq!(
            select_xml(doc, "/listings/home[2]/price").unwrap(),
            "510000"
        );
        assert_eq!(select_xml(doc, "/listings/home/price").unwrap(), "450000");
        assert_eq!(select_xml(doc, "/listings/home[2]/@id").unwrap(), "b");
        assert_eq!(
            select_xml(doc, "/listings/flat").unwrap_err().code(),
            code::NOT_FOUND
        );
    }

    #[test]
    fn numbers_are_scaled_exactly_and_typed() {
        let uint = |t, d| U256::abi_decode(&encode_value(t, "uint256", d).unwrap()).unwrap();
        assert_eq!(uint("101.25", 2), U256::from(10125));
        assert_eq!(
            uint("101.256", 2),
            U256::from(10125),
            "extra digits are cut"
        );
        assert_eq!(uint("3e2", 0), U256::from(300));
        assert_eq!(uint("1.5e-1", 3), U256::from(150));
        assert_eq!(
            uint("42", 18),
            U256::from(42) * U256::from(10u64).pow(U256::from(18))
        );
        let int = I256::abi_decode(&encode_value("-2.5", "int256", 1).unwrap()).unwrap();
        assert_eq!(int, I256::try_from(-25).unwrap());
        assert!(encode_value("-1", "uint256", 0).is_err());
        assert!(encode_value("abc", "uint256", 0).is_err());
        assert!(encode_value("1e80", "uint256", 0).is_err());
        assert!(bool::abi_decode(&encode_value("true", "bool", 0).unwrap()).unwrap());
        assert_eq!(
            String::abi_decode(&encode_value("hi", "string", 0).unwrap()).unwrap(),
            "hi"
        );
        assert_eq!(
            encode_value("x", "float", 0).unwrap_err().code(),
            code::BAD_REQUEST
        );
    }
}
