#!/usr/bin/env node
/** `pnpm job:filtered [--rows N] [--dir D]`: the scalar-filtered vector query job (see job.ts). */
import { runFilteredJob } from "./job.js";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rows = flag("--rows");
const dir = flag("--dir");
runFilteredJob({ ...(rows ? { rows: Number(rows) } : {}), ...(dir ? { dir } : {}), log: (l) => process.stdout.write(`${l}\n`) }).then(
  (r) => {
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    process.exitCode = r.warmStoreRequests.reads === 0 && r.warmStoreRequests.heads === 0 ? 0 : 1;
  },
  (e: unknown) => {
    process.stderr.write(`job:filtered: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
