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

async function rpc(url, method, params = []) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return response.json();
}

/** Starts a devnet mining by useful work; returns { url, stop }. `blockTime` in whole seconds. */
export async function startDevnet({ blockTime = 1 } = {}) {
  if (!fs.existsSync(ankrBin)) throw new Error(`ankr binary not found at ${ankrBin}: run cargo build`);
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ankr-e2e-"));
  const child = spawn(ankrBin, ["devnet", "--port", String(port), "--dir", dir, "--block-time", String(blockTime), "--nodes", "1", "--p2p-port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
  });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const answer = await rpc(url, "eth_chainId");
      if (answer.result) break;
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`devnet did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    dir,
    output: () => output,
    stop: async () => {
      child.kill("SIGINT");
      await new Promise((resolve) => {
        const timer = setTimeout(() => { child.kill("SIGKILL"); resolve(); }, 5_000);
        child.on("exit", () => { clearTimeout(timer); resolve(); });
      });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The first dev account's key (anvil's and Hardhat's too). */
export const DEV_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
];
