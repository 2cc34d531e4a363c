/** @quiver/cli: the `quiver` command, callable in-process for tests and embedding. */
export { runCli, USAGE, EXIT_CODES, VERSION } from "./run-cli.js";
export { processIo, UsageError } from "./io.js";
export type { CliIo } from "./io.js";
export { describeFrame, formatInspection } from "./commands/inspect.js";
export type { FrameInspection } from "./commands/inspect.js";
export { phaseProgress } from "./progress.js";
export type { PhaseProgress } from "./progress.js";
export { formatFailure } from "./errors-output.js";
