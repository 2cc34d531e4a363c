import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { BUILD_ERROR_CODES, INPUT_ERROR_CODES } from "../src/index.js";

it("every code of @quiver/build is in spec/error-codes.csv, once", () => {
  const csv = readFileSync(fileURLToPath(new URL("../../../spec/error-codes.csv", import.meta.url)), "utf8");
  const codes = csv.split("\n").slice(1).map((l) => l.split(",")[0]);
  for (const c of [...INPUT_ERROR_CODES, ...BUILD_ERROR_CODES]) expect(codes.filter((x) => x === c), c).toHaveLength(1);
});
