//! `ankr bench --only pouw`: Proof of Useful Work figures, each against a baseline measured in
//! the same run: metering overhead against the same module unmetered in wasmtime, seal
//! verification against one raw signature recovery, and, from seeded simulations, lottery
//! fairness and the defences' false-rejection rates.

use alloy_primitives::{B256, U256, keccak256};
use ankr_enclave::workloads::Workload;
use ankr_enclave::{Enclave, Limits, Runtime, SimulatedEnclave, Subtask, Template};
use ankr_pouw::defences::{DefenceParams, Scenario, simulate};
use std::time::{Duration, Instant};

/// Median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

pub(crate) fn run(defence_blocks: u64) -> anyhow::Result<()> {
    metering_overhead()?;
    ticket_rates()?;
    seal_verification();
    fairness();
    defences(defence_blocks);
    Ok(())
}

/// Each built-in workload at a benchmark size, metered and unmetered, interleaved.
fn metering_overhead() -> anyhow::Result<()> {
    println!(
        "pouw: metering overhead (same module and engine settings; baseline unmetered; wasmtime's fuel for comparison)"
    );
    let runtime = Runtime::new(Limits::default());
    let fuel = Runtime::with_wasmtime_fuel(Limits::default());
    for mut workload in ankr_enclave::workloads::builtin() {
        workload.params *= 4;
        let Workload { name, module, .. } = &workload;
        let input = workload.input(7);
        let metered = runtime.run(module, &input, u64::MAX);
        let plain = runtime.run_unmetered(module, &input);
        anyhow::ensure!(
            metered.output == plain.output,
            "{name}: metering changed the result"
        );
        let (mut t_metered, mut t_plain, mut t_fuel) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..7 {
            t_plain.push(median(1, || {
                runtime.run_unmetered(module, &input);
            }));
            t_metered.push(median(1, || {
                runtime.run(module, &input, u64::MAX);
            }));
            t_fuel.push(median(1, || {
                fuel.run_unmetered(module, &input);
            }));
        }
        for times in [&mut t_plain, &mut t_metered, &mut t_fuel] {
            times.sort();
        }
        let (m, p, f) = (t_metered[3], t_plain[3], t_fuel[3]);
        let overhead = |d: Duration| (d.as_secs_f64() / p.as_secs_f64() - 1.0) * 100.0;
        println!(
            "  {name:<7} {:>6.1} M instr  unmetered {:>7.2} ms  ankr metering {:+.1} %  wasmtime fuel {:+.1} %  ({:.1} G wasm instr/s)",
            metered.instructions as f64 / 1e6,
            p.as_secs_f64() * 1e3,
            overhead(m),
            overhead(f),
            metered.instructions as f64 / m.as_secs_f64() / 1e9,
        );
    }
    Ok(())
}

/// What a validator does per block for the seal (decode, signature, draw), against a raw
/// libsecp256k1 recovery.
fn seal_verification() {
    let key = secp256k1::SecretKey::from_byte_array(keccak256("bench").0).expect("valid key");
    let enclave = SimulatedEnclave::new(key, B256::repeat_byte(1), Limits::default());
    let template = Template {
        hash: B256::repeat_byte(2),
        difficulty: U256::from(1u8),
    };
    let subtask = Subtask {
        task_id: B256::repeat_byte(3),
        index: 1,
        module: wat_free_module(),
        input: Vec::new().into(),
        budget: 1_000,
    };
    let report = enclave
        .run_subtask(&template, &subtask)
        .expect("fresh subtask");
    let proof = report.seal.encode();
    let n = 20_000;
    let verify = median(5, || {
        for _ in 0..n {
            let seal = ankr_pouw::PouwSeal::decode(&proof).expect("valid seal");
            seal.verify(template.hash, template.difficulty)
                .expect("valid seal");
        }
    });
    let digest = keccak256("digest");
    let signature = ankr_pouw::signing::sign(&key, digest);
    let recover = median(5, || {
        for _ in 0..n {
            ankr_pouw::signing::recover(digest, &signature).expect("valid signature");
        }
    });
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "pouw: seal verification {:.1} µs per block = {:.2}× one raw signature recovery ({:.1} µs)",
        per(verify),
        verify.as_secs_f64() / recover.as_secs_f64(),
        per(recover)
    );
    println!("      (plus a registry system call and the defence window read on import)");
}

