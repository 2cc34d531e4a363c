// Fault-injecting compute worker for parallel-kmeans-hierarchical-fault.test.ts: serves k-means
// assignment with the real protocol code (parallel-protocol.ts) and the hierarchical group tasks
// with the real solveGroup; from its second task on, worker slot 0 ends its thread and worker
// slot 1 blocks forever on their first chunk claim, each holding the chunk it claimed.
import { parentPort } from "node:worker_threads";

const { register } = await import("tsx/esm/api");
register();
const protocol = await import("../src/compute/internal/parallel-protocol.ts");
const { solveGroup } = await import("../src/compute/internal/kmeans.ts");

let tasks = 0;
let faulted = false;
parentPort?.on("message", (task) => {
  tasks++;
  if (task.task === "kmeans-groups") {
    const c = task.control;
    if (Atomics.compareExchange(c, protocol.slotIndex(task.slot), protocol.SLOT_IDLE, protocol.SLOT_RUNNING) === protocol.SLOT_IDLE) {
      let items = 0;
      for (;;) {
        const at = Atomics.add(c, protocol.CONTROL_NEXT_CHUNK, 1);
        if (at >= task.groups) break;
        solveGroup(task, task.order[at]);
        items++;
      }
      Atomics.store(c, protocol.chunkCountIndex(task.slots, task.slot), items);
      Atomics.store(c, protocol.slotIndex(task.slot), protocol.SLOT_DONE);
    }
    parentPort?.postMessage({ cancelled: Atomics.load(c, protocol.slotIndex(task.slot)) === protocol.SLOT_CANCELLED });
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
