//! `ankr bench --only pouw`: Proof of Useful Work figures, each against a baseline measured in
//! the same run: metering overhead against the same module unmetered in wasmtime, seal
//! verification against one raw signature recovery, and, from seeded simulations, lottery
//! fairness and the defences' false-rejection rates.

use alloy_primitives::{B256, U256, keccak256};
use ankr_pouw::defences::{DefenceParams, simulate_honest};
use ankr_pouw::workloads::Workload;
use ankr_pouw::{Enclave, Limits, Runtime, SimulatedEnclave, Subtask, Template};
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

pub fn run() -> anyhow::Result<()> {
    metering_overhead()?;
    seal_verification();
    fairness();
    false_rejections();
    Ok(())
}

/// Each built-in workload at a benchmark size, metered and unmetered, interleaved.
fn metering_overhead() -> anyhow::Result<()> {
    println!(
        "pouw: metering overhead (same module and engine settings; baseline unmetered; wasmtime's fuel for comparison)"
    );
    let runtime = Runtime::new(Limits::default());
    let fuel = Runtime::with_wasmtime_fuel(Limits::default());
    for mut workload in ankr_pouw::workloads::builtin() {
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

/// How often the defences refuse honest platforms, per block, over long seeded runs.
fn false_rejections() {
    let params = DefenceParams::default();
    println!(
        "pouw: defences (window {}, Poisson cap {} wins at α {:e} for a {:.0} % platform, z_max {})",
        params.window,
        params.poisson_cap(2),
        params.poisson_alpha,
        params.fastest_honest_share * 100.0,
        params.z_max
    );
    for shares in [
        vec![0.2; 5],
        vec![0.5, 0.5],
        vec![0.4, 0.3, 0.2, 0.1],
        vec![0.5, 0.1, 0.1, 0.1, 0.1, 0.1],
    ] {
        let r = simulate_honest(&params, &shares, 1_000_000, 7);
        println!(
            "  honest shares {shares:?}: {:.2e} of blocks refused (Poisson {}, z-test {}) in {} blocks",
            r.rate(),
            r.poisson,
            r.z_test,
            r.blocks
        );
    }
}
