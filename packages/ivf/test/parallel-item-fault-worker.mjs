// Fault-injecting compute worker for parallel-items-fault.test.ts: serves every task with the real
// protocol code (parallel-protocol.ts). The plan comes from QUIVER_TEST_ITEM_FAULTS in the
// environment the worker was started with (JSON: { "exit": [slots], "hang": [slots],
// "hangCommit": [slots], "refineOnly": true }): on its first claim in its first task that has items
// (with refineOnly, its first hierarchical refinement pass), a slot in `exit`
// ends its thread, one in `hang` blocks forever; one in `hangCommit` blocks forever inside its
// first commit. Workers started without the variable (a pool's replacements) are healthy.
import { parentPort } from "node:worker_threads";

const { register } = await import("tsx/esm/api");
register();
const { serveItems, serveKMeans } = await import("../src/compute/internal/parallel-protocol.ts");

const plan = JSON.parse(process.env.QUIVER_TEST_ITEM_FAULTS ?? "{}");
const block = () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
let armed = true;
parentPort?.on("message", (task) => {
  if (task.task === "kmeans-assign") {
    serveKMeans(task);
    parentPort?.postMessage({ cancelled: false });
    return;
  }
  // "refineOnly": the faults wait for a hierarchical refinement pass (a groups task with `refine`)
  const eligible = task.items > 0 && (plan.refineOnly !== true || task.refine !== undefined);
  const fault = armed && eligible;
  if (eligible) armed = false;
  const has = (name) => fault && (plan[name] ?? []).includes(task.slot);
  const reply = serveItems(task, {
    afterClaim: () => {
      if (has("exit")) process.exit(7);
      if (has("hang")) block();
    },
    duringCommit: () => {
      if (has("hangCommit")) block();
    },
  });
  parentPort?.postMessage(reply);
});
