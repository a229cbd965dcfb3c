// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Greeter
/// @notice The smallest contract that exercises what dapp tools rely on: storage, an event,
/// a revert with a reason string, and a payable function.
contract Greeter {
    string public greeting;
    uint256 public changes;

    event GreetingChanged(address indexed by, string greeting, uint256 changes);

    constructor(string memory initial) {
        greeting = initial;
    }

    function setGreeting(string calldata next) external {
        require(bytes(next).length > 0, "Greeter: empty greeting");
        greeting = next;
        changes += 1;
        emit GreetingChanged(msg.sender, next, changes);
    }

    /// Accepts ANKR; lets tests check value transfers into contracts.
    function tip() external payable {
        require(msg.value > 0, "Greeter: no tip");
    }
}
