import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What a fuzz worker reports when it finishes. */
export interface FuzzReport {
  readonly cases: number;
  readonly accepted: number;
  readonly typed: Record<string, number>;
  readonly other: readonly string[];
  readonly wrong: readonly string[];
}

const tsx = fileURLToPath(new URL("../../../../node_modules/.bin/tsx", import.meta.url));

/**
 * Run a fuzz worker script in a child process (tsx, quiver-source) and collect its report. The
 * worker prints `progress <case>` lines; when none arrives for `caseDeadlineMs`, the child is
 * killed and the run fails naming the case that hung, so a hang fails the test instead of stalling CI.
 */
export function runFuzzWorker(script: string, args: readonly string[], caseDeadlineMs = 20_000): Promise<FuzzReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ["--conditions=quiver-source", script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let last = "start";
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`fuzz worker made no progress for ${caseDeadlineMs} ms after case ${last}: a hang`));
      }, caseDeadlineMs);
    };
    arm();
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      const m = /progress (\S+)\n?$/.exec(chunk.trimEnd());
      if (m !== null) last = m[1]!;
      arm();
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (c: string) => (err += c));
    child.on("close", (code) => {
      clearTimeout(timer);
      const m = /^report (.*)$/m.exec(out);
      if (code !== 0 || m === null) reject(new Error(`fuzz worker exited ${code}: ${err.slice(-2000)}`));
      else resolve(JSON.parse(m[1]!) as FuzzReport);
    });
  });
}
