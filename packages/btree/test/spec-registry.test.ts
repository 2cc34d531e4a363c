// spec/registry.csv and spec/error-codes.csv against the btree and bitmap packages' constants.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  BITMAP_ERROR_CODES,
  BITMAP_INDEX_KIND,
  BITMAP_INDEX_STATE_TYPE_NAME,
  BITMAP_INDEX_TYPE_NAME,
  BITMAP_VALUE_ROWS_TYPE_NAME,
  LABEL_LIST_INDEX_KIND,
  LABEL_LIST_INDEX_STATE_TYPE_NAME,
  LABEL_LIST_INDEX_TYPE_NAME,
  VALUE_TYPES,
} from "@quiver/bitmap";
import { describe, expect, it } from "vitest";
import { BTREE_ERROR_CODES, BTREE_INDEX_KIND, BTREE_INDEX_STATE_TYPE_NAME, BTREE_INDEX_TYPE_NAME, BTREE_PAGE_CACHE_TYPE_NAME, BTREE_PAGE_KIND, BTREE_PAGE_TYPE_NAME } from "../src/index.js";

const specDir = fileURLToPath(new URL("../../../spec/", import.meta.url));
const csv = (name: string) => {
  const [head, ...rest] = readFileSync(`${specDir}${name}`, "utf8").trim().split("\n");
  const cols = head!.split(",");
  return rest.map((line) => Object.fromEntries(cols.map((c, i) => [c, i === cols.length - 1 ? line.split(",").slice(i).join(",") : line.split(",")[i]!])));
};

describe("btree and bitmap registry rows", () => {
  const registry = csv("registry.csv");
  it("kinds", () => {
    const kinds = Object.fromEntries(registry.filter((r) => r.category === "kind").map((r) => [r.name, Number(r.code)]));
    expect(kinds).toMatchObject({ [BTREE_PAGE_TYPE_NAME]: BTREE_PAGE_KIND, [BTREE_INDEX_TYPE_NAME]: BTREE_INDEX_KIND, [BITMAP_INDEX_TYPE_NAME]: BITMAP_INDEX_KIND, [LABEL_LIST_INDEX_TYPE_NAME]: LABEL_LIST_INDEX_KIND });
  });
  it("type names", () => {
    const types = registry.filter((r) => r.category === "type").map((r) => r.name);
    for (const t of [BTREE_PAGE_TYPE_NAME, BTREE_INDEX_TYPE_NAME, BTREE_INDEX_STATE_TYPE_NAME, BTREE_PAGE_CACHE_TYPE_NAME, BITMAP_INDEX_TYPE_NAME, LABEL_LIST_INDEX_TYPE_NAME, BITMAP_INDEX_STATE_TYPE_NAME, LABEL_LIST_INDEX_STATE_TYPE_NAME, BITMAP_VALUE_ROWS_TYPE_NAME]) {
      expect(types.filter((x) => x === t), t).toHaveLength(1);
    }
  });
  it("error codes are in error-codes.csv once, with their area", () => {
    const rows = csv("error-codes.csv");
    for (const [area, codes] of [["bitmap", BITMAP_ERROR_CODES], ["btree", BTREE_ERROR_CODES]] as const) {
      for (const c of codes) expect(rows.filter((r) => r.code === c).map((r) => r.area), c).toEqual([area]);
    }
  });
  it("spec/bitmap.md's value-type table is VALUE_TYPES", () => {
    const md = readFileSync(`${specDir}bitmap.md`, "utf8");
    for (const [name, code] of Object.entries(VALUE_TYPES)) expect(md).toMatch(new RegExp(`\\| ${code} \\| \`${name}\` \\|`));
  });
});
