//! The useful-work runtime on real modules: the committed workloads and hostile ones.

use ankr_enclave::runtime::{Limits, Outcome, Runtime};

fn workload(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../workloads/wasm/{name}.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn args(a: u32, b: u32) -> Vec<u8> {
    [a.to_le_bytes(), b.to_le_bytes()].concat()
}

#[test]
fn workloads_complete_with_the_same_output_and_count_every_time() {
    let runtime = Runtime::new(Limits::default());
    for (name, input) in [
        ("sha256", args(64, 1)),
        ("matmul", args(48, 3)),
        ("mlp", args(5, 9)),
    ] {
        let wasm = workload(name);
        let first = runtime.run(&wasm, &input, u64::MAX);
        assert_eq!(first.outcome, Outcome::Completed, "{name}");
        assert!(
            first.instructions > 100_000,
            "{name}: {}",
            first.instructions
        );
        assert!(!first.output.is_empty());
        // A fresh runtime (fresh compilation) counts the same.
        let again = Runtime::new(Limits::default()).run(&wasm, &input, u64::MAX);
        assert_eq!(first, again, "{name}");
        // A different input gives a different result.
        let other = runtime.run(&wasm, &args(32, 2), u64::MAX);
        assert_ne!(first.output, other.output, "{name}");
    }
}

#[test]
fn sha256_workload_computes_real_sha256() {
    // 1 KiB of output of the seeded generator; recompute the same bytes and hash them here.
    let runtime = Runtime::new(Limits::default());
    let run = runtime.run(&workload("sha256"), &1u32.to_le_bytes(), u64::MAX);
    let mut state: u64 = 0x9E3779B97F4A7C15;
    let mut data = Vec::new();
    for _ in 0..128 {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        data.extend_from_slice(&state.wrapping_mul(0x2545F4914F6CDD1D).to_le_bytes());
    }
    use sha2::Digest;
    let expected = alloy_primitives::hex::encode(sha2::Sha256::digest(&data));
    assert_eq!(String::from_utf8(run.output).unwrap().trim(), expected);
}

#[test]
fn counts_are_exact_on_a_known_module() {
    // Weighted segments: the function's entry [i32.const, drop, loop] is free but an entry
    // costs at least 1; the loop body [i32.const 0, br_if 0] runs once (br_if: 1); the two
    // [end]s are free: 1 + 1 = 2.
    let wasm = wat::parse_str(
        r#"(module (memory (export "memory") 1)
             (func (export "_start") i32.const 1 drop (loop i32.const 0 br_if 0)))"#,
    )
    .unwrap();
    let run = Runtime::new(Limits::default()).run(&wasm, &[], u64::MAX);
    assert_eq!(run.outcome, Outcome::Completed);
    assert_eq!(run.instructions, 2);
}

#[test]
fn operators_that_compile_to_nothing_earn_no_tickets() {
    // 10,000 iterations of a body padded with 64 nops, 32 local moves and 32 dropped constants:
    // counted as operators that would be 1.3 M tickets; weighted, the padding is free and each
    // iteration pays for its decrement, compare and branch only.
    let padding = "nop ".repeat(64)
        + &"local.get 0 local.set 0 ".repeat(16)
        + &"i64.const 7 drop ".repeat(32);
    let wasm = wat::parse_str(format!(
        r#"(module (func (export "_start") (local i32)
             (local.set 0 (i32.const 10000))
             (loop {padding}
               (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
               (br_if 0 (local.get 0)))))"#
    ))
    .unwrap();
    let run = Runtime::new(Limits::default()).run(&wasm, &[], u64::MAX);
    assert_eq!(run.outcome, Outcome::Completed);
    assert_eq!(
        run.instructions,
        1 + 10_000 * 2,
        "sub + br_if per iteration, entry 1"
    );
}

