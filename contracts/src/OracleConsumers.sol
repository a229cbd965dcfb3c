// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

interface INativeOracle {
    function request(uint8 kind, bytes calldata params, bytes4 callbackSelector, uint32 callbackGas)
        external
        payable
        returns (uint64);
    function cancel(uint64 id) external;
    function withdraw() external;
}

/// @title PriceConsumer
/// @notice The example dapp of the Native Oracle System: asks for one JSON value over HTTPS
/// and keeps the last answer. `ask` forwards its value as the fee.
contract PriceConsumer {
    INativeOracle public constant ORACLE = INativeOracle(0x00000000000000000000000000000000000A0003);

    uint64 public lastId;
    uint16 public lastCode;
    bytes public lastData;
    uint256 public answers;

    event Answered(uint64 indexed id, uint16 code, bytes data);

    /// Requests `kind` with `params`; the callback gets `callbackGas`.
    function ask(uint8 kind, bytes calldata params, uint32 callbackGas) external payable returns (uint64 id) {
        id = ORACLE.request{value: msg.value}(kind, params, this.answer.selector, callbackGas);
    }

    /// The oracle's callback.
    function answer(uint64 id, uint16 code, bytes calldata data) external {
        require(msg.sender == address(ORACLE), "PriceConsumer: not the oracle");
        lastId = id;
        lastCode = code;
        lastData = data;
        answers++;
        emit Answered(id, code, data);
    }

    /// The last answer as a number (resultType uint256).
    function lastValue() external view returns (uint256) {
        return abi.decode(lastData, (uint256));
    }

    /// Pulls refunds (excess fees, cancellations) back here.
    function collect() external {
        ORACLE.withdraw();
    }

    receive() external payable {}
}

/// @title HostileConsumer
/// @notice Callbacks that misbehave, for the oracle's tests: revert, burn all their gas, or
/// try to cancel the request being delivered; or report the gas they were given.
contract HostileConsumer {
    INativeOracle public constant ORACLE = INativeOracle(0x00000000000000000000000000000000000A0003);
    uint8 public mode; // 0 revert, 1 burn gas, 2 re-enter cancel, 3 report the gas given, 4 return 368 KB

    event Entered(uint256 gasLeft);

    function ask(uint8 kind, bytes calldata params, uint32 callbackGas, uint8 mode_)
        external
        payable
        returns (uint64)
    {
        mode = mode_;
        return ORACLE.request{value: msg.value}(kind, params, this.answer.selector, callbackGas);
    }

    function answer(uint64 id, uint16, bytes calldata) external {
        uint256 entry = gasleft();
        if (mode == 3) {
            emit Entered(entry);
            return;
        }
        if (mode == 0) revert("HostileConsumer: no");
        if (mode == 1) {
            while (true) {}
        }
        if (mode == 2) ORACLE.cancel(id);
        if (mode == 4) {
            assembly {
                return(0, 368640)
            }
        }
    }

    function cancel(uint64 id) external {
        ORACLE.cancel(id);
    }

    function collect() external {
        ORACLE.withdraw();
    }

    receive() external payable {}
}
