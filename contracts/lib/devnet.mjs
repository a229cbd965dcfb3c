// Starts a real `ankr devnet` on a free loopback port for a test file and stops it afterwards.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
export const ankrBin =
  process.env.ANKR_BIN || path.join(here, "..", "..", "target", "debug", "ankr");

export function artifact(name) {
  return JSON.parse(
    fs.readFileSync(path.join(here, "..", "..", "crates", "contracts", "artifacts", `${name}.json`), "utf8"),
  );
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** One JSON-RPC call to `url`: its result, or an error naming the method and the node's message. */
export async function rpc(url, method, params = []) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const answer = await response.json();
  if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
  return answer.result;
}

/**
 * Starts `ankr devnet` (one mining node) on a free port; with `childChains`, also its three EVM
 * child chains on free ports (`childUrl(profile)` finds one in the banner), else none.
 * `blockTime` in whole seconds; `extraArgs` go to `ankr devnet` as they are. With `E2E_NODE=anvil` it starts anvil in the devnet's place, with
 * the devnet's chain id and block time, so that `npm run scoreboard` can score a tool's test file
 * on both nodes.
 */
export async function startDevnet({ blockTime = 1, childChains = false, extraArgs = [] } = {}) {
  if (process.env.E2E_NODE === "anvil") return startAnvilAsDevnet(blockTime, childChains);
  if (!fs.existsSync(ankrBin)) throw new Error(`ankr binary not found at ${ankrBin}: run cargo build`);
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ankr-e2e-"));
  const children = childChains ? ["--child-port", "0"] : ["--no-child-chains"];
  const node = await spawnServing(
    ["devnet", "--port", String(port), "--dir", dir, "--block-time", String(blockTime), "--nodes", "1", "--p2p-port", "0", ...children, ...extraArgs],
    `http://127.0.0.1:${port}`,
    "devnet",
  );
  const childUrl = async (profile) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const line = node.output().split("\n").find((l) => l.includes(`evm child chain: ${profile} `));
      if (line) return line.match(/JSON-RPC (http:\/\/127\.0\.0\.1:\d+)/)[1];
      if (Date.now() > deadline) throw new Error(`the devnet did not start its ${profile} child chain:\n${node.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  return { ...node, dir, childUrl, stop: async () => { await node.stop(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

/**
 * Every node this test process started and that still runs: killed when the process ends,
 * even when the test runner ends it on a timeout, so that no devnet outlives its test.
 */
const serving = new Set();
const killServing = () => {
  for (const child of serving) child.kill("SIGKILL");
};
process.on("exit", killServing);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    killServing();
    process.exit(1);
  });
}

/**
 * Starts Foundry's anvil (the npm package's binary) on a free loopback port with its default
 * accounts (the same mnemonic as the devnet's): what users would pick instead, for tests that
 * compare the two on the same transactions. Returns { url, output, stop }.
 */
export async function startAnvil() {
  const port = await freePort();
  return spawnServing(["--port", String(port), "--host", "127.0.0.1", "--silent", "--steps-tracing"], `http://127.0.0.1:${port}`, "anvil", anvilBin);
}

/** anvil standing in for the devnet: same chain id, mnemonic and block time; no child chains. */
async function startAnvilAsDevnet(blockTime, childChains) {
  if (childChains) throw new Error("anvil has no child chains");
  const port = await freePort();
  const args = ["--port", String(port), "--host", "127.0.0.1", "--silent", "--chain-id", "42424", "--block-time", String(blockTime)];
  const anvil = await spawnServing(args, `http://127.0.0.1:${port}`, "anvil", anvilBin);
  return { ...anvil, childUrl: async () => { throw new Error("anvil has no child chains"); } };
}

export const anvilBin = path.join(here, "..", "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");

/**
 * Spawns `bin args…` (ankr by default) and waits until its JSON-RPC at `url` answers;
 * returns { url, output, stop } (SIGINT, then SIGKILL after 5 s).
 */
async function spawnServing(args, url, what, bin = ankrBin) {
  const child = spawn(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
  });
  serving.add(child);
  child.on("exit", () => serving.delete(child));
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if (await rpc(url, "eth_chainId")) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${what} did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    output: () => output,
    stop: async () => {
      child.kill("SIGINT");
      await new Promise((resolve) => {
        const timer = setTimeout(() => { child.kill("SIGKILL"); resolve(); }, 5_000);
        child.on("exit", () => { clearTimeout(timer); resolve(); });
      });
    },
  };
}

/**
 * Starts an EVM child chain of `profile` beside `devnet`: registers its manager on the main
 * chain with dev account `operatorIndex` (`ankr child register`), writes its spec funding
 * `fund` (`ankr child spec`), and runs its operator (`ankr child`), which commits its blocks to
 * the manager. Returns { url, manager, stop }.
 */
/** Runs `ankr ARGS…` to completion; resolves with its standard output. */
export function ankrCli(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(ankrBin, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`ankr ${args.join(" ")}: ${out}${err}`))));
  });
}

export async function startChild(
  devnet,
  { profile = "e-commerce", mode = "optimistic", chainId = 7001, operatorIndex = 1, fund = [], challengeWindow = 40 } = {},
) {
  const key = DEV_KEYS[operatorIndex];
  const operator = DEV_ADDRESSES[operatorIndex];
  const cli = ankrCli;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ankr-child-"));
  const spec = await cli(["child", "spec", "--profile", profile, "--chain-id", String(chainId), "--operator", operator, ...fund.flatMap((f) => ["--fund", f])]);
  fs.writeFileSync(path.join(dir, "spec.toml"), spec);
  const registered = await cli(["child", "register", "--main-rpc", devnet.url, "--key", key, "--name", profile, "--spec", path.join(dir, "spec.toml"), "--mode", mode, "--stake", "10", "--challenge-window", String(challengeWindow)]);
  const manager = registered.match(/manager (0x[0-9a-fA-F]{40})/)[1];
  const port = await freePort();
  const node = await spawnServing(
    ["child", "--spec", path.join(dir, "spec.toml"), "--dir", path.join(dir, "data"), "--operator-key", key, "--rpc", `127.0.0.1:${port}`, "--main-rpc", devnet.url, "--manager", manager],
    `http://127.0.0.1:${port}`,
    "child chain",
  );
  return { ...node, manager, stop: async () => { await node.stop(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

/** The first dev account's key (anvil's and Hardhat's too). */
export const DEV_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

/** The addresses of DEV_KEYS. */
export const DEV_ADDRESSES = [
  "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
  "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
];
