/**
 * Child of bench/reopen.bench.ts: a new Node process that opens the bench index and runs the
 * first query, timed after the imports (cold JIT, nothing verified in this process), either from
 * the disk cache over an empty counted store (the reopen must make no store request at all) or
 * cold over a 20 ms/request LatencyStore around a LocalDirectoryStore holding the index file.
 * Prints one JSON line: { openQuery, importMs, cpu } in milliseconds.
 */
const t0 = performance.now();
const { DiskCacheBackend, IndexCache } = await import("@quiver/cache");
const { gaussianMixture, openVectorIndex } = await import("@quiver/ivf");
const { IoStatsStore, LatencyStore, LocalDirectoryStore, MemoryObjectStore } = await import("@quiver/store");
const importMs = performance.now() - t0;
const args = JSON.parse(process.argv[2]!) as { mode: "disk" | "cold"; dir: string; storeDir: string; identity: string; dim: number; clusters: number };
const q0 = gaussianMixture({ n: 1, dim: args.dim, clusters: args.clusters, seed: 2, centerSeed: 1 });
const backend = new DiskCacheBackend({ directory: args.dir, logger: { warn: () => undefined } });
await backend.isAvailable(); // directory set up before the clock
const store = new IoStatsStore(args.mode === "disk" ? new MemoryObjectStore() : new LatencyStore(new LocalDirectoryStore(args.storeDir), { latencyMs: 20 }));
const cache = args.mode === "disk" ? new IndexCache(backend) : IndexCache.inMemory();
const c0 = process.cpuUsage();
const t = performance.now();
const index = await openVectorIndex(store, "idx", { cache, identity: args.identity });
await index.search(q0, { k: 10, nprobes: 20 });
const openQuery = performance.now() - t;
const used = process.cpuUsage(c0);
const io = store.snapshot().total;
if (args.mode === "disk" && io.readRequests + io.heads + io.lists !== 0) throw new Error("the reopen made store requests");
await backend.close();
process.stdout.write(`${JSON.stringify({ openQuery, importMs, cpu: (used.user + used.system) / 1000 })}\n`);
