//! The node's libp2p identity: its key file, and the peer id a `/p2p/…` address names.

use crate::NetworkError;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use std::path::Path;

/// Loads the node key from `path`, or makes one there.
pub(crate) fn load_or_create_key(path: &Path) -> Result<Keypair, NetworkError> {
    let error = |source| NetworkError::Key {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => Keypair::from_protobuf_encoding(&bytes)
            .map_err(|e| error(std::io::Error::new(std::io::ErrorKind::InvalidData, e))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = Keypair::generate_ed25519();
            let bytes = key
                .to_protobuf_encoding()
                .map_err(|e| error(std::io::Error::other(e)))?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(error)?;
            }
            std::fs::write(path, bytes).map_err(error)?;
            Ok(key)
        }
        Err(e) => Err(error(e)),
    }
}

/// The peer id at the end of a `/p2p/…` multiaddr.
pub(crate) fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}
