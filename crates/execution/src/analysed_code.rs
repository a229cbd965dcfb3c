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

/// `code` behind a reference count of its own. Every clone of a `Bytecode` (revm makes a few
/// per call) counts on one shared counter, so two threads running the same contract, or any
/// two touching empty code (revm's one process-wide `Bytecode::default()`), would fight over
/// that counter's cache line on every transaction; a block's thread clones its own copy
/// instead. Copies the `Arc`'s contents, not the code: the bytes stay shared (read, never
/// counted per call) and the jump table is `len / 8` bytes.
#[allow(unsafe_code)]
pub(crate) fn private_copy(code: &Bytecode) -> Bytecode {
    match code.legacy_jump_table() {
        Some(jump_table) if !code.bytecode().is_empty() => {
            // SAFETY: the bytes, their length and jump table are those of `code`, which
            // revm analysed (or built as its empty default) itself, so they already hold
            // the padding `new_analyzed` requires.
            unsafe {
                Bytecode::new_analyzed(code.bytecode().clone(), code.len(), jump_table.clone())
            }
        }
        // EIP-7702 designations are loaded once per transaction at most; left shared.
        _ => code.clone(),
    }
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

    #[test]
    fn a_private_copy_is_the_same_code_behind_its_own_count() {
        // PUSH1 4, JUMP, INVALID, JUMPDEST, PUSH1 1, STOP: a jump table with one destination.
        let contract = Bytecode::new_raw(Bytes::from_static(&[
            0x60, 0x04, 0x56, 0xfe, 0x5b, 0x60, 0x01, 0x00,
        ]));
        for code in [contract, Bytecode::default()] {
            let copy = private_copy(&code);
            assert_eq!(copy, code);
            assert_eq!(copy.hash_slow(), code.hash_slow());
            assert_eq!(copy.len(), code.len());
            assert_eq!(copy.bytecode(), code.bytecode());
            let (mine, theirs) = (copy.legacy_jump_table(), code.legacy_jump_table());
            assert_eq!(mine, theirs);
            assert!(
                !std::ptr::eq(mine.unwrap(), theirs.unwrap()),
                "the copy has its own Arc, so its own reference count"
            );
        }
    }
}
