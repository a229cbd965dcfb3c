// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Signatures} from "./Signatures.sol";

/// @title PlasmaTransaction
/// @notice The child-chain transaction and block of `crates/plasma`, read by the root chain from
/// exactly the bytes the operator hashes: RLP `[blknum1, txindex1, oindex1, sig1, blknum2,
/// txindex2, oindex2, sig2, newowner1, denom1, newowner2, denom2, fee]`. `decode` accepts what
/// `ankr_plasma::PlasmaTx::decode` accepts and nothing else (canonical RLP, integers without
/// leading zeros and within u64 / u32 / u8 / u256, 65-byte signatures, 20-byte owners, no
/// trailing bytes), so a fraud proof and the operator never disagree about what a leaf says.
/// The layout's test vector is `crates/plasma/tests/layout.rs`.
library PlasmaTransaction {
    uint256 internal constant FIELDS = 13;
    uint256 internal constant TREE_DEPTH = 16;
    uint256 internal constant PROOF_BYTES = 32 * TREE_DEPTH;

    struct Tx {
        uint256[2] blknum;
        uint256[2] txindex;
        uint256[2] oindex;
        bytes32[2] r;
        bytes32[2] s;
        uint8[2] v;
        address[2] owner;
        uint256[2] denom;
        uint256 fee;
        /// keccak256 of the RLP list of the eleven fields other than the signatures.
        bytes32 signingHash;
    }

    /// Decodes a signed transaction; `ok` is false for bytes `crates/plasma` would refuse.
    function decode(bytes memory raw) internal pure returns (bool ok, Tx memory t) {
        uint256 len = raw.length;
        if (len == 0) return (false, t);
        uint256 first = uint8(raw[0]);
        if (first < 0xc0) return (false, t);
        uint256 pos;
        uint256 payload;
        if (first <= 0xf7) {
            (pos, payload) = (1, first - 0xc0);
        } else {
            bool lengthOk;
            (lengthOk, payload) = _longLength(raw, 1, first - 0xf7);
            if (!lengthOk) return (false, t);
            pos = 1 + first - 0xf7;
        }
        if (pos + payload != len) return (false, t);

        uint256[FIELDS] memory itemStart;
        uint256[FIELDS] memory dataStart;
        uint256[FIELDS] memory dataLen;
        for (uint256 i = 0; i < FIELDS; i++) {
            if (pos >= len) return (false, t);
            itemStart[i] = pos;
            bool itemOk;
            (itemOk, dataStart[i], dataLen[i]) = _item(raw, pos);
            if (!itemOk) return (false, t);
            pos = dataStart[i] + dataLen[i];
        }
        if (pos != len) return (false, t);

        for (uint256 k = 0; k < 2; k++) {
            if (!_readInput(raw, dataStart, dataLen, k, t) || !_readOutput(raw, dataStart, dataLen, k, t)) {
                return (false, t);
            }
        }
        bool feeOk;
        (feeOk, t.fee) = _uint(raw, dataStart[12], dataLen[12], 32);
        if (!feeOk) return (false, t);
        t.signingHash = _signingHash(raw, itemStart, len);
        return (true, t);
    }

    /// Input `k`: fields 4k … 4k+3 (blknum u64, txindex u32, oindex u8, 65-byte signature).
    function _readInput(
        bytes memory raw,
        uint256[FIELDS] memory dataStart,
        uint256[FIELDS] memory dataLen,
        uint256 k,
        Tx memory t
    ) private pure returns (bool) {
        uint256 at = 4 * k;
        bool a;
        bool b;
        bool c;
        (a, t.blknum[k]) = _uint(raw, dataStart[at], dataLen[at], 8);
        (b, t.txindex[k]) = _uint(raw, dataStart[at + 1], dataLen[at + 1], 4);
        (c, t.oindex[k]) = _uint(raw, dataStart[at + 2], dataLen[at + 2], 1);
        if (!(a && b && c) || dataLen[at + 3] != 65) return false;
        uint256 sig = dataStart[at + 3];
        t.r[k] = _word(raw, sig);
        t.s[k] = _word(raw, sig + 32);
        t.v[k] = uint8(raw[sig + 64]);
        return true;
    }

    /// Output `k`: fields 8+2k (a 20-byte owner) and 9+2k (a u256 denomination).
    function _readOutput(
        bytes memory raw,
        uint256[FIELDS] memory dataStart,
        uint256[FIELDS] memory dataLen,
        uint256 k,
        Tx memory t
    ) private pure returns (bool ok) {
        uint256 at = 8 + 2 * k;
        if (dataLen[at] != 20) return false;
        t.owner[k] = address(bytes20(_word(raw, dataStart[at])));
        (ok, t.denom[k]) = _uint(raw, dataStart[at + 1], dataLen[at + 1], 32);
    }

    /// Whether input `k` is unused (all its fields zero).
    function inputEmpty(Tx memory t, uint256 k) internal pure returns (bool) {
        return t.blknum[k] == 0 && t.txindex[k] == 0 && t.oindex[k] == 0;
    }

    /// The UTXO position input `k` spends: blknum·10^9 + txindex·10^4 + oindex.
    function inputPosition(Tx memory t, uint256 k) internal pure returns (uint256) {
        return position(t.blknum[k], t.txindex[k], t.oindex[k]);
    }

    function position(uint256 blknum, uint256 txindex, uint256 oindex) internal pure returns (uint256) {
        return blknum * 1e9 + txindex * 1e4 + oindex;
    }

    /// The domain of one child chain's signatures: the main chain and the RootChain, so that a
    /// signed transaction replays on no other child chain (audit L-3; not in the whitepaper).
    function domain(uint256 chainId, address rootChain) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256("ankr.plasma.transaction.v1"), chainId, rootChain));
    }

    /// Who signed input `k` in `txDomain` (address(0) for a missing, malformed or high-s
    /// signature): the signature is over keccak256(txDomain ‖ the unsigned fields' hash).
    function inputSigner(Tx memory t, uint256 k, bytes32 txDomain) internal pure returns (address) {
        return Signatures.recover(keccak256(abi.encodePacked(txDomain, t.signingHash)), t.r[k], t.s[k], t.v[k]);
    }

    /// keccak256(tx hash ‖ block root hash): what a confirm signature signs.
    function confirmationHash(bytes32 txHash, bytes32 blockRoot) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(txHash, blockRoot));
    }

    /// The Merkle root over a leaf at `index` and its 16 siblings (leaf level first); `ok` is
    /// false for a proof of the wrong size or an index beyond 65,535.
    function merkleRoot(bytes32 leaf, uint256 index, bytes memory proof)
        internal
        pure
        returns (bool ok, bytes32 node)
    {
        if (proof.length != PROOF_BYTES || index >= (1 << TREE_DEPTH)) return (false, 0);
        node = leaf;
        for (uint256 d = 0; d < TREE_DEPTH; d++) {
            bytes32 sibling = _word(proof, 32 * d);
            node = (index >> d) & 1 == 0
                ? keccak256(abi.encodePacked(node, sibling))
                : keccak256(abi.encodePacked(sibling, node));
        }
        return (true, node);
    }

    /// The Merkle root of a block whose only transaction (leaf 0) hashes to `leaf`.
    function singleLeafRoot(bytes32 leaf) internal pure returns (bytes32 node) {
        node = leaf;
        bytes32 zero;
        for (uint256 d = 0; d < TREE_DEPTH; d++) {
            node = keccak256(abi.encodePacked(node, zero));
            zero = keccak256(abi.encodePacked(zero, zero));
        }
    }

    /// A deposit of `denom` to `owner` as the child chain encodes it: inputs, signatures and
    /// the second output zero.
    function encodeDeposit(address owner, uint256 denom) internal pure returns (bytes memory) {
        bytes memory emptyInput = abi.encodePacked(hex"808080b841", new bytes(65));
        bytes memory body = abi.encodePacked(
            emptyInput, emptyInput, hex"94", owner, _encodeUint(denom), hex"94", address(0), hex"8080"
        );
        return abi.encodePacked(hex"f8", uint8(body.length), body);
    }

    function _encodeUint(uint256 value) private pure returns (bytes memory) {
        if (value == 0) return hex"80";
        if (value < 0x80) return abi.encodePacked(uint8(value));
        uint256 size = 0;
        for (uint256 v = value; v != 0; v >>= 8) size++;
        bytes memory out = new bytes(size + 1);
        out[0] = bytes1(uint8(0x80 + size));
        for (uint256 i = 0; i < size; i++) {
            out[size - i] = bytes1(uint8(value >> (8 * i)));
        }
        return out;
    }

    /// One string item at `pos`: where its data starts and how long it is. Lists, non-canonical
    /// lengths and single bytes below 0x80 written as strings are refused, as alloy-rlp does.
    function _item(bytes memory raw, uint256 pos) private pure returns (bool, uint256, uint256) {
        uint256 b = uint8(raw[pos]);
        uint256 start;
        uint256 size;
        if (b < 0x80) {
            return (true, pos, 1);
        } else if (b <= 0xb7) {
            (start, size) = (pos + 1, b - 0x80);
            if (size == 1 && (start >= raw.length || uint8(raw[start]) < 0x80)) return (false, 0, 0);
        } else if (b <= 0xbf) {
            bool ok;
            (ok, size) = _longLength(raw, pos + 1, b - 0xb7);
            if (!ok) return (false, 0, 0);
            start = pos + 1 + b - 0xb7;
        } else {
            return (false, 0, 0);
        }
        if (start + size > raw.length) return (false, 0, 0);
        return (true, start, size);
    }

    /// A long-form length of `lengthBytes` bytes at `pos`: no leading zero, at least 56.
    function _longLength(bytes memory raw, uint256 pos, uint256 lengthBytes) private pure returns (bool, uint256) {
        if (lengthBytes > 4 || pos + lengthBytes > raw.length || raw[pos] == 0) return (false, 0);
        uint256 value;
        for (uint256 i = 0; i < lengthBytes; i++) {
            value = (value << 8) | uint8(raw[pos + i]);
        }
        return (value >= 56, value);
    }

    /// A big-endian integer of at most `maxBytes` bytes without leading zeros.
    function _uint(bytes memory raw, uint256 start, uint256 size, uint256 maxBytes)
        private
        pure
        returns (bool, uint256 value)
    {
        if (size > maxBytes || (size > 0 && raw[start] == 0)) return (false, 0);
        for (uint256 i = 0; i < size; i++) {
            value = (value << 8) | uint8(raw[start + i]);
        }
        return (true, value);
    }

    function _word(bytes memory raw, uint256 offset) private pure returns (bytes32 value) {
        assembly {
            value := mload(add(add(raw, 32), offset))
        }
    }

    /// keccak256 of the list of the eleven unsigned fields, copied from the signed encoding:
    /// items 0-2, 4-6 and 8-12 under a new list header.
    function _signingHash(bytes memory raw, uint256[FIELDS] memory itemStart, uint256 end)
        private
        pure
        returns (bytes32 hash)
    {
        uint256 a = itemStart[3] - itemStart[0];
        uint256 b = itemStart[7] - itemStart[4];
        uint256 c = end - itemStart[8];
        uint256 payload = a + b + c;
        uint256 header = payload <= 55 ? 1 : 2;
        bytes memory out = new bytes(header + payload);
        if (header == 1) {
            out[0] = bytes1(uint8(0xc0 + payload));
        } else {
            out[0] = 0xf8;
            out[1] = bytes1(uint8(payload));
        }
        uint256 s0 = itemStart[0];
        uint256 s4 = itemStart[4];
        uint256 s8 = itemStart[8];
        assembly {
            let src := add(raw, 32)
            let dst := add(add(out, 32), header)
            mcopy(dst, add(src, s0), a)
            mcopy(add(dst, a), add(src, s4), b)
            mcopy(add(dst, add(a, b)), add(src, s8), c)
            hash := keccak256(add(out, 32), add(header, payload))
        }
    }
}
