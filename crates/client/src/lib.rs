//! Talking to a node from outside it: what the Plasma operator and watcher, the oracle relay,
//! miners and the `ankr` client commands share.
//!
//! [`MainChain`] reads the chain through the typed [`eth::EthApiClient`] declaration (alloy's RPC
//! types); a [`Sender`] owns an account's key, nonce and fees (the one fee rule,
//! `ankr_types::fees::Fees`); [`attest`] is the attestation service's API, server and client
//! from one declaration.

pub mod attest;
pub mod eth;
pub mod main_chain;
pub mod sender;

pub use main_chain::{ClientError, Log, MainChain, receipt_events};
pub use sender::{Sender, Sent};
