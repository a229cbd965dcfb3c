// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title ParallelProbe
/// @notice What a block run on two threads must still get right, each in one call: counters
/// many senders share, reads of the beneficiary and of other accounts, value passed on,
/// contracts created (at addresses two senders can collide on) and destroyed, reverts and
/// running out of gas. The execution crate's test of two-thread blocks against one thread
/// drives it.
contract ParallelProbe {
    mapping(uint256 => uint256) public counters;

    event Bumped(uint256 indexed slot, uint256 value);

    /// A read and a write of one slot: two senders bumping the same slot conflict.
    function bump(uint256 slot) external {
        uint256 value = counters[slot] + 1;
        counters[slot] = value;
        emit Bumped(slot, value);
    }

    /// Stores the beneficiary's balance: what every earlier transaction's tip changes.
    function noteCoinbaseBalance(uint256 slot) external {
        counters[slot] = block.coinbase.balance;
    }

    /// Stores another account's balance.
    function noteBalance(uint256 slot, address who) external {
        counters[slot] = who.balance;
    }

    /// Passes the value sent on to `to`.
    function send(address payable to) external payable {
        (bool ok, ) = to.call{value: msg.value}("");
        require(ok, "probe: send failed");
    }

    /// Creates a child at an address fixed by `salt` (a second spawn with the same salt fails),
    /// and with `destroy` lets it self-destruct in the same transaction (EIP-6780), sending
    /// what it was given to `heir`.
    function spawn(uint256 salt, bool destroy, address payable heir) external payable {
        ProbeChild child = new ProbeChild{salt: bytes32(salt), value: msg.value}();
        if (destroy) {
            child.destroy(heir);
        }
    }

    /// Writes, then reverts: the write must not survive.
    function fail(uint256 slot) external {
        counters[slot] = 1;
        revert("probe: fail");
    }

    /// Runs until its gas is gone.
    function burn() external view {
        uint256 spent;
        while (gasleft() > 0) {
            spent += 1;
        }
    }
}

/// @notice A contract `ParallelProbe.spawn` creates.
contract ProbeChild {
    uint256 public born = 1;

    constructor() payable {}

    function destroy(address payable heir) external {
        selfdestruct(heir);
    }
}
