// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Signatures
/// @notice ecrecover over r ‖ s ‖ v as ankr's enclaves and attestation service sign
/// (ankr_pouw::signing), refusing malformed and high-s (malleable) signatures.
library Signatures {
    uint256 private constant HALF_ORDER =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// The signer of `digest`, or address(0) if `sig` is not a valid low-s signature.
    function recover(bytes32 digest, bytes calldata sig) internal pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }

    /// The same over a signature already split into r, s and v.
    function recover(bytes32 digest, bytes32 r, bytes32 s, uint8 v) internal pure returns (address) {
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }
}
