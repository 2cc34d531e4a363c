// Fault-injecting compute worker for parallel-kmeans-fault.test.ts: serves k-means with the real
// protocol code (parallel-protocol.ts), but on its first claim in its second task worker slot 0
// ends its thread and worker slot 1 blocks forever, each holding the chunk it claimed.
import { parentPort } from "node:worker_threads";

const { register } = await import("tsx/esm/api");
register();
const { serveKMeans } = await import("../src/compute/internal/parallel-protocol.ts");

let tasks = 0;
parentPort?.on("message", (task) => {
  tasks++;
  const fault = tasks === 2 ? task.slot : -1;
  serveKMeans(task, {
    afterClaim: () => {
      if (fault === 0) process.exit(7);
      if (fault === 1) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    },
  });
  parentPort?.postMessage({ cancelled: false });
});
