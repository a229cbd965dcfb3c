//! The useful-work runtime: wasmtime configured so that the same module and input give the same
//! output and the same instruction count on every machine (DESIGN §4.1).
//!
//! Determinism comes from what the module can reach: no threads, no relaxed SIMD, NaNs
//! canonicalised by Cranelift, fixed memory and stack limits, and a WASI surface reduced to a
//! virtual stdin (the task input), a virtual stdout (the result) and `proc_exit`. Clocks,
//! randomness, the filesystem and the environment are not imported at all: a module that asks
//! for them is refused before it runs.

use crate::metering::{self, REMAINING_EXPORT};
use alloy_primitives::{B256, keccak256};
use std::collections::HashMap;
use std::sync::Mutex;
use wasmtime::{
    Caller, Config, Engine, Extern, Linker, Module, OptLevel, Store, StoreLimits,
    StoreLimitsBuilder, Trap,
};

/// Version of the runtime, part of the enclave measurement.
pub const RUNTIME_VERSION: &str = "ankr-pouw-runtime/2 wasmtime-48 unoptimised";
const WASI: &str = "wasi_snapshot_preview1";

/// Limits every run is held to; they are consensus-relevant through the measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest linear memory a task may have, in bytes.
    pub max_memory: usize,
    /// Largest result (stdout) a task may write, in bytes.
    pub max_output: usize,
    /// Native stack wasm may use, in bytes.
    pub max_stack: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_memory: 256 << 20,
            max_output: 1 << 20,
            max_stack: 1 << 20,
        }
    }
}

/// How a run ended. Every outcome other than `Completed` is a recorded failure of the task,
/// never of the miner: the miner reports it and carries on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `_start` returned or called `proc_exit(0)`.
    Completed,
    /// The module could not be metered or compiled (malformed, forbidden feature).
    Malformed(String),
    /// The module imports something useful work may not use (clock, randomness, files, …).
    ForbiddenImport(String),
    /// The run reached its instruction budget.
    OutOfBudget,
    /// The module asked for more memory than [`Limits::max_memory`].
    OutOfMemory,
    /// The module wrote more than [`Limits::max_output`] bytes.
    OutputTooLarge,
    /// `proc_exit` with a non-zero code.
    Exit(i32),
    /// A wasm trap (out-of-bounds access, division by zero, stack overflow, unreachable, …).
    Trap(String),
}

impl Outcome {
    /// A short code for receipts and the work market (0 = completed).
    pub fn code(&self) -> u8 {
        match self {
            Self::Completed => 0,
            Self::Malformed(_) => 1,
            Self::ForbiddenImport(_) => 2,
            Self::OutOfBudget => 3,
            Self::OutOfMemory => 4,
            Self::OutputTooLarge => 5,
            Self::Exit(_) => 6,
            Self::Trap(_) => 7,
        }
    }
}

/// What a run produced: its outcome, what it wrote to stdout, and the instructions it executed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    pub outcome: Outcome,
    pub output: Vec<u8>,
    pub instructions: u64,
}

impl Execution {
    /// The hash the enclave signs: the outcome code and the output, so a failure cannot be
    /// passed off as a result.
    pub fn result_hash(&self) -> B256 {
        let mut bytes = Vec::with_capacity(self.output.len() + 1);
        bytes.push(self.outcome.code());
        bytes.extend_from_slice(&self.output);
        keccak256(bytes)
    }

    fn failed(outcome: Outcome) -> Self {
        Self {
            outcome,
            output: Vec::new(),
            instructions: 0,
        }
    }
}

/// Per-run host state: the virtual stdio and the store limits.
struct Host {
    input: Vec<u8>,
    read: usize,
    output: Vec<u8>,
    max_output: usize,
    output_overflow: bool,
    limits: StoreLimits,
}

