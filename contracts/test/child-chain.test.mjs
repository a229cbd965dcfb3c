// An EVM child chain as a dapp developer meets it: `ankr child register | spec` and an
// operator (`ankr child`) beside a real `ankr devnet`; unmodified ethers.js deploys and calls a
// contract on it and cast reads it; the main chain's manager and headers commit to its blocks.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { ethers } from "ethers";
import { DEV_ADDRESSES, DEV_KEYS, ankrCli, artifact, startChild, startDevnet } from "../lib/devnet.mjs";

const run = promisify(execFile);
const here = path.dirname(new URL(import.meta.url).pathname);
const castBin = path.join(here, "..", "node_modules", "@foundry-rs", "cast-linux-amd64", "bin", "cast");

describe("EVM child chains beside ankr devnet", { timeout: 180_000 }, () => {
  let devnet;
  let child;
  let estate;
  before(async () => {
    devnet = await startDevnet({ childChains: true });
    child = await startChild(devnet, { profile: "e-commerce", chainId: 7001, fund: [`${DEV_ADDRESSES[0]}=100`], challengeWindow: 4 });
    estate = await startChild(devnet, { profile: "real-estate", mode: "every-block", chainId: 7002, operatorIndex: 2, fund: [`${DEV_ADDRESSES[0]}=100`] });
  });
  after(async () => {
    await estate?.stop();
    await child?.stop();
    await devnet?.stop();
  });

  test("ethers deploys and calls a contract on it; cast reads it; the main chain commits to it", async () => {
    const provider = new ethers.JsonRpcProvider(child.url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
    assert.equal((await provider.getNetwork()).chainId, 7001n);
    const wallet = new ethers.Wallet(DEV_KEYS[0], provider);
    const { abi, bytecode } = artifact("Greeter");
    const greeter = await (await new ethers.ContractFactory(abi, bytecode, wallet).deploy("hello, child")).waitForDeployment();
    const receipt = await (await greeter.setGreeting("sealed by the operator")).wait();
    assert.equal(receipt.status, 1);
    assert.equal(await greeter.greeting(), "sealed by the operator");
    const block = await provider.send("eth_getBlockByNumber", [ethers.toQuantity(receipt.blockNumber), false]);
    assert.equal(block.seal.kind, "operator");

    const address = await greeter.getAddress();
    const read = await run(castBin, ["call", "--rpc-url", child.url, address, "greeting()(string)"]);
    assert.equal(read.stdout.trim(), '"sealed by the operator"');

    // The operator's commitments reach the main chain's manager, and main headers cover them.
    const main = new ethers.JsonRpcProvider(devnet.url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
    const manager = new ethers.Contract(child.manager, artifact("EvmChildChain").abi, main);
    const deadline = Date.now() + 60_000;
    while ((await manager.latestNumber()) < BigInt(receipt.blockNumber)) {
      assert.ok(Date.now() < deadline, "no commitment reached the main chain");
      await new Promise((r) => setTimeout(r, 250));
    }
    // Number and hash read at one main-chain block: read at "latest" one after the other, a
    // commitment landing between the two calls pairs a number with the next block's hash.
    const at = { blockTag: await main.getBlockNumber() };
    const number = await manager.latestNumber(at);
    const committed = await provider.getBlock(Number(number));
    assert.equal(await manager.latestHash(at), committed.hash);
    let boundary;
    while (!boundary || BigInt(boundary.blknum) < BigInt(receipt.blockNumber)) {
      assert.ok(Date.now() < deadline, "no main header covers the child chain");
      const { chains } = await main.send("ankr_childChains", []);
      boundary = chains.find((c) => c.rootChain.toLowerCase() === child.manager.toLowerCase());
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(boundary.kind, "evm");

    // Any block's execution witness, for EXECUTE or a watcher to re-run it statelessly: the
    // codes are the greeter's and the bridge's (each block's anchor is written into it).
    const witness = await provider.send("debug_executionWitness", [ethers.toQuantity(receipt.blockNumber)]);
    const greeterCode = await provider.getCode(address);
    assert.ok(witness.state.length > 0 && witness.headers.length >= 1);
    assert.equal(witness.codes.length, 2);
    assert.ok(witness.codes.includes(greeterCode));
  });

  test("the devnet's own child chains: dev accounts funded by deposits, a contract deployed with ethers", async () => {
    for (const profile of ["real-estate", "e-commerce", "prediction-market"]) {
      const provider = new ethers.JsonRpcProvider(await devnet.childUrl(profile), undefined, { pollingInterval: 100, cacheTimeout: -1 });
      const deadline = Date.now() + 120_000;
      while ((await provider.getBalance(DEV_ADDRESSES[2])) !== ethers.parseEther("100")) {
        assert.ok(Date.now() < deadline, `dev account 2 is not funded on ${profile}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const provider = new ethers.JsonRpcProvider(await devnet.childUrl("prediction-market"), undefined, { pollingInterval: 100, cacheTimeout: -1 });
    const wallet = new ethers.Wallet(DEV_KEYS[2], provider);
    const { abi, bytecode } = artifact("Greeter");
    const greeter = await (await new ethers.ContractFactory(abi, bytecode, wallet).deploy("hello, market")).waitForDeployment();
    assert.equal(await greeter.greeting(), "hello, market");
  });

  test("ANKR goes main → child → main with `ankr child deposit` and `ankr child withdraw`", async () => {
    const provider = new ethers.JsonRpcProvider(child.url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
    const mainProvider = new ethers.JsonRpcProvider(devnet.url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
    const manager = new ethers.Contract(child.manager, artifact("EvmChildChain").abi, mainProvider);
    const escrowBefore = await manager.escrow();
    const onChildBefore = await provider.getBalance(DEV_ADDRESSES[0]);
    await ankrCli(["child", "deposit", "--main-rpc", devnet.url, "--manager", child.manager, "--key", DEV_KEYS[0], "--amount", "3"]);
    const deadline = Date.now() + 60_000;
    while ((await provider.getBalance(DEV_ADDRESSES[0])) - onChildBefore < ethers.parseEther("2.99")) {
      assert.ok(Date.now() < deadline, "the deposit is not credited on the child chain");
      await new Promise((r) => setTimeout(r, 250));
    }
    const to = ethers.Wallet.createRandom().address;
    const out = await ankrCli([
      "child", "withdraw", "--main-rpc", devnet.url, "--child-rpc", child.url, "--manager", child.manager,
      "--key", DEV_KEYS[0], "--to", to, "--amount", "1", "--timeout", "120",
    ]);
    assert.match(out, /paid on the main chain/);
    assert.equal(await mainProvider.getBalance(to), ethers.parseEther("1"));
    assert.equal(await manager.escrow(), escrowBefore + ethers.parseEther("2"), "3 in, 1 out");
  });

  test("on an every-block chain the main chain executes each block before taking it", async () => {
    const provider = new ethers.JsonRpcProvider(estate.url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
    const wallet = new ethers.Wallet(DEV_KEYS[0], provider);
    const { abi, bytecode } = artifact("Greeter");
    const greeter = await (await new ethers.ContractFactory(abi, bytecode, wallet).deploy("a deed")).waitForDeployment();
    const receipt = await (await greeter.setGreeting("title transferred")).wait();
    const main = new ethers.JsonRpcProvider(devnet.url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
    const manager = new ethers.Contract(estate.manager, artifact("EvmChildChain").abi, main);
    assert.equal(await manager.mode(), 0n);
    const deadline = Date.now() + 90_000;
    while ((await manager.latestNumber()) < BigInt(receipt.blockNumber)) {
      assert.ok(Date.now() < deadline, "the manager did not take the block");
      await new Promise((r) => setTimeout(r, 250));
    }
    const block = await provider.getBlock(receipt.blockNumber);
    assert.equal(await manager.blockHash(receipt.blockNumber), block.hash);
    assert.equal(await manager.isFinal(receipt.blockNumber), true);
  });
});
