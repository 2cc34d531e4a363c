/**
 * Test helper: a throwaway `redis-server` on a free loopback port. Import it from any package's
 * tests: `import { redisServerUnavailable, startRedisServer } from "<repo>/packages/cache-redis/test/redis-server.js"`.
 * Use `describe.skipIf(redisServerUnavailable() !== undefined)` so that a machine without
 * redis-server reports the tests as skipped (with the reason printed), never as passed.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer, connect } from "node:net";

/** A running server: its port and URL, and how to stop it. */
export interface RedisServerHandle {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  /** Kill the server and wait for it to exit. */
  stop(): Promise<void>;
}

let availability: string | null | undefined;

/** undefined when `redis-server` is runnable; otherwise the reason (also printed once). */
export function redisServerUnavailable(): string | undefined {
  if (availability === undefined) {
    const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
    availability = r.status === 0 ? null : `redis-server is not on PATH (${r.error?.message ?? `exit ${r.status}`}); Redis tests are SKIPPED`;
    if (availability !== null) console.warn(`[quiver cache tests] ${availability}`);
  }
  return availability ?? undefined;
}

/** A TCP port that was free a moment ago (bind port 0, read it, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: "127.0.0.1" });
    let data = "";
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once("error", () => done(false));
    sock.once("connect", () => sock.write("PING\r\n"));
    sock.on("data", (d) => {
      data += d.toString();
      if (data.includes("\r\n")) done(data.startsWith("+PONG"));
    });
  });
}

/** Options of {@link startRedisServer}. */
export interface StartRedisServerOptions {
  /** Listen on this port (to restart a killed server where clients expect it); default a free one. */
  readonly port?: number;
  /** Extra server arguments, e.g. `["--maxmemory", "1mb"]`. */
  readonly args?: readonly string[];
}

/** Start `redis-server` on a free loopback port without persistence; resolves once PING answers. */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  for (let attempt = 0; ; attempt++) {
    const port = options.port ?? (await freePort());
    const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...(options.args ?? [])], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let exited = false;
    child.once("exit", () => (exited = true));
    let log = "";
    child.stdout?.on("data", (d) => (log += d.toString()));
    child.stderr?.on("data", (d) => (log += d.toString()));
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      if (await ping(port)) {
        const stop = async () => {
          if (exited) return;
          const gone = new Promise<void>((r) => child.once("exit", () => r()));
          child.kill("SIGCONT"); // a frozen server must be resumed to be reaped promptly
          child.kill("SIGKILL");
          await gone;
        };
        return { port, url: `redis://127.0.0.1:${port}`, process: child, stop };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    // Another process may have taken the port between our probe and the server's bind: retry.
    if (attempt >= 3) throw new Error(`redis-server did not answer PING on port ${port}:\n${log}`);
  }
}
