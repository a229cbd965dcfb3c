//! Simulated enclaves end to end: attestation, one draw per subtask, seals anyone re-checks,
//! and a seeded fairness run of two miners with instruction rates 1:3.

use alloy_primitives::{B256, U256, keccak256};
use ankr_enclave::{Enclave, Limits, SimulatedEnclave, Subtask, Template};
use ankr_pouw::{AttestationService, PouwSeal, SealError};
use secp256k1::SecretKey;
use std::sync::Arc;

fn key(seed: u8) -> SecretKey {
    SecretKey::from_byte_array(keccak256([seed]).0).unwrap()
}

fn enclave(seed: u8) -> SimulatedEnclave {
    SimulatedEnclave::new(key(seed), keccak256([seed, 0xff]), Limits::default())
}

/// A module that loops `input[0]` × 100 times: a cheap subtask with a known count.
fn spin() -> Arc<[u8]> {
    wat::parse_str(
        r#"(module
             (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 0) "\10\00\00\00\01\00\00\00")
             (func (export "_start") (local $n i32)
               (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
               (local.set $n (i32.mul (i32.load8_u (i32.const 16)) (i32.const 100)))
               (loop (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                     (br_if 0 (local.get $n)))))"#,
    )
    .unwrap()
    .into()
}

fn subtask(task: u8, index: u64, size: u8) -> Subtask {
    Subtask {
        task_id: keccak256([task]),
        index,
        module: spin(),
        input: vec![size].into(),
        budget: 1 << 30,
    }
}

#[test]
fn attestation_certifies_only_the_key_holder_on_a_provisioned_platform() {
    let service = AttestationService::new(key(100));
    let (enclave, other) = (enclave(1), enclave(2));
    let nonce = B256::repeat_byte(9);
    // A platform the (simulated) manufacturer did not provision is refused.
    let message = service
        .certify(&enclave.quote(nonce))
        .unwrap_err()
        .to_string();
    assert!(message.contains("not provisioned"), "{message}");
    service.provision(enclave.platform_address()).unwrap();
    let certificate = service.certify(&enclave.quote(nonce)).unwrap();
    assert!(certificate.is_signed_by(service.root_address()));
    assert!(!certificate.is_signed_by(enclave.address()));
    assert_eq!(certificate.quote.platform_id, enclave.platform_id());

    let mut forged = enclave.quote(nonce);
    forged.enclave = other.address();
    assert!(service.certify(&forged).is_err());

    // Another host naming this provisioned platform without its provisioning key: refused.
    let mut claimed = other.quote(nonce);
    claimed.platform_id = enclave.platform_id();
    claimed.signature = ankr_pouw::signing::sign(&key(2), claimed.digest())
        .to_vec()
        .into();
    let message = service.certify(&claimed).unwrap_err().to_string();
    assert!(message.contains("provisioning key"), "{message}");
}

#[test]
fn a_seal_verifies_against_its_template_only() {
    let enclave = enclave(1);
    let template = Template {
        hash: B256::repeat_byte(1),
        difficulty: U256::from(1u8), // every subtask wins
    };
    let report = enclave.run_subtask(&template, &subtask(1, 0, 10)).unwrap();
    assert!(report.won);
    assert!(report.seal.instructions > 1_000);
    let seal = PouwSeal::decode(&report.seal.encode()).unwrap();
    seal.verify(template.hash, template.difficulty).unwrap();

    // Another template, difficulty, count or result: the signer no longer matches.
    assert!(matches!(
        seal.verify(B256::repeat_byte(2), template.difficulty),
        Err(SealError::WrongSigner { .. })
    ));
    let mut more = seal.clone();
    more.instructions += 1;
    assert!(more.verify(template.hash, template.difficulty).is_err());
    let mut garbage = seal.clone();
    garbage.signature = vec![1; 65].into();
    assert!(garbage.verify(template.hash, template.difficulty).is_err());
    assert!(PouwSeal::decode(&[0xc0]).is_err());
}

#[test]
fn a_subtask_draws_once_whatever_the_template() {
    let enclave = enclave(1);
    let a = Template {
        hash: B256::repeat_byte(1),
        difficulty: U256::from(1u64 << 40),
    };
    let b = Template {
        hash: B256::repeat_byte(2),
        ..a
    };
    let report = enclave.run_subtask(&a, &subtask(1, 5, 1)).unwrap();
    assert!(!report.won);
    assert!(enclave.run_subtask(&b, &subtask(1, 5, 1)).is_err());
    assert!(enclave.run_subtask(&b, &subtask(1, 4, 1)).is_err());
    assert!(enclave.run_subtask(&b, &subtask(1, 6, 1)).is_ok());
    // A high difficulty really is hard: the draw is above the threshold.
    assert!(matches!(
        report.seal.verify(a.hash, a.difficulty),
        Err(SealError::DrawAboveThreshold { .. })
    ));
}

/// Two miners; B executes three times as many instructions per unit of time as A. In each
/// time step A runs one subtask and B three of the same size; the first win seals the block.
/// Over 300 blocks A's share of wins must be 1/4 within four standard deviations.
#[test]
fn wins_follow_instruction_rates_one_to_three() {
    let (a, b) = (enclave(11), enclave(12));
    let size = 20u8; // ≈ 6,000 instructions per subtask
    // ≈ 50 subtasks per block: small steps, so the race is close to continuous.
    let difficulty = U256::from(300_000u64);
    let (mut wins_a, mut wins_b, mut index) = (0u32, 0u32, 0u64);
    let blocks = 300;
    for block in 0..blocks {
        let template = Template {
            hash: keccak256(format!("block {block}")),
            difficulty,
        };
        // In one time step B finishes subtasks at 1/3, 2/3 and 1, A at 1: B's first two run
        // before A's, and a tie at 1 goes to the lower draw.
        'mining: loop {
            index += 1;
            for k in 0..2 {
                if b.run_subtask(&template, &subtask(2, index * 3 + k, size))
                    .unwrap()
                    .won
                {
                    wins_b += 1;
                    break 'mining;
                }
            }
            let from_a = a.run_subtask(&template, &subtask(1, index, size)).unwrap();
            let from_b = b
                .run_subtask(&template, &subtask(2, index * 3 + 2, size))
                .unwrap();
            match (from_a.won, from_b.won) {
                (false, false) => continue,
                (true, true) if from_b.seal.draw() < from_a.seal.draw() => wins_b += 1,
                (true, _) => wins_a += 1,
                (false, true) => wins_b += 1,
            }
            break 'mining;
        }
    }
    let share = f64::from(wins_a) / f64::from(blocks);
    let sigma = (0.25f64 * 0.75 / f64::from(blocks)).sqrt();
    println!("A won {wins_a}, B won {wins_b}: A's share {share:.3} (fair 0.250 ± {sigma:.3})");
    assert!((share - 0.25).abs() < 4.0 * sigma, "share {share}");
}
