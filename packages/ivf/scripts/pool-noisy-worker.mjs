// Test worker for ComputePool (compute-pool-exit.test.ts): for each task it first posts a message
// that is not a task reply, waits until the main thread releases it (control[0] = 1), records that
// the task ran (control[1] = 1) and only then posts the reply.
import { parentPort } from "node:worker_threads";

parentPort?.on("message", (task) => {
  parentPort?.postMessage({ note: "started" });
  Atomics.wait(task.control, 0, 0, 120_000);
  Atomics.store(task.control, 1, 1);
  parentPort?.postMessage({ cancelled: false });
});
