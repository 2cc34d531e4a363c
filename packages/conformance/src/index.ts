export type { OperationFixture, OperationFn } from "./operation.js";
export { referenceOperations } from "./operations/index.js";
