//! Plasma child chains beside a node (DESIGN §5): the operator that makes a child chain's
//! blocks, the watcher that checks them for its user, the client the `ankr plasma` commands
//! use, and the child chain's own storage and block gossip.

pub mod client;
pub mod gossip;
pub mod operator;
pub mod store;
pub mod watcher;
