import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runReadmeExample } from "../../../scripts/test/run-readme-example.js";
import { type RedisServerHandle, redisServerUnavailable, startRedisServer } from "./redis-server.js";

const skipReason = redisServerUnavailable();

describe.skipIf(skipReason !== undefined)("README", () => {
  let server: RedisServerHandle;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => server?.stop());

  it("the README example runs as written and prints what it says", async () => {
    const stdout = await runReadmeExample(new URL(".", import.meta.url), { REDIS_URL: server.url });
    expect(stdout.trim()).toBe("2 s 0");
  });
});
