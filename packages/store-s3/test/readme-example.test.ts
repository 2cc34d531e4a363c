import { expect, it } from "vitest";
import { runReadmeExample } from "../../../scripts/test/run-readme-example.js";
import { useS3rver } from "./use-s3rver.js";

const s3rver = useS3rver();

it("the README example runs as written against s3rver and prints what it says", async () => {
  const stdout = await runReadmeExample(new URL(".", import.meta.url), { S3_ENDPOINT: s3rver().endpoint, S3_BUCKET: s3rver().bucket });
  expect(stdout.trim().split("\n").pop()).toBe("64,64,16 2 2");
});
