//! A PoUW network assembled by hand from the command line, as an operator would: the
//! attestation service, an enclave, a chain spec that trusts both, and `ankr node --mine`
//! (`common::PouwNetwork`). The node mines, is killed with SIGKILL, and resumes mining on the
//! same chain.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn an_operator_assembles_a_pouw_chain_and_the_miner_survives_sigkill() {
    let network = PouwNetwork::new(1);
    let node = network.start_miner(0, &[], &[]);
    wait_until("block 3", Duration::from_secs(90), || {
        block_number(node.rpc).unwrap_or(0) >= 3
    });
    let before = block_number(node.rpc).unwrap();
    let hash = block_hash(node.rpc, before).unwrap();
    drop(node); // SIGKILL, whatever it was doing
    let node = network.start_miner(0, &[], &[]);
    assert_eq!(
        block_hash(node.rpc, before),
        Some(hash),
        "the chain survived"
    );
    wait_until("mining resumes", Duration::from_secs(90), || {
        block_number(node.rpc).unwrap_or(0) >= before + 2
    });
}
