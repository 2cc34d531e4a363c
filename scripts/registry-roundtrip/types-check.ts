// Compiled (tsc --noEmit, strict, NodeNext) inside the scratch project against the installed
// packages: every package's published types resolve through its `exports` and are real types,
// not `any` (a declaration that fails to resolve would silently be `any`; NotAny catches it).
// The README quickstart (quickstart.mjs) is checked in the same run (checkJs).
import type { PartitionSource } from "@quiver/artifact";
import type { CacheBackend } from "@quiver/cache";
import { IndexCache } from "@quiver/cache";
import type { CliIo } from "@quiver/cli";
import { runCli } from "@quiver/cli";
import type { ConformanceReport } from "@quiver/conformance";
import { ConformanceRootError, resolveConformanceRoot } from "@quiver/conformance";
import { QuiverFormatError, decodeFrame } from "@quiver/format";
import type { VectorSearchHit } from "@quiver/ivf";
import { buildIndexInMemory } from "@quiver/build";
import { openVectorIndex } from "@quiver/ivf";
import type { ObjectStore } from "@quiver/store";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";

type NotAny<T> = 0 extends 1 & T ? never : true;
/** Compiles only when none of the published types below is `any`. */
export const published: [
  NotAny<PartitionSource>, NotAny<CacheBackend>, NotAny<IndexCache>, NotAny<CliIo>, NotAny<typeof runCli>,
  NotAny<ConformanceReport>, NotAny<ConformanceRootError>, NotAny<QuiverFormatError>, NotAny<VectorSearchHit>,
  NotAny<typeof buildIndexInMemory>, NotAny<ObjectStore>, NotAny<IoStatsStore>, NotAny<Awaited<ReturnType<typeof openVectorIndex>>>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true];

export async function typed(): Promise<number> {
  const store: ObjectStore = new IoStatsStore(new MemoryObjectStore());
  const cache = IndexCache.inMemory();
  await buildIndexInMemory({ store, path: "v.qvr", vectors: new Float32Array(64), dim: 16, quantizer: "flat", distanceType: "l2", numPartitions: 1 });
  const index = await openVectorIndex(store, "v.qvr", { cache });
  const hits: readonly VectorSearchHit[] = await index.search(new Float32Array(16), { k: 1 });
  const first: number | bigint | undefined = hits[0]?.id;
  const io: CliIo = { stdout: () => {}, stderr: () => {}, tty: false, cwd: "." };
  const code: number = await runCli(["--help"], io);
  const root: string = resolveConformanceRoot();
  const backend: CacheBackend | undefined = undefined;
  const source: PartitionSource | undefined = undefined;
  const report: ConformanceReport | undefined = undefined;
  const errors = [QuiverFormatError, ConformanceRootError] as const;
  void [first, root, backend, source, report, errors, decodeFrame];
  return code;
}
