import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runReadmeExample } from "../../../scripts/test/run-readme-example.js";
import { type RedisServerHandle, redisServerUnavailable, startRedisServer } from "./helpers.js";

describe.skipIf(redisServerUnavailable() !== undefined)("README", () => {
  let redis: RedisServerHandle | undefined;
  beforeAll(async () => {
    redis = await startRedisServer();
  }, 60_000);
  afterAll(async () => redis?.stop());

  it("the example runs as written against a redis-server and prints what it says", async () => {
    const stdout = await runReadmeExample(new URL(".", import.meta.url), { REDIS_URL: redis!.url });
    expect(stdout.trim().split("\n").pop()).toBe("1 4 1000,1000,1000,1000 0");
  });
});