/// The reason a host call stopped the run.
#[derive(Debug)]
enum Stop {
    Exit(i32),
    OutputTooLarge,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
impl std::error::Error for Stop {}

/// A deterministic wasm engine with a cache of metered, compiled modules.
pub struct Runtime {
    engine: Engine,
    linker: Linker<Host>,
    limits: Limits,
    compiled: Mutex<HashMap<B256, Module>>,
    /// wasmtime's own fuel metering is on (a benchmark baseline, never used for work).
    wasmtime_fuel: bool,
}

/// Whether `wasm` would be refused by [`Runtime::run`] before running: for checks at submission.
pub fn check_module(wasm: &[u8]) -> Result<(), String> {
    metering::instrument(wasm)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

impl Runtime {
    /// A runtime with the given limits; every miner of a chain must use the same.
    pub fn new(limits: Limits) -> Self {
        Self::build(limits, false)
    }

    /// The same runtime with wasmtime's built-in fuel metering switched on, for benchmarks to
    /// compare ankr's metering with (`run_unmetered` then runs with fuel instead).
    pub fn with_wasmtime_fuel(limits: Limits) -> Self {
        Self::build(limits, true)
    }

    fn build(limits: Limits, wasmtime_fuel: bool) -> Self {
        let mut config = Config::new();
        config
            // Threads, GC and exceptions are off by construction: those wasmtime features are
            // not compiled in (and `metering::allowed_features` refuses them before compiling).
            .cranelift_nan_canonicalization(true)
            // No optimisation passes: an optimiser deletes or folds work whose tickets the
            // metering already counted (x·0, x ^ x, loop-invariant code), so a host could buy
            // tickets for nothing. Unoptimised, every kind of module `ankr bench --only pouw`
            // tries earns at most 0.6× the built-in work's tickets per second; useful work
            // runs 0–27 % slower than with `OptLevel::Speed`.
            .cranelift_opt_level(OptLevel::None)
            .wasm_relaxed_simd(false)
            .wasm_multi_memory(false)
            .wasm_memory64(false)
            .wasm_tail_call(false)
            .wasm_wide_arithmetic(false)
            .wasm_custom_page_sizes(false)
            .max_wasm_stack(limits.max_stack)
            .consume_fuel(wasmtime_fuel);
        let engine = Engine::new(&config).expect("a valid static wasmtime configuration");
        let mut linker = Linker::new(&engine);
        link_virtual_wasi(&mut linker).expect("host functions have distinct names");
        Self {
            engine,
            linker,
            limits,
            compiled: Mutex::new(HashMap::new()),
            wasmtime_fuel,
        }
    }

    /// The limits this runtime holds runs to.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Meters (unless `metered` is false) and compiles `wasm`, cached by hash and metering.
    fn module(&self, wasm: &[u8], metered: bool) -> Result<Module, Outcome> {
        let mut hash = keccak256(wasm);
        hash.0[0] ^= u8::from(metered);
        if let Some(module) = self.compiled.lock().expect("cache lock").get(&hash) {
            return Ok(module.clone());
        }
        let code = if metered {
            metering::instrument(wasm).map_err(|e| Outcome::Malformed(e.to_string()))?
        } else {
            wasm.to_vec()
        };
        let module =
            Module::new(&self.engine, &code).map_err(|e| Outcome::Malformed(format!("{e:#}")))?;
        for import in module.imports() {
            let allowed = import.module() == WASI
                && ALLOWED_WASI.contains(&import.name())
                && matches!(import.ty(), wasmtime::ExternType::Func(_));
            if !allowed {
                return Err(Outcome::ForbiddenImport(format!(
                    "{}::{}",
                    import.module(),
                    import.name()
                )));
            }
        }
        let mut compiled = self.compiled.lock().expect("cache lock");
        if compiled.len() > 64 {
            compiled.clear();
        }
        compiled.insert(hash, module.clone());
        Ok(module)
    }

    /// Runs a WASI command module (`_start`) on `input` with at most `budget` instructions.
    pub fn run(&self, wasm: &[u8], input: &[u8], budget: u64) -> Execution {
        match self.module(wasm, true) {
            Ok(module) => self.run_module(&module, input, Some(budget)),
            Err(outcome) => Execution::failed(outcome),
        }
    }

    /// Runs `wasm` exactly as [`Runtime::run`] does but without instrumentation, so nothing is
    /// counted (`instructions` is 0) and nothing bounds the run: the baseline that benchmarks
    /// measure metering against. Never for untrusted work.
    pub fn run_unmetered(&self, wasm: &[u8], input: &[u8]) -> Execution {
        match self.module(wasm, false) {
            Ok(module) => self.run_module(&module, input, None),
            Err(outcome) => Execution::failed(outcome),
        }
    }

    fn run_module(&self, module: &Module, input: &[u8], budget: Option<u64>) -> Execution {
        let host = Host {
            input: input.to_vec(),
            read: 0,
            output: Vec::new(),
            max_output: self.limits.max_output,
            output_overflow: false,
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.max_memory)
                .table_elements(1 << 20)
                .instances(1)
                .trap_on_grow_failure(true)
                .build(),
        };
        let mut store = Store::new(&self.engine, host);
        store.limiter(|host| &mut host.limits);
        if self.wasmtime_fuel {
            store.set_fuel(u64::MAX).expect("fuel is enabled");
        }
        let instance = match self.linker.instantiate(&mut store, module) {
            Ok(instance) => instance,
            Err(e) => {
                let outcome = if format!("{e:#}").contains("memory") {
                    Outcome::OutOfMemory
                } else {
                    Outcome::Trap(format!("instantiation: {e:#}"))
                };
                return Execution::failed(outcome);
            }
        };
        let budget = budget.map(|b| b.min(i64::MAX as u64));
        let remaining = budget.map(|budget| {
            let remaining = instance
                .get_global(&mut store, REMAINING_EXPORT)
                .expect("metered modules export it");
            remaining
                .set(&mut store, wasmtime::Val::I64(budget as i64))
                .expect("a mutable i64");
            remaining
        });
        let start = match instance.get_typed_func::<(), ()>(&mut store, "_start") {
            Ok(start) => start,
            Err(_) => {
                return Execution::failed(Outcome::Malformed(
                    "no `_start` function (useful work is a WASI command)".into(),
                ));
            }
        };
        let result = start.call(&mut store, ());
        let budget = budget.unwrap_or(u64::MAX);
        let instructions = remaining.map_or(0, |r| {
            (budget as i128 - i128::from(r.get(&mut store).unwrap_i64())) as u64
        });
        let outcome = match result {
            Ok(()) => Outcome::Completed,
            Err(e) if instructions > budget => {
                let _ = e;
                Outcome::OutOfBudget
            }
            Err(e) => match (e.downcast_ref::<Stop>(), e.downcast_ref::<Trap>()) {
                (Some(Stop::Exit(0)), _) => Outcome::Completed,
                (Some(Stop::Exit(code)), _) => Outcome::Exit(*code),
                (Some(Stop::OutputTooLarge), _) => Outcome::OutputTooLarge,
                (None, Some(Trap::AllocationTooLarge)) => Outcome::OutOfMemory,
                (None, Some(trap)) => Outcome::Trap(trap.to_string()),
                (None, None) if format!("{e:#}").contains("memory") => Outcome::OutOfMemory,
                (None, None) => Outcome::Trap(format!("{e:#}")),
            },
        };
        let host = store.into_data();
        let outcome = if host.output_overflow {
            Outcome::OutputTooLarge
        } else {
            outcome
        };
        Execution {
            instructions: instructions.min(budget),
            output: if outcome == Outcome::Completed {
                host.output
            } else {
                Vec::new()
            },
            outcome,
        }
    }
}

/// The WASI preview 1 functions useful work may import.
const ALLOWED_WASI: &[&str] = &[
    "fd_read",
    "fd_write",
    "proc_exit",
    "args_sizes_get",
    "args_get",
    "environ_sizes_get",
    "environ_get",
    "fd_close",
    "fd_fdstat_get",
    "fd_seek",
];

const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;

fn memory(caller: &mut Caller<'_, Host>) -> Option<wasmtime::Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Some(memory),
        _ => None,
    }
}

