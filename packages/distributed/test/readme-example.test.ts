import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServerHandle, redisServerUnavailable, startRedisServer } from "./helpers.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..", "..");

describe.skipIf(redisServerUnavailable() !== undefined)("README", () => {
  let redis: RedisServerHandle | undefined;
  beforeAll(async () => {
    redis = await startRedisServer();
  }, 60_000);
  afterAll(async () => redis?.stop());

  it("the example runs as written against a redis-server and prints what it says", async () => {
    const readme = readFileSync(join(here, "..", "README.md"), "utf8");
    const code = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(code).toBeDefined();
    const file = join(here, ".readme-example.tmp.ts");
    writeFileSync(file, code!);
    try {
      const { stdout } = await promisify(execFile)(join(repo, "node_modules", ".bin", "tsx"), ["--conditions=quiver-source", file], { cwd: repo, env: { ...process.env, REDIS_URL: redis!.url } });
      expect(stdout.trim().split("\n").pop()).toBe("1 4 1000,1000,1000,1000 0");
    } finally {
      rmSync(file, { force: true });
    }
  });
});
