/**
 * Crash-trial harness, importable from any package's tests
 * (`import { killMidWrite } from "<repo>/packages/store/test/crash-harness.js"`): run a writer
 * child that prints "c <n>" after each committed write, SIGKILL it at a random moment after its
 * first commit, and return the last commit it reported.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..", "..");

/** Start the child (a .ts file run by node with tsx as its loader), wait until it has committed at least once, kill it after a random delay; the last committed version. */
export async function killMidWrite(args: string[], randomDelayMs: number): Promise<number> {
  // One process (node with tsx as a loader), so the SIGKILL hits the writer itself, not a tsx wrapper.
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "--conditions=quiver-source", ...args], { cwd: repo, stdio: ["ignore", "pipe", "inherit"] });
  let last = -1;
  let buf = "";
  // "close", not "exit": every line the child wrote before the kill has then been read.
  const exited = new Promise<void>((r) => child.once("close", () => r()));
  const first = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) if (l.startsWith("c ")) last = Number(l.slice(2));
      if (last >= 0) resolve();
    });
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before its first commit`)));
  });
  const deadline = setTimeout(() => child.kill("SIGKILL"), 60_000);
  await first;
  await new Promise((r) => setTimeout(r, randomDelayMs));
  child.kill("SIGKILL");
  await exited;
  clearTimeout(deadline);
  return last;
}