/// Reads the `(ptr, len)` pairs of an iovec array.
fn iovecs(data: &[u8], iovs: u32, count: u32) -> Option<Vec<(usize, usize)>> {
    (0..count)
        .map(|i| {
            let at = iovs as usize + 8 * i as usize;
            let field = |offset: usize| {
                data.get(at + offset..at + offset + 4)
                    .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
            };
            Some((field(0)?, field(4)?))
        })
        .collect()
}

fn write_u32(data: &mut [u8], at: u32, value: u32) -> bool {
    match data.get_mut(at as usize..at as usize + 4) {
        Some(slot) => {
            slot.copy_from_slice(&value.to_le_bytes());
            true
        }
        None => false,
    }
}

fn link_virtual_wasi(linker: &mut Linker<Host>) -> wasmtime::Result<()> {
    linker.func_wrap(
        WASI,
        "fd_write",
        |mut caller: Caller<'_, Host>, fd: u32, iovs: u32, count: u32, written: u32| {
            let Some(memory) = memory(&mut caller) else {
                return Ok(ERRNO_FAULT);
            };
            let (data, host) = memory.data_and_store_mut(&mut caller);
            let Some(vectors) = iovecs(data, iovs, count) else {
                return Ok(ERRNO_FAULT);
            };
            let mut total = 0usize;
            for (ptr, len) in vectors {
                let Some(bytes) = data.get(ptr..ptr.saturating_add(len)) else {
                    return Ok(ERRNO_FAULT);
                };
                match fd {
                    1 => {
                        if host.output.len() + len > host.max_output {
                            host.output_overflow = true;
                            return Err(wasmtime::Error::new(Stop::OutputTooLarge));
                        }
                        host.output.extend_from_slice(bytes);
                    }
                    2 => {} // stderr is discarded: it is not part of the result.
                    _ => return Ok(ERRNO_BADF),
                }
                total += len;
            }
            Ok(if write_u32(data, written, total as u32) {
                ERRNO_SUCCESS
            } else {
                ERRNO_FAULT
            })
        },
    )?;
    linker.func_wrap(
        WASI,
        "fd_read",
        |mut caller: Caller<'_, Host>, fd: u32, iovs: u32, count: u32, read: u32| {
            if fd != 0 {
                return Ok(ERRNO_BADF);
            }
            let Some(memory) = memory(&mut caller) else {
                return Ok(ERRNO_FAULT);
            };
            let (data, host) = memory.data_and_store_mut(&mut caller);
            let Some(vectors) = iovecs(data, iovs, count) else {
                return Ok(ERRNO_FAULT);
            };
            let mut total = 0usize;
            for (ptr, len) in vectors {
                let remaining = &host.input[host.read..];
                let n = len.min(remaining.len());
                let Some(slot) = data.get_mut(ptr..ptr.saturating_add(n)) else {
                    return Ok(ERRNO_FAULT);
                };
                slot.copy_from_slice(&remaining[..n]);
                host.read += n;
                total += n;
            }
            Ok::<i32, wasmtime::Error>(if write_u32(data, read, total as u32) {
                ERRNO_SUCCESS
            } else {
                ERRNO_FAULT
            })
        },
    )?;
    linker.func_wrap(WASI, "proc_exit", |_: Caller<'_, Host>, code: i32| {
        Err::<(), _>(wasmtime::Error::new(Stop::Exit(code)))
    })?;
    // No arguments and no environment: both report zero entries.
    for name in ["args_sizes_get", "environ_sizes_get"] {
        linker.func_wrap(
            WASI,
            name,
            |mut caller: Caller<'_, Host>, count: u32, size: u32| {
                let Some(memory) = memory(&mut caller) else {
                    return Ok(ERRNO_FAULT);
                };
                let data = memory.data_mut(&mut caller);
                Ok::<i32, wasmtime::Error>(
                    if write_u32(data, count, 0) && write_u32(data, size, 0) {
                        ERRNO_SUCCESS
                    } else {
                        ERRNO_FAULT
                    },
                )
            },
        )?;
    }
    for name in ["args_get", "environ_get"] {
        linker.func_wrap(WASI, name, |_: Caller<'_, Host>, _: u32, _: u32| {
            Ok::<i32, wasmtime::Error>(ERRNO_SUCCESS)
        })?;
    }
    linker.func_wrap(WASI, "fd_close", |_: Caller<'_, Host>, _: u32| {
        Ok::<i32, wasmtime::Error>(ERRNO_BADF)
    })?;
    linker.func_wrap(
        WASI,
        "fd_fdstat_get",
        |_: Caller<'_, Host>, _: u32, _: u32| Ok::<i32, wasmtime::Error>(ERRNO_BADF),
    )?;
    linker.func_wrap(
        WASI,
        "fd_seek",
        |_: Caller<'_, Host>, _: u32, _: i64, _: u32, _: u32| {
            Ok::<i32, wasmtime::Error>(ERRNO_BADF)
        },
    )?;
    Ok(())
}
