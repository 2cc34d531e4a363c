/**
 * @quiver/conformance: the fixture tree and catalog, the conformance runner, its adapters
 * (in-process reference, any-language CLI) and the exported suites.
 */
export type { OperationFixture, OperationFn } from "./operation.js";
export { referenceOperations } from "./operations/index.js";
export { canonicalJson, canonicalEqual, toCanonicalValue, bytesToHex, hexToBytes } from "./canonical-json.js";
export type { JsonValue } from "./canonical-json.js";
export {
  validateFixtureCases,
  renderFixtureTree,
  writeFixtureTree,
  listManagedFiles,
  diffFixtureTrees,
  isEmptyDiff,
  formatFixtureTreeDiff,
  sha256Hex,
  directoryDigest,
  FixtureCaseError,
} from "./fixture-tree.js";
export type { FixtureCaseInput, FixtureTreeLayout, FixtureWriteSummary, FixtureTreeDiff } from "./fixture-tree.js";
export { loadFixtureCases, generateFixtures, checkFixtures } from "./fixture-generation.js";
export { loadCatalog, loadCase, readDirectoryFiles } from "./catalog.js";
export type { Catalog, CatalogCase, FixtureSidecar, LoadedCase } from "./catalog.js";
export { errorCodeAndStage } from "./adapter.js";
export type { AdapterCapabilities, AdapterFixture, ConformanceAdapter, OperationOutcome, UnsupportedDeclaration } from "./adapter.js";
export { ReferenceAdapter, runReferenceOperation, runReferenceEncode, toOperationFixture } from "./reference-adapter.js";
export type { ReferenceAdapterOptions } from "./reference-adapter.js";
export { CliAdapter, splitCommandLine } from "./cli-adapter.js";
export type { CliAdapterOptions } from "./cli-adapter.js";
export {
  runConformance,
  runCase,
  adapterCapabilities,
  firstDifference,
  selectCases,
  conformanceVerdict,
  conformanceExitCode,
  ConformanceUsageError,
} from "./runner.js";
export type { RunConformanceOptions, CaseResult, ConformanceReport, ConformanceTally, ConformanceVerdict } from "./runner.js";
export { formatConformanceReport, conformanceReportJson } from "./report.js";
export { defineConformanceSuite } from "./vitest-suite.js";
export type { ConformanceSuiteOptions } from "./vitest-suite.js";
export {
  CONFORMANCE_ROOT_ENTRIES,
  ConformanceRootError,
  bundledConformanceRoot,
  defaultRepoRoot,
  resolveConformanceRoot,
} from "./internal/paths.js";
export { runCacheBackendConformance } from "./cache-backend-suite.js";
export type { CacheBackendConformanceOptions, CacheBackendFactory } from "./cache-backend-suite.js";
export { runObjectStoreConformance } from "./object-store-suite.js";
export type { ObjectStoreConformanceOptions, ObjectStoreFactory, ObjectStoreUnderTest } from "./object-store-suite.js";
