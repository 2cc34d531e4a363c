import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type S3rverHandle, startS3rver } from "./s3rver-server.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..", "..");
let server: S3rverHandle | undefined;
beforeAll(async () => {
  server = await startS3rver();
}, 60_000);
afterAll(async () => server?.stop());

it("the README example runs as written against s3rver and prints what it says", async () => {
  const readme = readFileSync(join(here, "..", "README.md"), "utf8");
  const code = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const file = join(here, ".readme-example.tmp.ts");
  writeFileSync(file, code!);
  try {
    const { stdout } = await promisify(execFile)(join(repo, "node_modules", ".bin", "tsx"), ["--conditions=quiver-source", file], {
      cwd: repo,
      env: { ...process.env, S3_ENDPOINT: server!.endpoint, S3_BUCKET: server!.bucket },
    });
    expect(stdout.trim().split("\n").pop()).toBe("64,64,16 2 2");
  } finally {
    rmSync(file, { force: true });
  }
});
