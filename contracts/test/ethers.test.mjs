// Unmodified ethers.js v6 against a real `ankr devnet`: deploy, transact, read events through
// logs and polled filters, send value, read receipts, and see the errors wallets act on.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ethers } from "ethers";
import { DEV_KEYS, artifact, startDevnet } from "../lib/devnet.mjs";

describe("ethers.js v6 against ankr devnet", { timeout: 60_000 }, () => {
  let devnet, provider, wallet, other;

  before(async () => {
    devnet = await startDevnet();
    // ethers caches identical requests for 250 ms by default; the instant sealer mines faster
    // than that, so a cached `pending` nonce would be stale. cacheTimeout -1 turns that off.
    provider = new ethers.JsonRpcProvider(devnet.url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
    wallet = new ethers.Wallet(DEV_KEYS[0], provider);
    other = new ethers.Wallet(DEV_KEYS[1], provider);
  });
  after(async () => {
    provider?.destroy();
    await devnet?.stop();
  });

  test("network and funded dev accounts", async () => {
    const network = await provider.getNetwork();
    assert.equal(network.chainId, 42424n);
    const balance = await provider.getBalance(wallet.address);
    assert.ok(balance >= ethers.parseEther("9000"), `balance ${balance}`);
    const block = await provider.getBlock("latest");
    assert.ok(block.hash.startsWith("0x") && block.number >= 0);
  });

  test("deploy a contract, transact, read state and events", async () => {
    const { abi, bytecode } = artifact("Greeter");
    const factory = new ethers.ContractFactory(abi, bytecode, wallet);
    const greeter = await factory.deploy("hello");
    await greeter.waitForDeployment();
    const address = await greeter.getAddress();
    assert.notEqual(await provider.getCode(address), "0x");
    assert.equal(await greeter.greeting(), "hello");

    const tx = await greeter.setGreeting("hola");
    const receipt = await tx.wait();
    assert.equal(receipt.status, 1);
    assert.equal(receipt.to, address);
    assert.ok(receipt.gasUsed > 21000n);
    const parsed = receipt.logs.map((l) => greeter.interface.parseLog(l)).filter(Boolean);
    assert.equal(parsed[0].name, "GreetingChanged");
    assert.equal(parsed[0].args.greeting, "hola");
    assert.equal(await greeter.greeting(), "hola");
    // Reads at an earlier block see the state that block left.
    assert.equal(await greeter.greeting({ blockTag: receipt.blockNumber - 1 }), "hello");

    const fromLogs = await greeter.queryFilter(greeter.filters.GreetingChanged(wallet.address), 0, "latest");
    assert.equal(fromLogs.length, 1);
    assert.equal(fromLogs[0].args.changes, 1n);
    assert.equal(fromLogs[0].transactionHash, tx.hash);
  });

  test("polled filter delivers events as they happen", async () => {
    const { abi, bytecode } = artifact("Greeter");
    const greeter = await (await new ethers.ContractFactory(abi, bytecode, wallet).deploy("a")).waitForDeployment();
    const seen = new Promise((resolve) => greeter.once("GreetingChanged", (by, greeting) => resolve(greeting)));
    // Give the provider a moment to install its eth_newFilter before the event happens.
    await new Promise((r) => setTimeout(r, 300));
    await (await greeter.setGreeting("from a filter")).wait();
    assert.equal(await seen, "from a filter");
    await greeter.removeAllListeners();
  });

  test("reverts carry their reason and custom errors decode", async () => {
    const greeterArt = artifact("Greeter");
    const greeter = await (await new ethers.ContractFactory(greeterArt.abi, greeterArt.bytecode, wallet).deploy("x")).waitForDeployment();
    await assert.rejects(greeter.setGreeting(""), (e) => {
      assert.equal(e.code, "CALL_EXCEPTION");
      assert.equal(e.reason, "Greeter: empty greeting");
      return true;
    });

    const tokenArt = artifact("ExampleToken");
    const token = await (await new ethers.ContractFactory(tokenArt.abi, tokenArt.bytecode, wallet).deploy("Example", "EXM", 1000n)).waitForDeployment();
    await (await token.transfer(other.address, 400n)).wait();
    assert.equal(await token.balanceOf(other.address), 400n);
    const asOther = token.connect(other);
    await assert.rejects(asOther.transfer(wallet.address, 401n), (e) => {
      assert.equal(e.code, "CALL_EXCEPTION");
      const decoded = token.interface.parseError(e.data);
      assert.equal(decoded.name, "InsufficientBalance");
      assert.deepEqual([...decoded.args], [400n, 401n]);
      return true;
    });
    // A read-only call decodes the custom error itself.
    await assert.rejects(asOther.transfer.staticCall(wallet.address, 401n), (e) => {
      assert.equal(e.revert?.name, "InsufficientBalance");
      return true;
    });
  });

  test("value transfers and receipts", async () => {
    const to = ethers.Wallet.createRandom().address;
    const tx = await wallet.sendTransaction({ to, value: ethers.parseEther("1.5") });
    const receipt = await tx.wait();
    assert.equal(receipt.status, 1);
    assert.equal(receipt.gasUsed, 21000n);
    assert.equal(await provider.getBalance(to), ethers.parseEther("1.5"));
    const fetched = await provider.getTransaction(tx.hash);
    assert.equal(fetched.from, wallet.address);
    assert.equal(fetched.blockNumber, receipt.blockNumber);
    // A legacy (EIP-155) transaction works too.
    const legacy = await wallet.sendTransaction({ to, value: 1n, type: 0 });
    assert.equal((await legacy.wait()).status, 1);
  });

  test("refused transactions get the errors wallets understand", async () => {
    const signer = wallet;
    const nonce = await provider.getTransactionCount(signer.address, "pending");
    await assert.rejects(
      signer.sendTransaction({ to: other.address, value: 1n, nonce: nonce - 1 }),
      (e) => e.code === "NONCE_EXPIRED",
    );
    const poor = ethers.Wallet.createRandom().connect(provider);
    await assert.rejects(
      poor.sendTransaction({ to: other.address, value: 1n, gasLimit: 21000n }),
      (e) => e.code === "INSUFFICIENT_FUNDS",
    );
    const foreign = await signer.signTransaction({
      to: other.address, value: 1n, nonce, gasLimit: 21000n, chainId: 1n,
      maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n, type: 2,
    });
    await assert.rejects(provider.broadcastTransaction(foreign), /invalid chain id/);
  });
});
