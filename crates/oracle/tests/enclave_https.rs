//! The oracle enclave against a real HTTPS server on 127.0.0.1 with its own CA: values come
//! out typed and signed; every failure becomes the right response code; a source whose CA is
//! not trusted, a plain-http URL, an oversized body or a slow source never yield data.

use alloy_primitives::{Address, U256, keccak256};
use alloy_sol_types::SolValue;
use ankr_oracle::datagram::{OracleRequest, code, datagram_digest, kind};
use ankr_oracle::extract::ValueQuery;
use ankr_oracle::source::{LocalSource, Route};
use ankr_oracle::{FetchLimits, OracleEnclave};
use std::collections::HashMap;
use std::time::Duration;

fn json(body: &str) -> Route {
    Route::Document {
        content_type: "application/json",
        body: body.as_bytes().to_vec(),
    }
}

async fn source(dir: &std::path::Path) -> LocalSource {
    let routes = HashMap::from([
        (
            "/price".to_string(),
            json(r#"{"ankr":{"usd":"0.0312"},"ts":1700000000}"#),
        ),
        (
            "/listing.xml".to_string(),
            Route::Document {
                content_type: "application/xml",
                body: br#"<listing id="77"><price currency="USD">450000</price></listing>"#
                    .to_vec(),
            },
        ),
        ("/moved".to_string(), Route::Redirect("/price".to_string())),
        ("/secret".to_string(), Route::Status(403)),
        ("/slow".to_string(), Route::Slow(Duration::from_secs(5))),
        (
            "/huge".to_string(),
            json(&format!("\"{}\"", "x".repeat(300_000))),
        ),
    ]);
    LocalSource::start(dir, routes).await.unwrap()
}

/// The account the answers are signed for.
const RELAY: Address = Address::repeat_byte(0x4e);

fn request(id: u64, kind: u8, params: Vec<u8>) -> OracleRequest {
    OracleRequest {
        chain_id: 42424,
        oracle: Address::repeat_byte(0x0a),
        id,
        requester: Address::repeat_byte(0x0c),
        kind,
        params,
    }
}

fn value(url: String, path: &str, result_type: &str, decimals: u8) -> Vec<u8> {
    ValueQuery {
        url,
        path: path.into(),
        result_type: result_type.into(),
        decimals,
    }
    .encode()
}

#[tokio::test]
async fn the_enclave_fetches_over_https_and_signs_typed_values_or_error_codes() {
    let dir = tempfile::tempdir().unwrap();
    let source = source(dir.path()).await;
    let limits = FetchLimits {
        timeout: Duration::from_secs(2),
        max_bytes: 100_000,
        max_redirects: 3,
        // The source is on loopback.
        allow_private_addresses: true,
    };
    let key = secp256k1::SecretKey::from_byte_array(keccak256("oracle test").0).unwrap();
    let enclave = OracleEnclave::new(
        key,
        keccak256("platform"),
        &[source.ca_file.as_path()],
        limits,
    )
    .unwrap();

    // A JSON value scaled to an integer, signed over exactly what the contract checks.
    let price = request(
        1,
        kind::JSON,
        value(source.url("/price"), "$.ankr.usd", "uint256", 6),
    );
    let answer = enclave.answer(&price, RELAY).await;
    assert_eq!(answer.code, code::OK);
    assert_eq!(U256::abi_decode(&answer.data).unwrap(), U256::from(31_200));
    let digest = datagram_digest(
        42424,
        price.oracle,
        1,
        price.params_hash(),
        0,
        &answer.data,
        RELAY,
    );
    assert_eq!(
        ankr_pouw::signing::recover(digest, &answer.signature),
        Some(enclave.address())
    );

    // XML, an attribute, a followed redirect, a whole document.
    let xml = request(
        2,
        kind::XML,
        value(source.url("/listing.xml"), "/listing/price", "uint256", 0),
    );
    assert_eq!(
        U256::abi_decode(&enclave.answer(&xml, RELAY).await.data).unwrap(),
        U256::from(450_000)
    );
    let attr = request(
        3,
        kind::XML,
        value(
            source.url("/listing.xml"),
            "/listing/price/@currency",
            "string",
            0,
        ),
    );
    assert_eq!(
        String::abi_decode(&enclave.answer(&attr, RELAY).await.data).unwrap(),
        "USD"
    );
    let moved = request(
        4,
        kind::JSON,
        value(source.url("/moved"), "$.ts", "uint256", 0),
    );
    assert_eq!(
        U256::abi_decode(&enclave.answer(&moved, RELAY).await.data).unwrap(),
        U256::from(1_700_000_000u64)
    );
    let document = request(5, kind::DOCUMENT, source.url("/listing.xml").abi_encode());
    let whole = enclave.answer(&document, RELAY).await;
    assert_eq!(whole.code, code::OK);
    let text = alloy_primitives::Bytes::abi_decode(&whole.data).unwrap();
    assert!(String::from_utf8(text.to_vec()).unwrap().contains("450000"));

    // Every failure is a code with no data.
    let cases = [
        (
            value(source.url("/nowhere"), "$.a", "uint256", 0),
            code::NOT_FOUND,
        ),
        (
            value(source.url("/price"), "$.ankr.eur", "uint256", 0),
            code::NOT_FOUND,
        ),
        (
            value(source.url("/secret"), "$.a", "uint256", 0),
            code::FORBIDDEN,
        ),
        (
            value(source.url("/slow"), "$.a", "uint256", 0),
            code::SOURCE_TIMEOUT,
        ),
        (
            value(source.url("/huge"), "$", "string", 0),
            code::TOO_LARGE,
        ),
        (
            value(source.url("/price"), "$.ankr.usd", "float", 0),
            code::BAD_REQUEST,
        ),
        (
            value(
                source.url("/price").replace("https", "http"),
                "$.a",
                "uint256",
                0,
            ),
            code::BAD_REQUEST,
        ),
        (b"not abi".to_vec(), code::BAD_REQUEST),
    ];
    for (i, (params, expected)) in cases.into_iter().enumerate() {
        let answer = enclave
            .answer(&request(10 + i as u64, kind::JSON, params), RELAY)
            .await;
        assert_eq!(answer.code, expected, "case {i}");
        assert!(answer.data.is_empty());
    }

    // An enclave that does not trust the source's CA gets no data: an oracle fault (refund).
    let stranger = OracleEnclave::new(key, keccak256("platform"), &[], limits).unwrap();
    let refused = stranger.answer(&price, RELAY).await;
    assert_eq!(refused.code, code::SOURCE_UNREACHABLE);
    assert!(refused.code >= code::FIRST_FAULT);
}

/// Audit item 16: a request naming the relay host's own services (loopback, by address or by
/// name) or its private network is refused with "forbidden"
/// unless the relay's operator allows private sources; nothing is fetched.
#[tokio::test]
async fn attack_16_the_enclave_refuses_loopback_and_private_sources_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let source = source(dir.path()).await;
    let key = secp256k1::SecretKey::from_byte_array(keccak256("careful oracle").0).unwrap();
    let careful = OracleEnclave::new(
        key,
        keccak256("platform"),
        &[source.ca_file.as_path()],
        FetchLimits::default(),
    )
    .unwrap();
    let port = source
        .url("/")
        .split(':')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    for (i, url) in [
        source.url("/price"),
        format!("https://localhost:{port}/price"),
        format!("https://[::1]:{port}/price"),
        "https://10.0.0.1/price".to_string(),
        "https://169.254.169.254/latest/meta-data".to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        let params = value(url.clone(), "$.ankr.usd", "uint256", 6);
        let answer = careful
            .answer(&request(i as u64 + 1, kind::JSON, params), RELAY)
            .await;
        assert_eq!(answer.code, code::FORBIDDEN, "{url}");
        assert!(answer.data.is_empty());
    }
    // The same source when the relay's operator allows private sources.
    let allowing = OracleEnclave::new(
        key,
        keccak256("platform"),
        &[source.ca_file.as_path()],
        FetchLimits {
            allow_private_addresses: true,
            ..FetchLimits::default()
        },
    )
    .unwrap();
    let params = value(
        format!("https://localhost:{port}/price"),
        "$.ankr.usd",
        "uint256",
        6,
    );
    let answer = allowing
        .answer(&request(9, kind::JSON, params), RELAY)
        .await;
    assert_eq!(answer.code, code::OK);
}

