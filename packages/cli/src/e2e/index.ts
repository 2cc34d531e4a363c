/** The main job (`quiver main`): end-to-end run and its fresh-process reopen phase. */
export { runEndToEndJob } from "./end-to-end-job.js";
export type { EndToEndJobOptions, EndToEndReport } from "./end-to-end-job.js";
export { runReopenPhase, E2E_FILES } from "./reopen-phase.js";
export type { ReopenPhaseOptions, ReopenReport, QueryPassReport } from "./reopen-phase.js";
export { parallelGroundTruth } from "./ground-truth.js";
