//! Private requests (the whitepaper's "private datagram requests"; DESIGN §6): parameters
//! sealed to the oracle enclave's key with HPKE (RFC 9180: X25519, HKDF-SHA256,
//! ChaCha20-Poly1305; a fresh encapsulated key per request), with associated data binding the
//! chain, the oracle contract, the requester and the kind, so that a ciphertext copied into
//! another account's request, or tampered with, does not open. The answer can be sealed to a
//! key the requester gives. Only ciphertext appears on chain.
//!
//! Layout: a private request has kind | [`PRIVATE`] and params
//! `abi.encode(address enclave, bytes encappedKey, bytes ciphertext)`; the plaintext is
//! `abi.encode(bytes params, bytes32 responseKey)` (zero: answer in the clear); a sealed
//! answer is `abi.encode(bytes encappedKey, bytes ciphertext)`.

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_sol_types::SolValue;
use hpke::{
    Deserializable, OpModeR, OpModeS, Serializable, aead::ChaCha20Poly1305, kdf::HkdfSha256,
    kem::X25519HkdfSha256,
};

/// The flag on a request's kind that marks its params as sealed.
pub const PRIVATE: u8 = 0x80;

type Kem = X25519HkdfSha256;
const REQUEST_INFO: &[u8] = b"ankr.oracle.private-request.v1";
const RESPONSE_INFO: &[u8] = b"ankr.oracle.private-response.v1";

/// Why a private request or answer did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivateError {
    #[error("malformed private params")]
    Malformed,
    #[error("sealed to another enclave ({0})")]
    OtherEnclave(Address),
    #[error("does not open: tampered with, or not this requester's")]
    DoesNotOpen,
}

/// An X25519 key pair for HPKE.
#[derive(Clone)]
pub struct EncryptionKey {
    secret: <Kem as hpke::Kem>::PrivateKey,
    public: <Kem as hpke::Kem>::PublicKey,
}

impl EncryptionKey {
    /// The key pair derived from `seed` (RFC 9180 DeriveKeyPair).
    pub fn derive(seed: &[u8]) -> Self {
        let (secret, public) = <Kem as hpke::Kem>::derive_keypair(seed);
        Self { secret, public }
    }

    /// A fresh random key pair.
    pub fn generate() -> Self {
        let (secret, public) = <Kem as hpke::Kem>::gen_keypair(
            &mut rand_core::TryRngCore::unwrap_err(rand_core::OsRng),
        );
        Self { secret, public }
    }

    pub fn public(&self) -> B256 {
        B256::from_slice(&self.public.to_bytes())
    }
}

fn request_aad(chain_id: u64, oracle: Address, requester: Address, kind: u8) -> Vec<u8> {
    (
        keccak256(REQUEST_INFO),
        U256::from(chain_id),
        oracle,
        requester,
        U256::from(kind),
    )
        .abi_encode_params()
}

fn response_aad(chain_id: u64, oracle: Address, id: u64) -> Vec<u8> {
    (
        keccak256(RESPONSE_INFO),
        U256::from(chain_id),
        oracle,
        U256::from(id),
    )
        .abi_encode_params()
}

fn seal(public: B256, info: &[u8], plaintext: &[u8], aad: &[u8]) -> (Bytes, Bytes) {
    let public = <Kem as hpke::Kem>::PublicKey::from_bytes(public.as_slice())
        .expect("32 bytes are an X25519 public key");
    let (encapped, ciphertext) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem, _>(
        &OpModeS::Base,
        &public,
        info,
        plaintext,
        aad,
        &mut rand_core::TryRngCore::unwrap_err(rand_core::OsRng),
    )
    .expect("sealing to a valid key does not fail");
    (encapped.to_bytes().to_vec().into(), ciphertext.into())
}

fn open(
    key: &EncryptionKey,
    info: &[u8],
    encapped: &[u8],
    ciphertext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, PrivateError> {
    let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(encapped)
        .map_err(|_| PrivateError::Malformed)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        &key.secret,
        &encapped,
        info,
        ciphertext,
        aad,
    )
    .map_err(|_| PrivateError::DoesNotOpen)
}

/// What a requester puts in a private request's params: `params` (of kind `kind`, without the
/// flag) sealed to the enclave, answer sealed to `response_key` if given.
#[allow(clippy::too_many_arguments)]
pub fn seal_request(
    enclave: Address,
    enclave_key: B256,
    chain_id: u64,
    oracle: Address,
    requester: Address,
    kind: u8,
    params: &[u8],
    response_key: Option<B256>,
) -> Vec<u8> {
    let plaintext = (
        Bytes::copy_from_slice(params),
        response_key.unwrap_or_default(),
    )
        .abi_encode_params();
    let aad = request_aad(chain_id, oracle, requester, kind | PRIVATE);
    let (encapped, ciphertext) = seal(enclave_key, REQUEST_INFO, &plaintext, &aad);
    (enclave, encapped, ciphertext).abi_encode_params()
}

/// The enclave a private request is sealed to.
pub fn sealed_to(params: &[u8]) -> Result<Address, PrivateError> {
    <(Address, Bytes, Bytes)>::abi_decode_params(params)
        .map(|(enclave, _, _)| enclave)
        .map_err(|_| PrivateError::Malformed)
}

/// Opens a private request for `enclave`: its inner params and the key to seal the answer to.
pub fn open_request(
    key: &EncryptionKey,
    enclave: Address,
    request: &crate::OracleRequest,
) -> Result<(Vec<u8>, Option<B256>), PrivateError> {
    let (to, encapped, ciphertext) = <(Address, Bytes, Bytes)>::abi_decode_params(&request.params)
        .map_err(|_| PrivateError::Malformed)?;
    if to != enclave {
        return Err(PrivateError::OtherEnclave(to));
    }
    let aad = request_aad(
        request.chain_id,
        request.oracle,
        request.requester,
        request.kind,
    );
    let plaintext = open(key, REQUEST_INFO, &encapped, &ciphertext, &aad)?;
    let (params, response_key) =
        <(Bytes, B256)>::abi_decode_params(&plaintext).map_err(|_| PrivateError::Malformed)?;
    Ok((
        params.to_vec(),
        (!response_key.is_zero()).then_some(response_key),
    ))
}

/// An answer sealed to the requester's `response_key`.
pub fn seal_response(
    response_key: B256,
    chain_id: u64,
    oracle: Address,
    id: u64,
    data: &[u8],
) -> Vec<u8> {
    let (encapped, ciphertext) = seal(
        response_key,
        RESPONSE_INFO,
        data,
        &response_aad(chain_id, oracle, id),
    );
    (encapped, ciphertext).abi_encode_params()
}

/// Opens an answer sealed with [`seal_response`].
pub fn open_response(
    key: &EncryptionKey,
    chain_id: u64,
    oracle: Address,
    id: u64,
    sealed: &[u8],
) -> Result<Vec<u8>, PrivateError> {
    let (encapped, ciphertext) =
        <(Bytes, Bytes)>::abi_decode_params(sealed).map_err(|_| PrivateError::Malformed)?;
    open(
        key,
        RESPONSE_INFO,
        &encapped,
        &ciphertext,
        &response_aad(chain_id, oracle, id),
    )
}
