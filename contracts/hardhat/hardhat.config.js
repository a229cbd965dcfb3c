// Hardhat 3 against a running node: `ankr devnet` (or anvil, for comparison) at HARDHAT_RPC_URL.
import hardhatViem from "@nomicfoundation/hardhat-viem";
import hardhatNodeTestRunner from "@nomicfoundation/hardhat-node-test-runner";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export default {
  plugins: [hardhatViem, hardhatNodeTestRunner],
  solidity: {
    version: "0.8.30",
    // The npm package's compiler (the one ../build.mjs uses): Hardhat would otherwise download
    // solc from binaries.soliditylang.org, which a machine with only package registries cannot reach.
    path: require.resolve("solc/soljson.js", { paths: [new URL("..", import.meta.url).pathname] }),
  },
  networks: {
    ankr: {
      type: "http",
      url: process.env.HARDHAT_RPC_URL ?? "http://127.0.0.1:8545",
      // The devnet's first key (the anvil/Hardhat mnemonic's index 0).
      accounts: ["0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"],
    },
  },
};
