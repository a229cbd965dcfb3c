// Unmodified viem 2 against a real `ankr devnet`: the HTTP client, a local account's sends,
// Multicall3 at its usual address, proofs and overrides, and the WebSocket watchers that
// received nothing while subscription ids were JSON numbers (viem registers string ids only).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeFunctionData,
  http,
  parseAbi,
  webSocket,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { DEV_KEYS, artifact, startDevnet } from "../lib/devnet.mjs";

describe("viem against ankr devnet", { timeout: 60_000 }, () => {
  let devnet, chain, client, ws, wallet, account;

  before(async () => {
    devnet = await startDevnet();
    chain = defineChain({
      id: 42424,
      name: "ankr devnet",
      nativeCurrency: { name: "ANKR", symbol: "ANKR", decimals: 18 },
      rpcUrls: { default: { http: [devnet.url], webSocket: [devnet.url.replace("http", "ws")] } },
      contracts: { multicall3: { address: "0xcA11bde05977b3631167028862bE2a173976CA11" } },
    });
    client = createPublicClient({ chain, transport: http(), pollingInterval: 100 });
    ws = createPublicClient({ chain, transport: webSocket() });
    account = privateKeyToAccount(DEV_KEYS[0]);
    wallet = createWalletClient({ chain, transport: http(), account });
  });
  after(async () => {
    await ws?.transport.getRpcClient().then((c) => c.close());
    await devnet?.stop();
  });

  test("sends with a local account and reads the receipt", async () => {
    assert.equal(await client.getChainId(), 42424);
    const to = privateKeyToAccount(DEV_KEYS[1]).address;
    const before = await client.getBalance({ address: to });
    const hash = await wallet.sendTransaction({ to, value: 1234n });
    const receipt = await client.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, "success");
    assert.equal(await client.getBalance({ address: to }), before + 1234n);
    const receipts = await client.request({ method: "eth_getBlockReceipts", params: [receipt.blockHash] });
    assert.ok(receipts.some((r) => r.transactionHash === hash));
  });

  test("multicall goes through Multicall3 at 0xcA11…CA11", async () => {
    const abi = parseAbi(["function getChainId() view returns (uint256)", "function getEthBalance(address) view returns (uint256)"]);
    const address = chain.contracts.multicall3.address;
    const [id, balance] = await client.multicall({
      contracts: [
        { address, abi, functionName: "getChainId" },
        { address, abi, functionName: "getEthBalance", args: [account.address] },
      ],
      allowFailure: false,
    });
    assert.equal(id, 42424n);
    assert.equal(balance, await client.getBalance({ address: account.address }));
  });

  test("getProof and a call with a state override", async () => {
    const proof = await client.getProof({ address: account.address, storageKeys: [] });
    assert.equal(proof.balance, await client.getBalance({ address: account.address }));
    assert.ok(proof.accountProof.length > 0);
    // Code that returns its storage slot 0, with slot 0 overridden.
    const target = "0x00000000000000000000000000000000000000c0";
    const { data } = await client.call({
      to: target,
      stateOverride: [
        {
          address: target,
          code: "0x60005460005260206000f3",
          stateDiff: [{ slot: `0x${"0".repeat(64)}`, value: `0x${"0".repeat(62)}2a` }],
        },
      ],
    });
    assert.equal(BigInt(data), 42n);
  });

  test("WebSocket watchers receive blocks and contract events", async () => {
    const blocks = await new Promise((resolve, reject) => {
      const seen = [];
      const unwatch = ws.watchBlockNumber({
        onBlockNumber: (n) => {
          seen.push(n);
          if (seen.length === 2) {
            unwatch();
            resolve(seen);
          }
        },
        onError: reject,
      });
    });
    assert.equal(blocks[1], blocks[0] + 1n);

    const { abi, bytecode } = artifact("Greeter");
    const deployHash = await wallet.deployContract({ abi, bytecode, args: ["hi"] });
    const { contractAddress } = await client.waitForTransactionReceipt({ hash: deployHash });
    const heard = new Promise((resolve, reject) => {
      const unwatch = ws.watchContractEvent({
        address: contractAddress,
        abi,
        eventName: "GreetingChanged",
        onLogs: (logs) => {
          unwatch();
          resolve(logs[0].args);
        },
        onError: reject,
      });
    });
    await new Promise((r) => setTimeout(r, 300)); // let the subscription reach the node
    const hash = await wallet.sendTransaction({
      to: contractAddress,
      data: encodeFunctionData({ abi, functionName: "setGreeting", args: ["pushed"] }),
    });
    await client.waitForTransactionReceipt({ hash });
    const args = await heard;
    assert.equal(args.greeting, "pushed");
  });
});
