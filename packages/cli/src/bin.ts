#!/usr/bin/env node
/** Entry point of the `quiver` executable. */
import { processIo } from "./io.js";
import { runCli } from "./run-cli.js";

runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // runCli maps every error of a command; this is a bug in the CLI itself
    process.stderr.write(`quiver: internal error: ${e instanceof Error ? (process.argv.includes("--debug") ? (e.stack ?? e.message) : e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
