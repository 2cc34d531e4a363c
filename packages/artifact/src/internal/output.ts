import { open, rename, mkdir, rm } from "node:fs/promises";
import * as nodePath from "node:path";
import { LocalDirectoryStore, type ObjectStore, TEMP_FILE_PREFIX } from "@quiver/store";
import type { ByteSink } from "./arrow-file.js";

/** A file being written: bytes in order, then `commit` makes it visible under its final name. */
export interface PendingFile extends ByteSink {
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Join an artifact uri (prefix, may be "") and a relative name. */
export function artifactPath(uri: string, name: string): string {
  const u = uri.replace(/\/+$/, "");
  return u === "" ? name : `${u}/${name}`;
}

let tempCounter = 0;

/**
 * Open a file for streaming writes. A {@link LocalDirectoryStore} gets a real temp file appended to
 * as bytes arrive and renamed on commit (bounded memory); any other store has no streaming upload
 * in the `ObjectStore` contract, so the bytes are held until commit and written with one `put`.
 */
export async function openPendingFile(store: ObjectStore, path: string): Promise<PendingFile> {
  if (store instanceof LocalDirectoryStore) {
    const final = nodePath.join(store.root, ...path.split("/"));
    await mkdir(nodePath.dirname(final), { recursive: true });
    const temp = nodePath.join(nodePath.dirname(final), `${TEMP_FILE_PREFIX}${process.pid}-${++tempCounter}-${nodePath.basename(final)}`);
    const fh = await open(temp, "w");
    let closed = false;
    return {
      async write(bytes) {
        let done = 0;
        while (done < bytes.byteLength) done += (await fh.write(bytes, done, bytes.byteLength - done)).bytesWritten;
      },
      async commit() {
        await fh.sync();
        await fh.close();
        closed = true;
        await rename(temp, final);
      },
      async abort() {
        if (!closed) await fh.close();
        await rm(temp, { force: true });
      },
    };
  }
  const chunks: Uint8Array[] = [];
  return {
    async write(bytes) {
      chunks.push(bytes.slice());
    },
    async commit() {
      const total = chunks.reduce((s, c) => s + c.byteLength, 0);
      const all = new Uint8Array(total);
      let o = 0;
      for (const c of chunks) {
        all.set(c, o);
        o += c.byteLength;
      }
      chunks.length = 0;
      await store.put(path, all);
    },
    async abort() {
      chunks.length = 0;
    },
  };
}
