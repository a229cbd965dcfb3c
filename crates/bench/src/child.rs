//! EVM child-chain throughput end to end (DESIGN §8): the same signed transfers through
//! JSON-RPC until their receipts exist, on a main-chain node dev-sealed every second and on an
//! e-commerce child chain (operator-sealed every second, 150 M gas blocks) in the same run.
//! The child chain's advantage is its profile — blocks sized for its traffic, no useful work
//! to wait for — not different code: both run the same storage, execution, pool and RPC.

use alloy_primitives::{Address, U256};
use ankr_child::{ChildConfig, ChildNode, Profile, Role};
use ankr_types::{GenesisAccount, recovery::address_of};
use std::time::Duration;

use crate::fixtures::{CHAIN_ID, key, spec};
use crate::measure::rate;
use crate::rpc::{rpc_forms, to_receipts, transfers};

/// The child chain's operator key (not among the senders).
fn operator_key() -> secp256k1::SecretKey {
    key(usize::MAX - 1)
}

pub(crate) async fn run(n: usize) -> anyhow::Result<()> {
    println!(
        "== child chain: {n} signed transfers through JSON-RPC until their receipts exist, main chain and e-commerce child chain, blocks every second"
    );
    let (senders, txs) = transfers(n);
    let (raws, hashes) = rpc_forms(&txs);

    let main_dir = tempfile::tempdir()?;
    let main = ankr_node::Node::start(ankr_node::NodeConfig {
        operator: None,
        data_dir: main_dir.path().to_path_buf(),
        spec: spec(&senders, 30_000_000),
        rpc_addr: "127.0.0.1:0".parse()?,
        sealing: ankr_node::DevSealing::Interval(Duration::from_secs(1)),
        beneficiary: Address::repeat_byte(0xbe),
        mining: None,
        network: None,
        pool: Default::default(),
    })
    .await?;
    let (_, on_main) = to_receipts(&main.rpc_url(), &raws, &hashes).await?;
    main.stop().await;

    let child_dir = tempfile::tempdir()?;
    let funded = senders.iter().map(|a| {
        let account = GenesisAccount {
            balance: U256::from(1000u128 * 10u128.pow(18)),
            ..Default::default()
        };
        (*a, account)
    });
    // The transactions are signed for the bench's chain id: the child chain takes it as its own.
    let child_spec =
        Profile::ECommerce.spec(CHAIN_ID, address_of(&operator_key()), funded.collect());
    let child = ChildNode::start(ChildConfig {
        data_dir: child_dir.path().to_path_buf(),
        spec: child_spec,
        rpc_addr: "127.0.0.1:0".parse()?,
        role: Role::Operator {
            key: operator_key(),
            main: None,
        },
        network: None,
        pool: Default::default(),
    })
    .await?;
    let (_, on_child) = to_receipts(&child.rpc_url(), &raws, &hashes).await?;
    child.stop().await;

    println!(
        "  {:<34} {:>12.0} tx/s",
        "main chain (30 M gas a second)",
        rate(n, on_main)
    );
    println!(
        "  {:<34} {:>12.0} tx/s",
        "e-commerce child (150 M gas a second)",
        rate(n, on_child)
    );
    println!(
        "  ratio child / main {:.2}\n",
        on_main.as_secs_f64() / on_child.as_secs_f64()
    );
    Ok(())
}
