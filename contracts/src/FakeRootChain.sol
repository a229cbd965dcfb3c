// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title FakeRootChain
/// @notice For tests of ChildChainRegistry (audit M-6): a contract that only *reports* an owner
/// and a huge stake, and a factory that registers many of them in one transaction.
contract FakeRootChain {
    address public owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function ownerStake() external pure returns (uint256) {
        return type(uint256).max / 2;
    }
}

interface IChildChainRegistration {
    function register(string calldata name, address rootChain) external payable returns (uint256);
}

contract FakeRootChainFactory {
    IChildChainRegistration public constant REGISTRY = IChildChainRegistration(0x00000000000000000000000000000000000a0004);

    /// Deploys `n` fakes and registers each with `bond` (msg.value must cover n × bond).
    function spam(uint256 n, uint256 bond) external payable {
        for (uint256 i = 0; i < n; i++) {
            FakeRootChain fake = new FakeRootChain(address(this));
            REGISTRY.register{value: bond}("fake", address(fake));
        }
    }

    receive() external payable {}
}
