//! Child blocks over libp2p gossipsub ("the block is then propagated to the network through
//! gossip protocol"): the operator publishes each block on its chain's topic; watchers dial
//! it (or each other) and receive every block as it is made. TCP + noise + yamux, like the
//! main network; messages are a block's number and transactions, JSON-encoded, signed by the
//! operator's key. Anyone can join a topic, so a receiver keeps only blocks its RootChain's
//! owner signed and tells gossipsub to drop the rest (not forwarded to other watchers): a
//! stranger can neither fill a watcher's memory with blocks nor crowd out the operator's.

use alloy_primitives::{Address, B256, Bytes, keccak256};
use ankr_plasma::transaction::{RawSignature, recover};
use ankr_plasma::{ChildBlock, MerkleTree};
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, identity::Keypair, noise};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The gossip topic of one child chain's blocks, named by its RootChain.
pub fn topic(root_chain: Address) -> IdentTopic {
    IdentTopic::new(format!("/ankr/plasma/{root_chain}/blocks/1"))
}

/// A child block as gossiped: its transactions, with the operator's signature over
/// (RootChain, number, Merkle root).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SignedBlock {
    pub number: u64,
    pub transactions: Vec<Bytes>,
    pub signature: Bytes,
}

/// What an operator signs to announce a block: keccak256("ankr plasma block" ‖ RootChain ‖
/// number as 32 bytes ‖ Merkle root). Naming the RootChain keeps one chain's announcements
/// from being replayed on another's topic.
pub fn announcement_hash(root_chain: Address, number: u64, merkle_root: B256) -> B256 {
    keccak256(
        [
            b"ankr plasma block".as_slice(),
            root_chain.as_slice(),
            B256::left_padding_from(&number.to_be_bytes()).as_slice(),
            merkle_root.as_slice(),
        ]
        .concat(),
    )
}

impl SignedBlock {
    /// `root_chain`'s child block, signed with its operator's key.
    pub fn of_block(root_chain: Address, block: &ChildBlock, key: &secp256k1::SecretKey) -> Self {
        let transactions = block
            .transactions
            .iter()
            .map(|tx| tx.encode().into())
            .collect();
        Self::sign(
            root_chain,
            block.number,
            transactions,
            block.merkle_root(),
            key,
        )
    }

    fn sign(
        root_chain: Address,
        number: u64,
        transactions: Vec<Bytes>,
        merkle_root: B256,
        key: &secp256k1::SecretKey,
    ) -> Self {
        let hash = announcement_hash(root_chain, number, merkle_root);
        let signature = ankr_types::recovery::sign_hash(key, hash).as_bytes();
        Self {
            number,
            transactions,
            signature: Bytes::copy_from_slice(&signature),
        }
    }

    /// Who signed it for `root_chain`; `None` for a block too big for the tree or a signature
    /// that does not recover.
    pub fn signer(&self, root_chain: Address) -> Option<Address> {
        let tree = MerkleTree::new(self.transactions.iter().map(keccak256).collect()).ok()?;
        let signature: RawSignature = self.signature.as_ref().try_into().ok()?;
        recover(
            announcement_hash(root_chain, self.number, tree.root()),
            &signature,
        )
    }
}

/// A running gossip node: send blocks to publish, receive the operator's blocks others
/// published.
pub struct Gossip {
    pub listen_addr: Multiaddr,
    pub publish: mpsc::UnboundedSender<SignedBlock>,
    pub received: mpsc::UnboundedReceiver<SignedBlock>,
    /// Messages dropped: not a block, or not signed by the operator.
    pub rejected: Arc<AtomicU64>,
}

