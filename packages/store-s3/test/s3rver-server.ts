/**
 * Test helper: a throwaway s3rver (an S3-compatible server from npm) in its own process on a free
 * loopback port, with one bucket, stopped by `stop()`. The server process runs with
 * NODE_OPTIONS=--openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with
 * DES, which OpenSSL 3 only offers through the legacy provider (without it, pagination fails 500).
 * Known s3rver limits the tests never rely on: suffix ranges (`bytes=-N`) return the wrong bytes,
 * and `If-None-Match: *` is not enforced (a conditional create overwrites). s3rver ignores
 * `If-Match` on GET too; the second bucket (`strictBucket`) enforces it in front of s3rver.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { S3Client } from "@aws-sdk/client-s3";

const pkg = join(fileURLToPath(new URL(".", import.meta.url)), "..");

/** A running s3rver and a client configured for it. */
export interface S3rverHandle {
  readonly endpoint: string;
  readonly bucket: string;
  /** A second bucket where GETs honour If-Match (412 PreconditionFailed on another ETag), as S3 does. */
  readonly strictBucket: string;
  readonly process: ChildProcess;
  client(): S3Client;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

// In the strict bucket a GET with If-Match whose object has another ETag is answered 412
// PreconditionFailed, as S3 does (s3rver itself ignores If-Match): checked after s3rver has
// answered, before anything is sent, by a Koa middleware put first in its chain.
const SERVER = `
const S3rver = require("s3rver");
const [port, directory, bucket, strict] = process.argv.slice(1);
const server = new S3rver({ port: Number(port), address: "127.0.0.1", directory, silent: true, configureBuckets: [{ name: bucket }, { name: strict }] });
server.middleware.unshift(async (ctx, next) => {
  await next();
  const want = ctx.get("if-match");
  if (want === "" || ctx.method !== "GET" || !ctx.path.startsWith("/" + strict + "/") || (ctx.status !== 200 && ctx.status !== 206)) return;
  if (ctx.response.get("ETag") === want) return;
  if (ctx.body && typeof ctx.body.destroy === "function") ctx.body.destroy();
  ctx.remove("Content-Range");
  ctx.status = 412;
  ctx.type = "application/xml";
  ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition></Error>';
});
server
  .run()
  .then(() => process.stdout.write("ready\\n"), (e) => { console.error(e); process.exit(1); });
`;

/** Start s3rver with bucket `quiver-test`; resolves once it listens. */
export async function startS3rver(): Promise<S3rverHandle> {
  const directory = mkdtempSync(join(tmpdir(), "quiver-s3rver-"));
  const bucket = "quiver-test";
  const strictBucket = "quiver-strict";
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child = spawn(process.execPath, ["-e", SERVER, String(port), directory, bucket, strictBucket], {
      cwd: pkg,
      env: { ...process.env, NODE_OPTIONS: "--openssl-legacy-provider" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stderr!.on("data", (d) => (log += d.toString()));
    const ok = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 20_000);
      child.stdout!.on("data", (d) => {
        if (d.toString().includes("ready")) {
          clearTimeout(t);
          resolve(true);
        }
      });
      child.once("exit", () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    if (ok) {
      const endpoint = `http://127.0.0.1:${port}`;
      const clients: S3Client[] = [];
      return {
        endpoint,
        bucket,
        strictBucket,
        process: child,
        client: () => {
          const c = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
          clients.push(c);
          return c;
        },
        stop: async () => {
          for (const c of clients) c.destroy();
          if (child.exitCode === null) {
            const gone = new Promise<void>((r) => child.once("exit", () => r()));
            child.kill("SIGKILL");
            await gone;
          }
          rmSync(directory, { recursive: true, force: true });
        },
      };
    }
    child.kill("SIGKILL");
    if (attempt >= 2) throw new Error(`s3rver did not start:\n${log}`);
  }
}

/** A client of `server` whose real requests are counted by command name (SDK middleware, no mock). */
export function countingClient(server: S3rverHandle): { client: S3Client; counts: Record<string, number> } {
  const client = server.client();
  const counts: Record<string, number> = Object.create(null);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context as { commandName?: string }).commandName ?? "?";
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: "initialize", name: "quiverCountRequests" },
  );
  return { client, counts };
}