/// The smallest WASI command: returns at once.
fn wat_free_module() -> std::sync::Arc<[u8]> {
    // (module (func (export "_start")))
    let bytes: &[u8] = &[
        0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 10, 1, 6, 95, 115, 116, 97,
        114, 116, 0, 0, 10, 4, 1, 2, 0, 11,
    ];
    bytes.into()
}

/// Two simulated miners with instruction rates 1:3 racing for blocks with real enclaves.
fn fairness() {
    let enclave = |seed: u8| {
        let key = secp256k1::SecretKey::from_byte_array(keccak256([seed]).0).expect("valid key");
        SimulatedEnclave::new(key, keccak256([seed, 1]), Limits::default())
    };
    let (a, b) = (enclave(1), enclave(2));
    let subtask = |task: u8, index: u64| Subtask {
        task_id: keccak256([task]),
        index,
        module: wat_free_module(),
        input: Vec::new().into(),
        budget: 1_000,
    };
    // The empty module executes 1 instruction; a difficulty of 50 means ~50 subtasks a block.
    let blocks = 2_000u32;
    let (mut wins_a, mut index) = (0u32, 0u64);
    for block in 0..blocks {
        let template = Template {
            hash: keccak256(block.to_le_bytes()),
            difficulty: U256::from(50u8),
        };
        'race: loop {
            index += 1;
            for k in 0..2 {
                if b.run_subtask(&template, &subtask(2, index * 3 + k))
                    .expect("fresh")
                    .won
                {
                    break 'race;
                }
            }
            let from_a = a.run_subtask(&template, &subtask(1, index)).expect("fresh");
            let from_b = b
                .run_subtask(&template, &subtask(2, index * 3 + 2))
                .expect("fresh");
            if from_a.won && !(from_b.won && from_b.seal.draw() < from_a.seal.draw()) {
                wins_a += 1;
                break 'race;
            }
            if from_b.won {
                break 'race;
            }
        }
    }
    let share = f64::from(wins_a) / f64::from(blocks);
    let sigma = (0.25 * 0.75 / f64::from(blocks)).sqrt();
    println!(
        "pouw: fairness, rates 1:3 over {blocks} blocks: slower miner won {share:.3} (fair 0.250, σ {sigma:.3}, {:+.1} σ)",
        (share - 0.25) / sigma
    );
}

/// Lottery tickets per second of each kind of module a host could pick, against the built-in
/// work in the same run: the weighted metering keeps the ratio near 1, so that no module buys
/// many more tickets per CPU second than useful work does. The fastest kind, times the
/// headroom for a faster CPU, is the chain's `max_platform_rate`.
fn ticket_rates() -> anyhow::Result<()> {
    let runtime = Runtime::new(Limits::default());
    let budget = 1u64 << 28;
    let endless = |body: &str| {
        wat::parse_str(format!(
            r#"(module (memory (export "memory") 1) (func (export "_start") (local i64) (loop {body} br 0)))"#
        ))
    };
    let mut kinds: Vec<(String, Vec<u8>, Vec<u8>)> = ankr_enclave::workloads::builtin()
        .into_iter()
        .map(|mut w| {
            w.params *= 4;
            let input = w.input(7);
            (
                format!("built-in {}", w.name),
                w.module.to_vec(),
                input.to_vec(),
            )
        })
        .collect();
    for (name, body) in [
        ("loop of nops", "nop ".repeat(200)),
        (
            "loop of dead arithmetic",
            "local.get 0 local.get 0 i64.mul drop ".repeat(50),
        ),
        (
            "loop of folding identities",
            "local.get 0 local.get 0 i64.xor i64.const 0 i64.mul drop ".repeat(40),
        ),
        (
            "loop of live arithmetic",
            "local.get 0 i64.const 3 i64.mul i64.const 1 i64.add local.set 0 ".repeat(20),
        ),
        ("loop of loads", "i32.const 64 i64.load drop ".repeat(50)),
        ("empty loop", String::new()),
    ] {
        kinds.push((format!("hostile {name}"), endless(&body)?, Vec::new()));
    }
    println!(
        "pouw: tickets per second by module kind (weighted metering, one core; budget {budget} for the endless ones)"
    );
    let mut rates = Vec::new();
    for (name, module, input) in &kinds {
        let mut best = f64::MAX;
        let mut tickets = 0;
        for _ in 0..3 {
            let start = Instant::now();
            let run = runtime.run(module, input, budget);
            best = best.min(start.elapsed().as_secs_f64());
            tickets = run.instructions;
        }
        rates.push((name.clone(), tickets as f64 / best));
    }
    let baseline = rates
        .iter()
        .filter(|(n, _)| n.starts_with("built-in"))
        .map(|(_, r)| *r)
        .fold(0.0, f64::max);
    for (name, rate) in &rates {
        println!(
            "  {name:<32} {:>6.2} G tickets/s  {:>5.2} × the fastest built-in work",
            rate / 1e9,
            rate / baseline
        );
    }
    let fastest = rates.iter().map(|(_, r)| *r).fold(0.0, f64::max);
    println!(
        "  chain spec max_platform_rate {:.2} G tickets/s = {:.2} × the fastest kind measured here",
        ankr_types::chain_spec::DEFAULT_MAX_PLATFORM_RATE as f64 / 1e9,
        ankr_types::chain_spec::DEFAULT_MAX_PLATFORM_RATE as f64 / fastest
    );
    Ok(())
}

