/**
 * LocalDirectoryStore temp files and durability: stale `.quiver-tmp-*` files (older than the
 * bound) are removed on open, list, put (their directory) and gc; young ones (a live writer's)
 * are kept; durable puts and the reserved prefix.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as nodePath from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalDirectoryStore, TEMP_FILE_PREFIX, isStoreError } from "@quiver/store";
import { QuiverArgumentError } from "@quiver/format";

let root = "";
beforeEach(async () => {
  root = await mkdtemp(nodePath.join(tmpdir(), "quiver-reclaim-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const hourAgo = () => new Date(Date.now() - 2 * 60 * 60 * 1000);

async function plant(rel: string, old: boolean): Promise<string> {
  const file = nodePath.join(root, ...rel.split("/"));
  await mkdir(nodePath.dirname(file), { recursive: true });
  await writeFile(file, new Uint8Array(4096));
  if (old) await utimes(file, hourAgo(), hourAgo());
  return file;
}

describe("LocalDirectoryStore temp-file reclamation", () => {
  it("open removes stale temp files anywhere under the root and keeps young ones", async () => {
    const stale = await plant(`a/b/${TEMP_FILE_PREFIX}1-dead-obj`, true);
    const stale2 = await plant(`${TEMP_FILE_PREFIX}2-dead-x`, true);
    const young = await plant(`a/${TEMP_FILE_PREFIX}3-live-obj`, false);
    await LocalDirectoryStore.open(root);
    expect([existsSync(stale), existsSync(stale2), existsSync(young)]).toEqual([false, false, true]);
  });

  it("list removes the stale temp files it walks past; put sweeps its directory; gc reports what it removed", async () => {
    const store = new LocalDirectoryStore(root);
    await store.put("d/x", Uint8Array.of(1));
    const inList = await plant(`d/${TEMP_FILE_PREFIX}1-dead-x`, true);
    expect((await store.list("d/")).map((m) => m.path)).toEqual(["d/x"]);
    expect(existsSync(inList)).toBe(false);
    const inPut = await plant(`e/${TEMP_FILE_PREFIX}1-dead-y`, true);
    await store.put("e/y", Uint8Array.of(2));
    expect(existsSync(inPut)).toBe(false);
    await plant(`f/g/${TEMP_FILE_PREFIX}9-dead-z`, true);
    await plant(`f/${TEMP_FILE_PREFIX}9-live-z`, false);
    expect(await store.gc()).toEqual({ removed: 1, bytes: 4096 });
    expect(await store.gc({ olderThanMs: 0 })).toEqual({ removed: 1, bytes: 4096 });
    expect((await store.list("")).map((m) => m.path)).toEqual(["d/x", "e/y"]);
  });

  it("a custom bound applies; bad options are typed errors", async () => {
    const store = new LocalDirectoryStore(root, { tempFileMaxAgeMs: 1000 });
    const f = await plant(`${TEMP_FILE_PREFIX}1-x`, false);
    await utimes(f, new Date(Date.now() - 5000), new Date(Date.now() - 5000));
    expect((await store.gc()).removed).toBe(1);
    expect(() => new LocalDirectoryStore(root, { tempFileMaxAgeMs: -1 })).toThrow(QuiverArgumentError);
    expect(() => new LocalDirectoryStore(root, { durabel: true } as never)).toThrow(QuiverArgumentError);
  });
});

describe("LocalDirectoryStore durable puts", () => {
  it("durable puts (store default or per put) land like ordinary ones, into new directories too", async () => {
    const store = new LocalDirectoryStore(root, { durable: true });
    await store.put("new/deep/dir/obj", Uint8Array.of(1, 2, 3));
    expect(Array.from(await store.get("new/deep/dir/obj"))).toEqual([1, 2, 3]);
    await store.copy("new/deep/dir/obj", "other/copy");
    await store.rename("other/copy", "third/moved");
    expect(Array.from(await store.get("third/moved"))).toEqual([1, 2, 3]);
    const plain = new LocalDirectoryStore(root);
    await plain.put("p/q", Uint8Array.of(9), { durable: true });
    expect(Array.from(await plain.get("p/q"))).toEqual([9]);
  });

  it("rejects the reserved temp prefix on put, so it can never be mistaken for a temp file", async () => {
    const store = new LocalDirectoryStore(root);
    let err: unknown;
    try {
      await store.put(`x/${TEMP_FILE_PREFIX}1-2-y`, Uint8Array.of(1));
    } catch (e) {
      err = e;
    }
    expect(isStoreError(err, "INVALID_PATH")).toBe(true);
  });
});
