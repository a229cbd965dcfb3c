//! The Native Oracle as a user meets it: `ankr devnet` registers its oracle enclave through
//! the attestation service, its example consumer gets the price over HTTPS within a few
//! blocks, and `ankr oracle request` / `status` fetch a value from the devnet's MLS-style
//! listing and read the answer back, in the clear and as a private (HPKE-sealed) request.

mod common;

use common::*;
use std::time::{Duration, Instant};

#[test]
fn the_devnet_oracle_answers_its_consumer_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (_devnet, received) = spawn_with_lines(devnet(dir.path(), port, 1));
    let mut listing = None;
    let mut enclave = None;
    let deadline = Instant::now() + Duration::from_secs(120);
    // The demonstration's answer may come before the banner (which waits for the child
    // chains) or after it: read until both are seen.
    let mut demo = None;
    let demo = loop {
        let line = received
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the devnet's oracle example never answered");
        if let Some(url) = line
            .split_whitespace()
            .find(|w| w.starts_with("https://") && w.ends_with("/mls/listing-1001.xml"))
        {
            listing = Some(url.to_string());
        }
        if let Some(rest) = line.split("relay with enclave ").nth(1) {
            enclave = rest.split_whitespace().next().map(str::to_string);
        }
        if line.contains("oracle: PriceConsumer") || line.contains("oracle: the example") {
            demo = Some(line);
        }
        if let (Some(demo), Some(_), Some(_)) = (&demo, &listing, &enclave) {
            break demo.clone();
        }
    };
    assert!(
        demo.contains("PriceConsumer received ANKR/USD = 31234"),
        "{demo}"
    );
    let listing = listing.expect("the banner names the listing feed");
    let enclave = enclave.expect("the banner names the oracle enclave");

    let rpc = format!("http://127.0.0.1:{port}");
    let key = alloy_primitives::hex::encode(ankr_node::devnet::accounts()[7].secret.secret_bytes());
    // In the clear, then sealed to the enclave's published key (the relay publishes it once the
    // enclave is registered, so the first attempts may find no key yet).
    for private in [false, true] {
        let mut id = None;
        wait_until("the request is accepted", Duration::from_secs(30), || {
            let mut request = ankr();
            request
                .args(["oracle", "--rpc", &rpc, "--key", &key, "request"])
                .args(["--kind", "xml", "--url", &listing])
                .args(["--path", "/listing/price", "--type", "uint256"]);
            if private {
                request.args(["--private-to", &enclave]);
            }
            let asked = request.output().unwrap();
            let asked = String::from_utf8_lossy(&asked.stdout).to_string();
            id = asked
                .strip_prefix("request ")
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string);
            id.is_some()
        });
        let id = id.unwrap();
        wait_until(
            "the CLI's request is answered",
            Duration::from_secs(60),
            || {
                let status = ankr()
                    .args(["oracle", "--rpc", &rpc, "status", &id])
                    .output()
                    .unwrap();
                let status = String::from_utf8_lossy(&status.stdout).to_string();
                status.contains("delivered") && status.contains("as a number: 450000")
            },
        );
    }
}
