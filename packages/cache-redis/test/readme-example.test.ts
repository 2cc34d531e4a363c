import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServerHandle, redisServerUnavailable, startRedisServer } from "./redis-server.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..", "..");
const skipReason = redisServerUnavailable();

describe.skipIf(skipReason !== undefined)("README", () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => server?.stop());

  it("the README example runs as written and prints what it says", async () => {
    const readme = readFileSync(join(here, "..", "README.md"), "utf8");
    const code = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const file = join(here, ".readme-example.tmp.ts");
    writeFileSync(file, code!);
    try {
      const { stdout } = await promisify(execFile)(join(repo, "node_modules", ".bin", "tsx"), ["--conditions=quiver-source", file], {
        cwd: repo,
        env: { ...process.env, REDIS_URL: server.url },
      });
      expect(stdout.trim()).toBe("2 s 0");
    } finally {
      rmSync(file, { force: true });
    }
  });
});
