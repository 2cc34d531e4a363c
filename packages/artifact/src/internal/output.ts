import { type ObjectStore, openObjectWriter } from "@quiver/store";
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

/**
 * Open a file for streaming writes through the store's own writer (`openObjectWriter`): a
 * {@link LocalDirectoryStore} appends to a temp file in the target directory (name prefix
 * `TEMP_FILE_PREFIX`) and fsyncs and renames it on commit; S3 streams a multipart upload; a store
 * without `createWriter` holds the bytes and puts them at commit. Durable: a bucket file a
 * manifest will name must survive a crash once committed. Temp files of a killed writer are
 * reclaimed by `gcArtifact` (they carry the temp prefix and sit under the write's
 * `data/<artifact_id>/` directory); an aborted upload leaves nothing behind.
 */
export async function openPendingFile(store: ObjectStore, path: string): Promise<PendingFile> {
  return openObjectWriter(store, path, { durable: true });
}
