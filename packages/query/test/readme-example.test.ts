import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { runReadmeExample } from "../../btree/test/readme-runner.js";

it("the README example works as written and prints what it says", async () => {
  const { logged, expected } = await runReadmeExample(fileURLToPath(new URL("..", import.meta.url)));
  expect(expected.length).toBeGreaterThan(2);
  expect(logged).toEqual(expected);
});