/// Starts a gossip node on `listen` for `root_chain`'s blocks, dialling `peers`; it delivers
/// only blocks signed by `operator` (the RootChain's owner).
pub async fn start(
    root_chain: Address,
    operator: Address,
    listen: Multiaddr,
    peers: Vec<Multiaddr>,
    mut stopped: watch::Receiver<bool>,
) -> Result<Gossip, String> {
    let key = Keypair::generate_ed25519();
    let config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(Duration::from_millis(200))
        .max_transmit_size(super::MAX_BLOCK_MESSAGE_BYTES as usize)
        .validate_messages()
        .message_id_fn(|message| MessageId::from(keccak256(&message.data).to_vec()))
        .build()
        .map_err(|e| e.to_string())?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_behaviour(|key| {
            gossipsub::Behaviour::<
                gossipsub::IdentityTransform,
                gossipsub::AllowAllSubscriptionFilter,
            >::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)
            .map_err(|e| e.to_string().into())
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    let topic = topic(root_chain);
    swarm
        .behaviour_mut()
        .subscribe(&topic)
        .map_err(|e| e.to_string())?;
    swarm.listen_on(listen).map_err(|e| e.to_string())?;
    let listen_addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    for peer in &peers {
        swarm.dial(peer.clone()).map_err(|e| e.to_string())?;
    }
    let (publish, mut to_publish) = mpsc::unbounded_channel::<SignedBlock>();
    let (deliver, received) = mpsc::unbounded_channel();
    let rejected = Arc::new(AtomicU64::new(0));
    let rejections = rejected.clone();
    tokio::spawn(async move {
        let mut redial = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = stopped.changed() => return,
                _ = redial.tick() => {
                    if swarm.connected_peers().next().is_none() {
                        for peer in &peers {
                            let _ = swarm.dial(peer.clone());
                        }
                    }
                }
                Some(block) = to_publish.recv() => {
                    let bytes = serde_json::to_vec(&block).expect("blocks serialise");
                    if let Err(error) = swarm.behaviour_mut().publish(topic.clone(), bytes) {
                        tracing::debug!(%error, "child block not gossiped (no peers yet)");
                    }
                }
                event = swarm.select_next_some() => {
                    if let SwarmEvent::Behaviour(gossipsub::Event::Message {
                        propagation_source,
                        message_id,
                        message,
                    }) = event
                    {
                        let block = serde_json::from_slice::<SignedBlock>(&message.data)
                            .ok()
                            .filter(|block| block.signer(root_chain) == Some(operator));
                        let verdict = if block.is_some() {
                            MessageAcceptance::Accept
                        } else {
                            rejections.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(peer = %propagation_source, "dropped a gossip message that is not a block signed by the operator");
                            MessageAcceptance::Reject
                        };
                        swarm.behaviour_mut().report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            verdict,
                        );
                        if let Some(block) = block {
                            let _ = deliver.send(block);
                        }
                    }
                }
            }
        }
    });
    Ok(Gossip {
        listen_addr,
        publish,
        received,
        rejected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_operators_signature_over_these_transactions_recovers_the_operator() {
        let operator = secp256k1::SecretKey::from_byte_array([7; 32]).unwrap();
        let stranger = secp256k1::SecretKey::from_byte_array([8; 32]).unwrap();
        let root_chain = Address::repeat_byte(0xaa);
        let txs = vec![Bytes::from_static(b"one"), Bytes::from_static(b"two")];
        let root = MerkleTree::new(txs.iter().map(keccak256).collect())
            .unwrap()
            .root();
        let signed = SignedBlock::sign(root_chain, 1000, txs.clone(), root, &operator);
        let operator = ankr_types::recovery::address_of(&operator);
        assert_eq!(signed.signer(root_chain), Some(operator));

        let mut other_txs = signed.clone();
        other_txs.transactions[1] = Bytes::from_static(b"three");
        let mut other_number = signed.clone();
        other_number.number = 2000;
        let by_stranger = SignedBlock::sign(root_chain, 1000, txs, root, &stranger);
        let mut garbled = signed.clone();
        garbled.signature = Bytes::from_static(&[1; 64]);
        for forged in [other_txs, other_number, by_stranger, garbled] {
            assert_ne!(forged.signer(root_chain), Some(operator), "{forged:?}");
        }
        assert_ne!(signed.signer(Address::repeat_byte(0xbb)), Some(operator));
    }
}