#[tokio::test]
async fn private_requests_open_only_for_their_requester_and_answers_only_for_theirs() {
    use ankr_oracle::private::{self, EncryptionKey, PRIVATE};
    let dir = tempfile::tempdir().unwrap();
    let source = source(dir.path()).await;
    let key = secp256k1::SecretKey::from_byte_array(keccak256("private oracle").0).unwrap();
    let enclave = OracleEnclave::new(
        key,
        keccak256("platform"),
        &[source.ca_file.as_path()],
        FetchLimits {
            allow_private_addresses: true,
            ..FetchLimits::default()
        },
    )
    .unwrap();
    let inner = value(source.url("/price"), "$.ankr.usd", "uint256", 6);
    let requester = Address::repeat_byte(0x0c);
    let sealed = |response_key| {
        private::seal_request(
            enclave.address(),
            enclave.encryption_key(),
            42424,
            Address::repeat_byte(0x0a),
            requester,
            kind::JSON,
            &inner,
            response_key,
        )
    };
    // Only ciphertext: the URL is nowhere in the params.
    let params = sealed(None);
    let url = source.url("/price");
    assert!(!params.windows(url.len()).any(|w| w == url.as_bytes()));
    let request = request(1, kind::JSON | PRIVATE, params.clone());
    assert!(enclave.serves(&request));
    let answer = enclave.answer(&request, RELAY).await;
    assert_eq!(answer.code, code::OK);
    assert_eq!(U256::abi_decode(&answer.data).unwrap(), U256::from(31_200));

    // The answer sealed to the requester's key opens with it, and only with it.
    let mine = EncryptionKey::generate();
    let request = self::request(2, kind::JSON | PRIVATE, sealed(Some(mine.public())));
    let answer = enclave.answer(&request, RELAY).await;
    assert_eq!(answer.code, code::OK);
    let opened =
        private::open_response(&mine, 42424, Address::repeat_byte(0x0a), 2, &answer.data).unwrap();
    assert_eq!(U256::abi_decode(&opened).unwrap(), U256::from(31_200));
    assert!(
        private::open_response(
            &EncryptionKey::generate(),
            42424,
            Address::repeat_byte(0x0a),
            2,
            &answer.data
        )
        .is_err()
    );

    // Copied into another account's request, or tampered with: it does not open.
    let replayed = OracleRequest {
        requester: Address::repeat_byte(0x0d),
        ..self::request(3, kind::JSON | PRIVATE, params.clone())
    };
    assert_eq!(
        enclave.answer(&replayed, RELAY).await.code,
        code::BAD_REQUEST
    );
    let (to, encapped, ciphertext) =
        <(Address, alloy_primitives::Bytes, alloy_primitives::Bytes)>::abi_decode_params(&params)
            .unwrap();
    let mut flipped = ciphertext.to_vec();
    flipped[0] ^= 1;
    let tampered = (to, encapped, alloy_primitives::Bytes::from(flipped)).abi_encode_params();
    assert_eq!(
        enclave
            .answer(&self::request(4, kind::JSON | PRIVATE, tampered), RELAY)
            .await
            .code,
        code::BAD_REQUEST
    );
    // Sealed to another enclave: not this one's to answer.
    let other = private::seal_request(
        Address::repeat_byte(0x77),
        EncryptionKey::generate().public(),
        42424,
        Address::repeat_byte(0x0a),
        requester,
        kind::JSON,
        &inner,
        None,
    );
    assert!(!enclave.serves(&self::request(5, kind::JSON | PRIVATE, other)));
}
