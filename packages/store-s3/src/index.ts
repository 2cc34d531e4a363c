/**
 * @quiver/store-s3: an `ObjectStore` over S3-compatible object storage (`@aws-sdk/client-s3`),
 * in its own package so that `@quiver/store` carries no SDK.
 */
export { S3ObjectStore, S3ObjectWriter } from "./s3-store.js";
export type { ConditionalCreateMode, S3ObjectStoreOptions } from "./s3-store.js";
