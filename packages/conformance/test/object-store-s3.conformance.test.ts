/**
 * S3ObjectStore against `runObjectStoreConformance`, on a real s3rver started by this file (no
 * mocks). It runs here rather than in @quiver/store-s3 so that store-s3 needs no dev-dependency on
 * this package (which depends on artifact and ivf, whose tests use store-s3: a cycle).
 */
import { S3ObjectStore } from "@quiver/store-s3";
import { runObjectStoreConformance } from "@quiver/conformance";
import { useS3rver } from "../../store-s3/test/use-s3rver.js";

const s3rver = useS3rver();

let seq = 0;
/** A store under a fresh key prefix of the one bucket, so runs never see each other's objects. */
function freshStore(extra: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore {
  const server = s3rver();
  // s3rver does not enforce If-None-Match: use the stated fallback there.
  return new S3ObjectStore({ bucket: server.bucket, prefix: `t${seq++}/`, client: server.client(), conditionalCreate: "check-then-put", ...extra });
}

// s3rver ignores If-None-Match, so these runs use the check-then-put fallback, which is not atomic.
const nonAtomicCreateReason = "s3rver does not enforce If-None-Match; the check-then-put fallback used here is not atomic";
await runObjectStoreConformance("S3ObjectStore (real s3rver)", async () => ({ store: freshStore() }), { nonAtomicCreateReason });
await runObjectStoreConformance("S3ObjectStore (real s3rver, 2-key list pages)", async () => ({ store: freshStore({ listPageSize: 2 }) }), { nonAtomicCreateReason });
