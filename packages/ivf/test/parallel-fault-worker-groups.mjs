// Fault-injecting compute worker for parallel-kmeans-hierarchical-fault.test.ts: serves k-means
// assignment and the hierarchical group tasks with the real protocol code (parallel-protocol.ts);
// from its second task on, worker slot 0 ends its thread and worker
// slot 1 blocks forever on their first chunk claim, each holding the chunk it claimed.
import { parentPort } from "node:worker_threads";

const { register } = await import("tsx/esm/api");
register();
const protocol = await import("../src/compute/internal/parallel-protocol.ts");

let tasks = 0;
let faulted = false;
parentPort?.on("message", (task) => {
  tasks++;
  if (task.task === "kmeans-groups") {
    // the groups task through the real item protocol (claims and commits under state words)
    parentPort?.postMessage(protocol.serveItems(task));
    return;
  }
  const armed = tasks >= 2 && !faulted;
  protocol.serveKMeans(task, {
    afterClaim: () => {
      if (!armed || faulted) return;
      if (task.slot === 0) process.exit(7);
      if (task.slot === 1) {
        faulted = true;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
      }
    },
  });
  parentPort?.postMessage({ cancelled: false });
});
