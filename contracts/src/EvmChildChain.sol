// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

interface IBoundaryRegistry {
    function recordBoundary(uint256 blknum, bytes32 root) external;
}

/// @dev How the manager reads the child chain's ChildBridge (EXECUTE's sibling precompile).
address constant STORAGE_PROOF = 0x00000000000000000000000000000000000a0201;
/// @dev ChildBridge's address in every EVM child chain's genesis, and its `withdrawals` slot.
address constant CHILD_BRIDGE = 0x00000000000000000000000000000000000A0300;
uint256 constant WITHDRAWALS_SLOT = 4;
/// @dev ChildBridge's `creditedCount` slot.
uint256 constant CREDITED_COUNT_SLOT = 3;
/// @dev Checks a published block's body against its header.
address constant BLOCK_BODY = 0x00000000000000000000000000000000000A0202;

/// @title EvmChildChain
/// @notice The main chain's manager of one EVM child chain (DESIGN §8): it holds the operator's
/// stake and the hash of every child block, checks them with the EXECUTE precompile, and
/// reports the latest one to the ChildChainRegistry as the chain's boundary, so that every
/// main-chain header's `child_chains_root` covers EVM child chains as it covers Plasma ones.
/// Two validity modes, fixed at deployment:
/// - EVERY_BLOCK: each block is submitted with its witness and executed by EXECUTE before it
///   is accepted; a wrong block is refused at submission and every accepted block is final.
/// - OPTIMISTIC: the operator commits block hashes (many per transaction); a block is final
///   `challengeWindow` main blocks after its commitment. Until then anyone who finds it wrong
///   proves so in one transaction (EXECUTE on the block and its witness): the block and every
///   later one are reverted, half the operator's stake goes to the prover and half is forfeited.
/// @dev Attacker's view. Only the operator writes blocks, and only in order, so nobody can
/// front-run or fill them. A proof names the block it reverts by hash, so a proof replayed
/// after the reversal (or against a re-committed block) finds another hash and is refused; a
/// proof of an honest block is refused by EXECUTE's own answer and costs its sender the gas;
/// a proof racing the finalization loses at the window's last block. A copied proof pays the
/// first to land (the prover is msg.sender); an operator copying a proof of its own wrong block
/// still forfeits half its stake. The operator's stake comes back `exitDelay` blocks
/// after it retires the chain.
///
/// The bridge. `deposit` escrows ANKR here and folds (recipient, amount) into a rolling
/// `depositHash`; each child block's anchor (written into its ChildBridge before its
/// transactions, and returned by EXECUTE with its parent's) must be one of these hashes, never
/// behind its parent's, and while deposits made `anchorDeadline` seconds or more before the
/// block's timestamp wait, it must take `ANCHOR_STEP` of them (or all): a block that anchors a
/// hash this manager never gave (an invented deposit) or holds old deposits back (skipped
/// ones) is wrong like a wrong state root — refused at submission, provable when optimistic.
/// The step bounds the work of crediting one anchor, so a flood of deposits delays deposits
/// but can neither make an honest block wrong nor a credit too big for a transaction. `withdraw` pays a withdrawal recorded in the child's ChildBridge, read with
/// STORAGE_PROOF from a final child header, once: a header not final, not committed, or of a
/// reverted block is refused, and so is a second payment.
///
/// Data availability. An optimistic chain's bodies are the operator's to serve. Anyone who
/// cannot get a committed block's body challenges it with a bond; the operator answers by
/// publishing the block here (checked by BLOCK_BODY, so it is in the main chain's calldata for
/// all to see) and takes the bond. If it does not within `challengeWindow` blocks, anyone
/// freezes the chain at the block before: the operator's stake goes as for a wrong block, no
/// block is taken any more, and once the frozen chain's last block is final every account
/// exits with its balance there, proven by an account proof, and every deposit the chain had
/// not credited is paid back. While a challenge is open no block at or above it becomes final.
contract EvmChildChain {
    /// The ChildChainRegistry system contract (its genesis address on every ankr main chain).
    address public constant CHILD_CHAIN_REGISTRY = 0x00000000000000000000000000000000000a0004;
    /// The EXECUTE precompile (`ankr_execution::stateless::precompile`).
    address public constant EXECUTE = 0x00000000000000000000000000000000000A0200;
    uint8 public constant EVERY_BLOCK = 0;
    uint8 public constant OPTIMISTIC = 1;
    /// The most hashes one commitment may carry.
    uint256 public constant MAX_BATCH = 256;
    /// Deposits made this many seconds before a child block's timestamp are due in it.
    uint256 public immutable anchorDeadline;
    /// While deposits are due, each block's anchor takes this many more (or all of them).
    uint256 public constant ANCHOR_STEP = 64;
    /// A child block's timestamp may be at most this much older than the main-chain time it
    /// is committed at (OP Stack's sequencing window, shortened): an operator stamping its
    /// blocks in the past could otherwise hold every deposit back by never letting one fall
    /// due. An honest operator commits within seconds.
    uint256 public constant MAX_COMMIT_DELAY = 12 hours;
    /// …and at most this much newer (clocks disagree a little; a block from the future would
    /// make deposits due early and lie to contracts reading `block.timestamp`).
    uint256 public constant MAX_CLOCK_DRIFT = 60;

    /// Who signs the child chain's blocks (its spec's `operator`) and commits them here.
    address public immutable owner;
    /// The child chain's own chain id and per-transaction gas cap, as EXECUTE runs its blocks.
    uint256 public immutable childChainId;
    uint256 public immutable maxTxGas;
    /// EVERY_BLOCK or OPTIMISTIC.
    uint8 public immutable mode;
    /// OPTIMISTIC: main-chain blocks a commitment stays open to proofs.
    uint256 public immutable challengeWindow;
    /// Blocks between retiring the chain and taking the stake back.
    uint256 public immutable exitDelay;
    /// The stake the operator must hold for the chain to take blocks.
    uint256 public immutable requiredStake;

    /// The operator's stake (wei).
    uint256 public stake;
    /// The highest child block standing, and its hash.
    uint256 public latestNumber;
    bytes32 public latestHash;
    /// Every committed child block's hash by number (0 = the child genesis); only entries up
    /// to `latestNumber` stand (a reversal leaves dead ones above it until recommitted).
    mapping(uint256 => bytes32) public blockHash;
    /// The main-chain block and time that committed each standing child block, in one slot
    /// (block << 64 | timestamp): `committedAt` and `committedTime` read them.
    mapping(uint256 => uint256) internal commitment;
    /// The main-chain block at which the operator retired the chain (0 = live).
    uint256 public retiredAt;
    /// Stake forfeited by proven wrong blocks: held here for good, withdrawable by nobody.
    uint256 public forfeited;

    /// ANKR held for the child chain: its genesis supply outside the bridge, plus deposits,
    /// minus paid withdrawals.
    uint256 public escrow;
    /// Deposits made, and their rolling hash (the anchor that covers them all).
    uint256 public depositCount;
    bytes32 public depositHash;
    /// Rolling hash => how many deposits it covers (0 for hashes never given), and back.
    mapping(bytes32 => uint256) public depositIndex;
    mapping(uint256 => bytes32) public depositHashAt;
    /// Deposit number (from 1) => the main-chain timestamp it was made at.
    mapping(uint256 => uint256) public depositedAt;
    /// Child withdrawal id => paid.
    mapping(uint256 => bool) public withdrawn;

    /// The bond of an availability challenge (paid to the operator if it publishes the body).
    uint256 public constant AVAILABILITY_BOND = 1 ether;
    /// The child block whose body is challenged (0 = none), until when, and by whom.
    uint256 public challengedBlock;
    uint256 public challengeDeadline;
    address public challenger;
    /// Whether a withheld body froze the chain at `latestNumber`.
    bool public frozen;
    /// Frozen chain: accounts that exited, deposits paid back.
    mapping(address => bool) public exited;
    mapping(uint256 => bool) public reclaimed;

    event BlockCommitted(uint256 indexed number, bytes32 blockHash);
    event BlocksReverted(uint256 indexed fromNumber, uint256 toNumber, bytes32 wrongHash, address prover, uint256 reward);
    event Retired(uint256 atBlock, uint256 stakeReturnableAt);
    event StakeWithdrawn(address to, uint256 amount);
    event Deposited(uint256 indexed index, address indexed to, uint256 amount, bytes32 depositHash);
    event WithdrawalPaid(uint256 indexed id, address indexed to, uint256 amount, uint256 childBlock);
    event AvailabilityChallenged(uint256 indexed number, address challenger, uint256 deadline);
    event BlockPublished(uint256 indexed number, bytes32 blockHash, bytes block_);
    event Frozen(uint256 lastNumber, bytes32 lastHash, uint256 withheld);
    event Exited(address indexed account, uint256 amount);
    event DepositReclaimed(uint256 indexed index, address indexed to, uint256 amount);

    constructor(
        uint256 childChainId_,
        bytes32 genesisHash,
        uint256 maxTxGas_,
        uint8 mode_,
        uint256 challengeWindow_,
        uint256 exitDelay_,
        uint256 genesisSupply,
        uint256 anchorDeadline_
    ) payable {
        require(msg.value >= genesisSupply, "the value is the stake plus the genesis supply");
        require(childChainId_ != 0, "a child chain id is not zero");
        require(genesisHash != 0, "the child genesis hash is not zero");
        require(mode_ == EVERY_BLOCK || mode_ == OPTIMISTIC, "mode is EVERY_BLOCK (0) or OPTIMISTIC (1)");
        require(mode_ == EVERY_BLOCK || challengeWindow_ > 0, "an optimistic chain needs a challenge window");
        owner = msg.sender;
        childChainId = childChainId_;
        maxTxGas = maxTxGas_;
        mode = mode_;
        challengeWindow = challengeWindow_;
        exitDelay = exitDelay_;
        anchorDeadline = anchorDeadline_;
        requiredStake = msg.value - genesisSupply;
        stake = requiredStake;
        escrow = genesisSupply;
        blockHash[0] = genesisHash;
        latestHash = genesisHash;
    }

    /// What kind of child chain this contract manages (RootChain answers "plasma").
    function kind() external pure returns (string memory) {
        return "evm";
    }

    modifier operating() {
        require(msg.sender == owner, "only the operator commits blocks");
        require(retiredAt == 0, "the chain is retired");
        require(!frozen, "the chain is frozen: a body was withheld");
        require(stake >= requiredStake, "the operator's stake is below what the chain requires");
        _;
    }

    /// EVERY_BLOCK: submits the next child block with its witness; EXECUTE must find it valid.
    function submitBlock(bytes calldata block_, bytes[] calldata state, bytes[] calldata codes, bytes[] calldata headers)
        external
        operating
    {
        require(mode == EVERY_BLOCK, "an optimistic chain takes commitments, not blocks");
        Executed memory run = _execute(_input(block_, state, codes, headers));
        require(run.number == latestNumber + 1, "a block must follow the latest");
        require(run.parent == latestHash, "a block must extend the latest");
        require(run.valid, "EXECUTE: the block's header breaks a rule or does not match its execution");
        require(run.sealer == owner, "the block is not sealed by the operator");
        require(_timely(run.timestamp, block.timestamp), "the block's timestamp is too far from the main chain's time");
        require(
            anchorHolds(run.anchor, run.parentAnchor, run.timestamp),
            "the block's anchor is not a deposit hash of this manager, goes back, or holds back due deposits"
        );
        (bytes32 hash, uint256 number) = (run.hash, run.number);
        _record(number, hash);
        _reportBoundary(number, hash);
    }

    /// OPTIMISTIC: commits child blocks `first`, `first + 1`, … by hash.
    function commitBlocks(uint256 first, bytes32[] calldata hashes) external operating {
        require(mode == OPTIMISTIC, "an every-block chain takes blocks with witnesses");
        require(hashes.length > 0 && hashes.length <= MAX_BATCH, "1 to MAX_BATCH hashes");
        require(first == latestNumber + 1, "a commitment must follow the latest block");
        for (uint256 i = 0; i < hashes.length; i++) {
            require(hashes[i] != 0, "a block hash is not zero");
            _record(first + i, hashes[i]);
        }
        _reportBoundary(latestNumber, latestHash);
    }

    /// OPTIMISTIC: proves committed block `number` wrong with the block and its witness. The
    /// block and every later one are reverted; the stake goes to the prover.
    function proveInvalid(
        uint256 number,
        bytes calldata block_,
        bytes[] calldata state,
        bytes[] calldata codes,
        bytes[] calldata headers
    ) external {
        require(mode == OPTIMISTIC, "an every-block chain has no wrong blocks to prove");
        require(number >= 1 && number <= latestNumber, "no such committed block");
        require(!isFinal(number), "the block is final");
        require(_wrong(number, _input(block_, state, codes, headers)), "the block is valid");
        _revertFrom(number);
    }

    /// Whether the block and witness show committed block `number` wrong: its header breaks
    /// a rule or its execution does not match it, it is not where the commitments put it
    /// (another number or another parent), or it breaks a rule only the main chain can judge
    /// (`headerHolds`).
    function _wrong(uint256 number, bytes memory input) internal view returns (bool) {
        Executed memory run = _execute(input);
        require(run.hash == blockHash[number], "the proof is not of the committed block");
        return !run.valid || run.number != number || run.parent != blockHash[number - 1]
            || !headerHolds(number, run.anchor, run.parentAnchor, run.timestamp, run.sealer);
    }

    /// Whether committed block `number`'s header keeps the rules only the main chain can judge
    /// (public, so that a watcher asks them of its own blocks): sealed by the operator, stamped
    /// within MAX_COMMIT_DELAY before and MAX_CLOCK_DRIFT after its commitment's time, and its
    /// anchor holds (`anchorHolds`).
    function headerHolds(uint256 number, bytes32 anchor, bytes32 parentAnchor, uint256 timestamp, address sealer)
        public
        view
        returns (bool)
    {
        return sealer == owner && _timely(timestamp, committedTime(number))
            && anchorHolds(anchor, parentAnchor, timestamp);
    }

    /// Whether a child block stamped `timestamp` may be committed at main-chain time `at`.
    function _timely(uint256 timestamp, uint256 at) internal pure returns (bool) {
        return timestamp + MAX_COMMIT_DELAY >= at && timestamp <= at + MAX_CLOCK_DRIFT;
    }

    /// The main-chain block that committed child block `number`.
    function committedAt(uint256 number) public view returns (uint256) {
        return commitment[number] >> 64;
    }

    /// The main-chain time at which child block `number` was committed.
    function committedTime(uint256 number) public view returns (uint256) {
        return uint64(commitment[number]);
    }

    /// Whether `anchor` (a block's, after its parent's `parentAnchor`; public for watchers) is
    /// a deposit hash this manager gave (zero: before any deposit), not behind the parent's, and takes ANCHOR_STEP
    /// more deposits (or all) while deposits are due at `timestamp`.
    function anchorHolds(bytes32 anchor, bytes32 parentAnchor, uint256 timestamp) public view returns (bool) {
        uint256 taken = depositIndex[anchor];
        if (anchor != 0 && taken == 0) return false;
        uint256 before = depositIndex[parentAnchor];
        if (taken < before) return false;
        uint256 due = _dueAt(timestamp);
        if (due <= before) return true;
        uint256 owed = due - before < ANCHOR_STEP ? due - before : ANCHOR_STEP;
        return taken - before >= owed;
    }

    /// How many deposits were made anchorDeadline seconds or more before `timestamp` (deposit
    /// times only grow, so a binary search finds it).
    function _dueAt(uint256 timestamp) internal view returns (uint256 due) {
        if (timestamp < anchorDeadline) return 0;
        uint256 cutoff = timestamp - anchorDeadline;
        uint256 high = depositCount;
        while (due < high) {
            uint256 middle = (due + high + 1) / 2;
            if (depositedAt[middle] <= cutoff) due = middle;
            else high = middle - 1;
        }
    }

    /// Escrows the value for `to` on the child chain: the next anchor that covers this deposit
    /// lets anyone credit it there (the operator does so at once).
    function deposit(address to) external payable {
        require(retiredAt == 0, "the chain is retired");
        require(!frozen, "the chain is frozen: a body was withheld");
        require(msg.value > 0, "nothing to deposit");
        require(to != address(0), "a recipient is needed");
        uint256 index = ++depositCount;
        bytes32 hash = keccak256(abi.encode(depositHash, to, msg.value));
        depositHash = hash;
        depositIndex[hash] = index;
        depositHashAt[index] = hash;
        depositedAt[index] = block.timestamp;
        escrow += msg.value;
        emit Deposited(index, to, msg.value, hash);
    }

    /// Pays child withdrawal `id` (recorded in ChildBridge as (to, amount)) from final child
    /// block `number`, whose RLP header and `eth_getProof` proofs of ChildBridge's
    /// `withdrawals[id]` are given. Anyone may send it; the ANKR goes to `to`.
    function withdraw(
        uint256 number,
        bytes calldata header,
        uint256 id,
        address to,
        uint256 amount,
        bytes[] calldata accountProof,
        bytes[] calldata storageProof
    ) external {
        require(isFinal(number), "the child block is not final");
        require(!withdrawn[id], "the withdrawal is already paid");
        (bytes32 hash,, bytes32 record) =
            _provenSlot(header, CHILD_BRIDGE, keccak256(abi.encode(id, WITHDRAWALS_SLOT)), accountProof, storageProof);
        require(hash == blockHash[number], "the header is not the committed child block");
        require(record == keccak256(abi.encode(to, amount)), "the child block records no such withdrawal");
        withdrawn[id] = true;
        escrow -= amount;
        emit WithdrawalPaid(id, to, amount, number);
        (bool sent,) = to.call{value: amount}("");
        require(sent, "paying the withdrawal failed");
    }

    /// Reverts block `number` and every later one; pays the stake to the prover. O(1): the
    /// entries above `latestNumber` are dead (every reader checks it) and are overwritten by
    /// the next commitments, so no flood of commitments can make a proof too costly to send.
    function _revertFrom(uint256 number) internal {
        bytes32 wrong = blockHash[number];
        uint256 last = latestNumber;
        latestNumber = number - 1;
        latestHash = blockHash[number - 1];
        // Half the stake pays the prover; half is forfeited for good, so that an operator who
        // front-runs a proof of its own wrong block with a copy still loses it.
        uint256 reward = stake / 2;
        forfeited += stake - reward;
        stake = 0;
        emit BlocksReverted(number, last, wrong, msg.sender, reward);
        _reportBoundary(latestNumber, latestHash);
        (bool sent,) = msg.sender.call{value: reward}("");
        require(sent, "paying the prover failed");
    }

    /// Whether child block `number` stands and can no longer be reverted.
    function isFinal(uint256 number) public view returns (bool) {
        if (number == 0) return true;
        if (number > latestNumber) return false;
        if (mode == EVERY_BLOCK) return true;
        if (challengedBlock != 0 && challengedBlock <= number) return false;
        return block.number >= committedAt(number) + challengeWindow;
    }

    /// The operator tops its stake back up (after a proof took it) to go on.
    function addStake() external payable {
        require(msg.sender == owner, "only the operator stakes");
        stake += msg.value;
    }

    /// The operator stops the chain; its stake can be taken back after `exitDelay` blocks.
    function retire() external {
        require(msg.sender == owner, "only the operator retires the chain");
        require(retiredAt == 0, "already retired");
        retiredAt = block.number;
        emit Retired(block.number, block.number + exitDelay);
    }

    /// Pays the stake back to the operator once the exit delay has passed (and, on an
    /// optimistic chain, every committed block is final, so no proof can still claim it).
    function withdrawStake() external {
        require(msg.sender == owner, "only the operator withdraws the stake");
        require(retiredAt != 0 && block.number >= retiredAt + exitDelay, "the stake is held until exitDelay blocks after retiring");
        require(isFinal(latestNumber), "the last blocks are still open to proofs");
        uint256 amount = stake;
        require(amount > 0, "nothing to withdraw");
        stake = 0;
        (bool sent,) = owner.call{value: amount}("");
        require(sent, "transfer failed");
        emit StakeWithdrawn(owner, amount);
    }

    /// EXECUTE's input for a block of this chain (no block reward on child chains).
    function _input(bytes calldata block_, bytes[] calldata state, bytes[] calldata codes, bytes[] calldata headers)
        internal
        view
        returns (bytes memory)
    {
        return abi.encode(childChainId, maxTxGas, uint256(0), block_, state, codes, headers);
    }

    /// The hash of `header` and what `account` holds at `slot` there, by STORAGE_PROOF (for an
    /// account without storage, an empty storage proof reads zero).
    function _provenSlot(
        bytes calldata header,
        address account,
        bytes32 slot,
        bytes[] calldata accountProof,
        bytes[] memory storageProof
    ) internal view returns (bytes32 hash, uint256 balance, bytes32 value) {
        (bool ok, bytes memory out) =
            STORAGE_PROOF.staticcall(abi.encode(header, account, slot, accountProof, storageProof));
        require(ok && out.length == 224, "STORAGE_PROOF refused the proof: malformed, or it does not reach the slot");
        (hash,,,, balance,, value) = abi.decode(out, (bytes32, uint256, bytes32, uint256, uint256, bytes32, bytes32));
    }

    /// OPTIMISTIC: challenges the availability of committed block `number`'s body (with
    /// AVAILABILITY_BOND). One challenge at a time; it holds back the finality of `number` and
    /// every later block until it is answered or the chain is frozen.
    function challengeAvailability(uint256 number) external payable {
        require(mode == OPTIMISTIC, "an every-block chain's bodies are all on the main chain");
        require(!frozen, "the chain is frozen: a body was withheld");
        require(challengedBlock == 0, "a challenge is open");
        require(number >= 1 && number <= latestNumber && !isFinal(number), "no such open block");
        require(msg.value == AVAILABILITY_BOND, "the bond is AVAILABILITY_BOND");
        challengedBlock = number;
        challengeDeadline = block.number + challengeWindow;
        challenger = msg.sender;
        emit AvailabilityChallenged(number, msg.sender, challengeDeadline);
    }

    /// Answers the open challenge with the challenged block (RLP header and transactions);
    /// the bond pays whoever publishes it (the operator, normally).
    function publishBlock(bytes calldata block_) external {
        uint256 number = challengedBlock;
        require(number != 0, "no challenge is open");
        (bool ok, bytes memory out) = BLOCK_BODY.staticcall(block_);
        require(ok && out.length == 96, "BLOCK_BODY refused the block: it is not an RLP block");
        (bytes32 hash,, bool matches) = abi.decode(out, (bytes32, uint256, bool));
        require(hash == blockHash[number], "not the challenged block");
        require(matches, "the transactions are not those of the header's transactions root");
        challengedBlock = 0;
        emit BlockPublished(number, hash, block_);
        (bool sent,) = msg.sender.call{value: AVAILABILITY_BOND}("");
        require(sent, "paying the bond failed");
    }

    /// Freezes the chain once a challenge expired unanswered: the withheld block and every
    /// later one are dropped, the stake pays the challenger as for a wrong block, and from now
    /// on accounts exit (`exit`) and uncredited deposits are paid back (`reclaimDeposit`).
    function freeze() external {
        uint256 number = challengedBlock;
        require(number != 0 && block.number > challengeDeadline, "no challenge has expired");
        address paid = challenger;
        challengedBlock = 0;
        frozen = true;
        latestNumber = number - 1;
        latestHash = blockHash[number - 1];
        uint256 reward = stake / 2;
        forfeited += stake - reward;
        stake = 0;
        emit Frozen(latestNumber, latestHash, number);
        _reportBoundary(latestNumber, latestHash);
        (bool sent,) = paid.call{value: reward + AVAILABILITY_BOND}("");
        require(sent, "paying the challenger failed");
    }

    /// Frozen chain: pays `msg.sender` its balance at the frozen chain's last block (RLP
    /// `header`), proven by `accountProof` (`eth_getProof` there). Once per account.
    function exit(bytes calldata header, bytes[] calldata accountProof) external {
        require(frozen, "the chain is not frozen");
        require(isFinal(latestNumber), "the frozen chain's last block is still open to proofs");
        require(!exited[msg.sender], "already exited");
        (bytes32 hash, uint256 balance,) = _provenSlot(header, msg.sender, 0, accountProof, new bytes[](0));
        require(hash == latestHash, "the header is not the frozen chain's last block");
        require(balance > 0, "nothing to exit");
        exited[msg.sender] = true;
        escrow -= balance;
        emit Exited(msg.sender, balance);
        (bool sent,) = msg.sender.call{value: balance}("");
        require(sent, "paying the exit failed");
    }

    /// Frozen chain: pays deposit `index` (to `to`, `amount`) back on the main chain when the
    /// frozen chain never credited it (its ChildBridge's `creditedCount` at the last block,
    /// proven, is below `index`). Anyone may send it; the ANKR goes to `to`.
    function reclaimDeposit(
        uint256 index,
        address to,
        uint256 amount,
        bytes calldata header,
        bytes[] calldata accountProof,
        bytes[] calldata storageProof
    ) external {
        require(frozen, "the chain is not frozen");
        require(isFinal(latestNumber), "the frozen chain's last block is still open to proofs");
        require(index >= 1 && index <= depositCount && !reclaimed[index], "no such deposit to pay back");
        require(depositHashAt[index] == keccak256(abi.encode(depositHashAt[index - 1], to, amount)), "not that deposit");
        (bytes32 hash,, bytes32 credited) =
            _provenSlot(header, CHILD_BRIDGE, bytes32(CREDITED_COUNT_SLOT), accountProof, storageProof);
        require(hash == latestHash, "the header is not the frozen chain's last block");
        require(index > uint256(credited), "the child chain credited the deposit");
        reclaimed[index] = true;
        escrow -= amount;
        emit DepositReclaimed(index, to, amount);
        (bool sent,) = to.call{value: amount}("");
        require(sent, "paying the deposit back failed");
    }

    /// What EXECUTE says of a block, in its output's order (all static: the output decodes
    /// as this struct).
    struct Executed {
        bytes32 hash;
        bytes32 parent;
        uint256 number;
        bool valid;
        bytes32 stateRoot;
        bytes32 receiptsRoot;
        uint256 gasUsed;
        bytes32 anchor;
        uint256 timestamp;
        bytes32 parentAnchor;
        address sealer;
    }

    function _execute(bytes memory input) internal view returns (Executed memory) {
        (bool ok, bytes memory out) = EXECUTE.staticcall(input);
        require(ok && out.length == 352, "EXECUTE refused the input: malformed, or the witness is incomplete");
        return abi.decode(out, (Executed));
    }

    function _record(uint256 number, bytes32 hash) internal {
        latestNumber = number;
        latestHash = hash;
        blockHash[number] = hash;
        commitment[number] = block.number << 64 | block.timestamp;
        emit BlockCommitted(number, hash);
    }

    function _reportBoundary(uint256 number, bytes32 hash) internal {
        if (CHILD_CHAIN_REGISTRY.code.length != 0) {
            try IBoundaryRegistry(CHILD_CHAIN_REGISTRY).recordBoundary(number, hash) {} catch {}
        }
    }
}
