//! Contract code analysed once for every EVM this process builds.
//!
//! revm analyses legacy code (its jump table) each time code is loaded; an `eth_call` loads
//! its contract afresh and spent 12 % of its time there. Code is content-addressed (stored
//! under its keccak hash and never changed), so an analysed copy is never stale, whichever
//! node or snapshot asks for it.

use alloy_primitives::{B256, Bytes, map::B256Map};
use revm::bytecode::Bytecode;
use std::sync::{LazyLock, RwLock};

/// Contracts in the young generation before it becomes the old one (and the old one goes): at
/// most twice this many are kept, each at most 24 KiB of code plus its jump table.
const YOUNG: usize = 512;

#[derive(Default)]
struct Generations {
    young: B256Map<Bytecode>,
    old: B256Map<Bytecode>,
}

static ANALYSED: LazyLock<RwLock<Generations>> = LazyLock::new(Default::default);

/// The analysed code under `code_hash`, from `load` (the raw code, `None` if not stored) the
/// first time it is asked for.
pub(crate) fn analysed<E>(
    code_hash: B256,
    load: impl FnOnce() -> Result<Option<Bytes>, E>,
) -> Result<Option<Bytecode>, E> {
    {
        let kept = ANALYSED.read().unwrap_or_else(|p| p.into_inner());
        if let Some(code) = kept.young.get(&code_hash) {
            return Ok(Some(code.clone()));
        }
        if let Some(code) = kept.old.get(&code_hash) {
            let code = code.clone();
            drop(kept);
            keep(code_hash, &code);
            return Ok(Some(code));
        }
    }
    let Some(raw) = load()? else {
        return Ok(None);
    };
    let code = Bytecode::new_raw(raw);
    keep(code_hash, &code);
    Ok(Some(code))
}

fn keep(code_hash: B256, code: &Bytecode) {
    let mut kept = ANALYSED.write().unwrap_or_else(|p| p.into_inner());
    if kept.young.len() >= YOUNG {
        kept.old = std::mem::take(&mut kept.young);
    }
    kept.young.insert(code_hash, code.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn code_is_loaded_once_and_the_cache_stays_bounded() {
        let codes: Vec<Bytes> = (0..3 * YOUNG as u32)
            .map(|i| Bytes::from([&[0x60, 0x01, 0x5b, 0x00][..], &i.to_be_bytes()].concat()))
            .collect();
        let mut loads = 0;
        for _ in 0..2 {
            let code = &codes[0];
            let got = analysed(keccak256(code), || {
                loads += 1;
                Ok::<_, ()>(Some(code.clone()))
            })
            .unwrap()
            .unwrap();
            assert_eq!(got.original_bytes(), *code);
        }
        assert_eq!(loads, 1, "the second ask is served analysed");
        for code in &codes {
            analysed(keccak256(code), || Ok::<_, ()>(Some(code.clone()))).unwrap();
        }
        let kept = ANALYSED.read().unwrap();
        assert!(kept.young.len() + kept.old.len() <= 2 * YOUNG);
        assert!(
            analysed(B256::repeat_byte(7), || Ok::<_, ()>(None))
                .unwrap()
                .is_none()
        );
    }
}
