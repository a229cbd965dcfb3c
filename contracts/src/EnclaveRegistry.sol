// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Signatures} from "./Signatures.sol";

/// @title EnclaveRegistry
/// @notice Which useful-work enclaves may seal blocks (DESIGN §4.2, after Sawtooth PoET).
/// An enclave registers with a certificate from the attestation service: the service's root
/// signed {enclave, measurement, platform id, nonce}, the nonce being one of the last 10 block
/// hashes (so certificates cannot be stockpiled). The measurement must be allowed; a platform
/// has one live enclave (a new registration replaces the old one); a registration lasts
/// `registrationPeriod` blocks, then the enclave must register again with a fresh certificate.
/// Consensus reads `isLive` and `livePlatforms` with read-only system calls.
/// Enclaves on ankr today are SIMULATED (DESIGN §2): the certificates are real signatures,
/// the hardware behind them is not.
/// @dev Storage layout is fixed: genesis writes slots 0-8 directly (ankr-contracts'
/// `enclave_registry_genesis`). Append new state after slot 9 only.
contract EnclaveRegistry {
    bytes32 public constant ATTESTATION_DOMAIN = keccak256("ankr.attestation.v1");
    uint256 public constant NONCE_WINDOW = 10;

    /// slot 0: the attestation service's root address.
    address public attestationRoot;
    /// slot 1: K, blocks a registration stays valid.
    uint256 public registrationPeriod;
    /// slot 2: what enclaves of a measurement (code hash) are admitted as: 0 not at all,
    /// ROLE_USEFUL_WORK (sealing blocks), ROLE_ORACLE (signing Native Oracle datagrams).
    mapping(bytes32 => uint8) public measurementRole;
    /// slot 3: the platform an enclave was certified on (zero: never registered).
    mapping(address => bytes32) public platformOf;
    /// slot 4: the block an enclave's current registration was made in.
    mapping(address => uint256) public registeredAt;
    /// slot 5: the one enclave a platform may seal with.
    mapping(bytes32 => address) public enclaveOfPlatform;
    /// slot 6: every platform ever registered, for the population the z-test needs.
    bytes32[] public platforms;
    /// slot 7: whether a platform is in `platforms`.
    mapping(bytes32 => bool) public knownPlatform;
    /// slot 8: the block an oracle enclave's registration ends at (oracle enclaves never seal
    /// blocks, so they stay out of the platform bookkeeping consensus reads).
    mapping(address => uint256) public oracleExpiresAt;
    /// slot 9: one past the block whose hash was the nonce of a platform's latest useful-work
    /// certificate: a certificate must be newer than that, so that an older one replayed
    /// within the nonce window cannot swap the platform back to an enclave it replaced.
    mapping(bytes32 => uint256) public certifiedAfter;

    uint8 public constant ROLE_USEFUL_WORK = 1;
    uint8 public constant ROLE_ORACLE = 2;

    event EnclaveRegistered(
        address indexed enclave, bytes32 indexed platformId, bytes32 measurement, address replaced, uint256 expiresAt
    );

    event OracleEnclaveRegistered(
        address indexed enclave, bytes32 indexed platformId, bytes32 measurement, uint256 expiresAt
    );

    /// Registers (or re-registers) `enclave` with a certificate from the attestation service.
    /// @param enclaveSig the enclave's own signature of the digest (it holds the key)
    /// @param rootSig the attestation root's signature of the same digest
    function register(
        address enclave,
        bytes32 measurement,
        bytes32 platformId,
        bytes32 nonce,
        bytes calldata enclaveSig,
        bytes calldata rootSig
    ) external {
        require(platformId != bytes32(0), "EnclaveRegistry: zero platform id");
        uint8 role = measurementRole[measurement];
        require(role != 0, "EnclaveRegistry: measurement not allowed");
        uint256 nonceBlock = recentBlockOf(nonce);
        _verifyCertificate(enclave, measurement, platformId, nonce, enclaveSig, rootSig);
        if (role == ROLE_ORACLE) {
            oracleExpiresAt[enclave] = block.number + registrationPeriod;
            emit OracleEnclaveRegistered(enclave, platformId, measurement, block.number + registrationPeriod);
            return;
        }
        bytes32 previousPlatform = platformOf[enclave];
        require(
            previousPlatform == bytes32(0) || previousPlatform == platformId,
            "EnclaveRegistry: enclave is registered on another platform"
        );
        require(nonceBlock + 1 > certifiedAfter[platformId], "EnclaveRegistry: certificate older than the platform's latest");
        certifiedAfter[platformId] = nonceBlock + 1;
        address replaced = enclaveOfPlatform[platformId];
        platformOf[enclave] = platformId;
        registeredAt[enclave] = block.number;
        enclaveOfPlatform[platformId] = enclave;
        if (!knownPlatform[platformId]) {
            knownPlatform[platformId] = true;
            platforms.push(platformId);
        }
        emit EnclaveRegistered(
            enclave, platformId, measurement, replaced == enclave ? address(0) : replaced, block.number + registrationPeriod
        );
    }

    /// Whether `enclave` may seal block `blockNumber`, its platform and the block its
    /// registration expires at.
    function isLive(address enclave, uint256 blockNumber)
        public
        view
        returns (bool live, bytes32 platformId, uint256 expiresAt)
    {
        platformId = platformOf[enclave];
        expiresAt = registeredAt[enclave] + registrationPeriod;
        live = platformId != bytes32(0) && enclaveOfPlatform[platformId] == enclave && blockNumber < expiresAt;
    }

    /// Whether `enclave` may sign Native Oracle datagrams now.
    function isLiveOracle(address enclave) external view returns (bool) {
        return block.number < oracleExpiresAt[enclave];
    }

    /// How many platforms have a live enclave at `blockNumber`.
    function livePlatforms(uint256 blockNumber) external view returns (uint256 count) {
        for (uint256 i = 0; i < platforms.length; i++) {
            (bool live,,) = isLive(enclaveOfPlatform[platforms[i]], blockNumber);
            if (live) count++;
        }
    }

    /// Every platform with its current enclave, for `ankr_pouwStatus`.
    function allPlatforms() external view returns (bytes32[] memory ids, address[] memory enclaves) {
        ids = platforms;
        enclaves = new address[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            enclaves[i] = enclaveOfPlatform[ids[i]];
        }
    }

    /// The number of the block whose hash is `nonce`; reverts unless it is one of the last
    /// `NONCE_WINDOW`.
    function recentBlockOf(bytes32 nonce) internal view returns (uint256) {
        for (uint256 i = 1; i <= NONCE_WINDOW && i <= block.number; i++) {
            if (blockhash(block.number - i) == nonce) return block.number - i;
        }
        revert("EnclaveRegistry: nonce is not one of the last 10 block hashes");
    }

    /// The attestation root certified the quote, and the enclave signed it.
    function _verifyCertificate(
        address enclave,
        bytes32 measurement,
        bytes32 platformId,
        bytes32 nonce,
        bytes calldata enclaveSig,
        bytes calldata rootSig
    ) internal view {
        bytes32 digest = keccak256(abi.encode(ATTESTATION_DOMAIN, enclave, measurement, platformId, nonce));
        require(Signatures.recover(digest, rootSig) == attestationRoot, "EnclaveRegistry: certificate not signed by the attestation root");
        require(Signatures.recover(digest, enclaveSig) == enclave, "EnclaveRegistry: quote not signed by the enclave");
    }
}