/// Seeded simulations of networks under the rate cap: honest platforms with equal and unequal
/// shares, idle registered platforms among them, and one key holder who forges a win whenever
/// the rules let it. Prints its share of blocks against the share a platform at the fastest
/// honest rate would get, the honest false-rejection rate against α, the longest gap between
/// blocks, and what PoET's z-test (the old rule) would have refused.
fn defences(blocks: u64) {
    let params = DefenceParams::default();
    println!(
        "pouw: defences (rate cap over {} blocks at α {:e}; max_platform_rate = the fastest honest platform; 10 s blocks; {blocks} blocks each)",
        params.window, params.alpha
    );
    println!(
        "  {:<34} {:>5} {:>10} {:>10} {:>12} {:>9} {:>8}",
        "honest shares", "idle", "key holder", "allowed", "false rej.", "max gap", "z-test"
    );
    let cases: Vec<(Vec<f64>, usize)> = vec![
        (vec![0.5; 2], 0),
        (vec![1.0 / 3.0; 3], 1),
        (vec![0.2; 5], 0),
        (vec![0.1; 10], 3),
        (vec![0.75, 0.25], 1),
        (vec![0.4, 0.3, 0.2, 0.1], 2),
        (vec![0.5, 0.1, 0.1, 0.1, 0.1, 0.1], 0),
        (
            vec![0.3, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.04, 0.03, 0.03],
            5,
        ),
    ];
    for (shares, idle) in cases {
        let scenario = |compromised| Scenario {
            honest_shares: shares.clone(),
            idle_platforms: idle,
            compromised,
            block_time: 10,
            blocks,
            seed: 7,
        };
        let attacked = simulate(&params, &scenario(true));
        let honest = simulate(&params, &scenario(false));
        let label = if shares.iter().all(|s| (s - shares[0]).abs() < 1e-9) {
            format!("{} × {:.3}", shares.len(), shares[0])
        } else {
            format!("{shares:?}")
        };
        println!(
            "  {label:<34} {idle:>5} {:>10.3} {:>10.3} {:>5.1e}/{:<5.1e} {:>7.1} T {:>8}",
            attacked.compromised_share(),
            attacked.fastest_honest_share,
            honest.false_rejection_rate(),
            attacked.false_rejection_rate(),
            honest.longest_gap.max(attacked.longest_gap),
            honest.z_test_would_refuse,
        );
    }
    println!(
        "  (key holder: its share of blocks; allowed: what a platform at the fastest honest rate gets; false rej.: honest winning draws refused, without/with the key holder, against α {:e}; z-test: honest blocks PoET's z-test would have refused in the run without the key holder)",
        params.alpha
    );
}
