/** The vitest hooks of the s3rver test helper (a module of its own: benches import s3rver-server.ts outside vitest). */
import { afterAll, beforeAll } from "vitest";
import { type S3rverHandle, startS3rver } from "./s3rver-server.js";

/**
 * One s3rver for the calling test file: started in `beforeAll`, stopped in `afterAll`. Returns
 * the handle's getter (valid inside tests and later hooks).
 */
export function useS3rver(): () => S3rverHandle {
  let server: S3rverHandle | undefined;
  beforeAll(async () => {
    server = await startS3rver();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error("s3rver is not started (useS3rver's beforeAll has not run)");
    return server;
  };
}