#[test]
fn an_endless_loop_stops_at_its_budget() {
    let wasm = wat::parse_str(r#"(module (func (export "_start") (loop br 0)))"#).unwrap();
    let run = Runtime::new(Limits::default()).run(&wasm, &[], 1_000_000);
    assert_eq!(run.outcome, Outcome::OutOfBudget);
    assert_eq!(run.instructions, 1_000_000);
}

#[test]
fn hostile_modules_fail_with_a_reason() {
    let runtime = Runtime::new(Limits {
        max_memory: 16 << 20,
        max_output: 16,
        ..Limits::default()
    });
    let cases = [
        (b"\0asm\x01\0\0\0\x05garbage".to_vec(), "malformed"),
        (
            wat::parse_str(
                r#"(module (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i64 i32) (result i32)))
                     (func (export "_start")))"#,
            )
            .unwrap(),
            "forbidden",
        ),
        (
            wat::parse_str(r#"(module (memory (export "memory") 1000) (func (export "_start")))"#)
                .unwrap(),
            "memory",
        ),
        (
            wat::parse_str(
                r#"(module (memory (export "memory") 1)
                     (func (export "_start") (drop (memory.grow (i32.const 1000)))))"#,
            )
            .unwrap(),
            "memory",
        ),
        (
            wat::parse_str(
                r#"(module (func (export "_start") (drop (i32.div_u (i32.const 1) (i32.const 0)))))"#,
            )
            .unwrap(),
            "trap",
        ),
        (
            wat::parse_str(
                r#"(module (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
                     (memory (export "memory") 1) (data (i32.const 0) "\10\00\00\00\20\00\00\00")
                     (func (export "_start") (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 100)))))"#,
            )
            .unwrap(),
            "output",
        ),
        (
            wat::parse_str(r#"(module (func $f (call $f)) (func (export "_start") (call $f)))"#)
                .unwrap(),
            "trap",
        ),
        (
            wat::parse_str(r#"(module (memory 1 1 shared) (func (export "_start")))"#).unwrap(),
            "malformed",
        ),
        (wat::parse_str(r#"(module (func (export "main")))"#).unwrap(), "malformed"),
    ];
    for (wasm, expected) in cases {
        let run = runtime.run(&wasm, &[], 10_000_000);
        let ok = match expected {
            "malformed" => matches!(run.outcome, Outcome::Malformed(_)),
            "forbidden" => matches!(run.outcome, Outcome::ForbiddenImport(_)),
            "memory" => run.outcome == Outcome::OutOfMemory,
            "trap" => matches!(run.outcome, Outcome::Trap(_)),
            "output" => run.outcome == Outcome::OutputTooLarge,
            _ => unreachable!(),
        };
        assert!(ok, "expected {expected}, got {:?}", run.outcome);
        assert!(run.output.is_empty());
    }
}

#[test]
fn builtin_workloads_are_a_few_million_instructions() {
    let runtime = Runtime::new(Limits::default());
    for workload in ankr_enclave::workloads::builtin() {
        let start = std::time::Instant::now();
        let run = runtime.run(&workload.module, &workload.input(1), u64::MAX);
        println!(
            "{}: {} instructions in {:?}",
            workload.name,
            run.instructions,
            start.elapsed()
        );
        assert_eq!(run.outcome, Outcome::Completed);
        assert!(run.instructions > 1_000_000);
    }
}

proptest::proptest! {
    /// The stable-toolchain twin of the `metering` fuzz target: arbitrary bytes and mutated
    /// real modules never panic the pass, and what it accepts is valid wasm.
    #[test]
    fn metering_never_panics_and_keeps_modules_valid(
        flips in proptest::collection::vec((0usize..3000, proptest::num::u8::ANY), 0..8),
        junk in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
    ) {
        let _ = ankr_enclave::metering::instrument(&junk);
        let mut wasm = workload("mlp");
        for (at, byte) in flips {
            let at = at % wasm.len();
            wasm[at] = byte;
        }
        if let Ok(metered) = ankr_enclave::metering::instrument(&wasm) {
            wasmparser::Validator::new_with_features(ankr_enclave::metering::allowed_features())
                .validate_all(&metered)
                .unwrap();
        }
    }
}
