//! The ten funded devnet accounts, derived from the standard test mnemonic exactly as anvil and
//! Hardhat derive them (BIP-39 seed, BIP-32 path m/44'/60'/0'/0/i), so tools' defaults just work.

use alloy_primitives::Address;
use hmac::{Hmac, Mac};
use secp256k1::{Scalar, SecretKey};
use sha2::Sha512;

/// The mnemonic every Ethereum dev tool funds by default.
pub const TEST_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// A dev account: its key and address.
#[derive(Clone, Debug)]
pub struct DevAccount {
    pub secret: SecretKey,
    pub address: Address,
}

/// Derives the first `count` accounts of `mnemonic` at m/44'/60'/0'/0/i.
pub fn derive(mnemonic: &str, count: u32) -> Vec<DevAccount> {
    let mut seed = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<Sha512>(mnemonic.as_bytes(), b"mnemonic", 2048, &mut seed);
    let (master, chain_code) = split(hmac(b"Bitcoin seed", &seed));
    let hardened = |i: u32| i | 0x8000_0000;
    let mut node = (master, chain_code);
    for index in [hardened(44), hardened(60), hardened(0), 0] {
        node = child(node, index);
    }
    (0..count)
        .map(|i| {
            let (secret, _) = child(node, i);
            DevAccount {
                secret,
                address: crate::recovery::address_of(&secret),
            }
        })
        .collect()
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 64] {
    let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn split(bytes: [u8; 64]) -> (SecretKey, [u8; 32]) {
    let secret = SecretKey::from_byte_array(bytes[..32].try_into().unwrap())
        .expect("a BIP-32 key outside the curve order has probability 2^-127");
    (secret, bytes[32..].try_into().unwrap())
}

/// BIP-32 private child key derivation.
fn child((parent, chain_code): (SecretKey, [u8; 32]), index: u32) -> (SecretKey, [u8; 32]) {
    let mut data = Vec::with_capacity(37);
    if index & 0x8000_0000 != 0 {
        data.push(0);
        data.extend_from_slice(&parent.secret_bytes());
    } else {
        data.extend_from_slice(&parent.public_key(secp256k1::SECP256K1).serialize());
    }
    data.extend_from_slice(&index.to_be_bytes());
    let (tweak, chain_code) = split(hmac(&chain_code, &data));
    let child = parent
        .add_tweak(&Scalar::from(tweak))
        .expect("a zero BIP-32 child key has probability 2^-127");
    (child, chain_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_anvil_and_hardhat_accounts() {
        let accounts = derive(TEST_MNEMONIC, 10);
        assert_eq!(
            accounts[0].address.to_checksum(None),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            alloy_primitives::hex::encode(accounts[0].secret.secret_bytes()),
            "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
        );
        assert_eq!(
            accounts[9].address.to_checksum(None),
            "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"
        );
    }
}
