import { afterAll, beforeAll, expect, it } from "vitest";
import { runReadmeExample } from "../../../scripts/test/run-readme-example.js";
import { type S3rverHandle, startS3rver } from "./s3rver-server.js";

let server: S3rverHandle | undefined;
beforeAll(async () => {
  server = await startS3rver();
}, 60_000);
afterAll(async () => server?.stop());

it("the README example runs as written against s3rver and prints what it says", async () => {
  const stdout = await runReadmeExample(new URL(".", import.meta.url), { S3_ENDPOINT: server!.endpoint, S3_BUCKET: server!.bucket });
  expect(stdout.trim().split("\n").pop()).toBe("64,64,16 2 2");
});
