// `ankr bench load` in a short mode against a real devnet and anvil (the README's comparison),
// so that the load benchmark cannot rot: every scenario runs on both nodes and reports a ratio.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ankrCli, startAnvil, startDevnet } from "../lib/devnet.mjs";

describe("ankr bench load against ankr devnet and anvil", { timeout: 240_000 }, () => {
  let devnet, anvil;
  before(async () => {
    [devnet, anvil] = await Promise.all([startDevnet(), startAnvil()]);
  });
  after(async () => {
    await Promise.all([devnet?.stop(), anvil?.stop()]);
  });

  test("every scenario runs on both nodes and is reported with its ratio", async () => {
    const out = await ankrCli(["bench", "load", "--rpc", devnet.url, "--rpc", anvil.url,
      "--transfers", "60", "--erc20", "30", "--read-seconds", "0.5", "--clients", "4"]);
    for (const figure of ["transfers mined", "ERC-20 transfers mined", "eth_call balanceOf", "eth_blockNumber", "eth_getLogs"]) {
      const line = out.split("\n").find((l) => l.trim().startsWith(figure));
      assert.ok(line, `${figure} is reported:\n${out}`);
      const ratio = Number(line.trim().split(/\s+/).at(-1));
      assert.ok(ratio > 0 && Number.isFinite(ratio), `${figure} has a ratio: ${line}`);
    }
    assert.match(out, /inclusion latency\s+p50 [\d.]+ s p99 [\d.]+ s/);
  });
});
