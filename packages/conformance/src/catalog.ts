/**
 * The conformance catalog (`conformance/catalog.json`, generated) and loading one case's fixture
 * and sidecar from disk, with the sidecar's sha256 verified against the bytes.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { assertSchema } from "./internal/schemas.js";
import { directoryDigest, sha256Hex } from "./fixture-tree.js";

/** One catalog entry; paths are relative to the repository root. */
export interface CatalogCase {
  /** `<area>/<validity>/<name>`. */
  readonly id: string;
  readonly area: string;
  readonly validity: "valid" | "invalid";
  readonly name: string;
  readonly operation: string;
  /** The `.bin` file, or the fixture directory. */
  readonly fixture: string;
  readonly fixtureType: "file" | "directory";
  readonly sidecar: string;
  /** Which sidecar member holds the outcome: `expected` (valid) or `error` (invalid). */
  readonly result: "expected" | "error";
}

/** `conformance/catalog.json`. */
export interface Catalog {
  readonly catalogVersion: 1;
  readonly cases: readonly CatalogCase[];
}

/** A fixture sidecar (`<case>.json`). */
export interface FixtureSidecar {
  readonly description: string;
  readonly spec: string;
  readonly operation: string;
  readonly sha256: string;
  readonly input?: unknown;
  readonly expected?: unknown;
  readonly error?: { readonly code: string; readonly stage: string };
}

/** A case ready to run: its bytes (file) or directory, and its sidecar. */
export interface LoadedCase {
  readonly entry: CatalogCase;
  readonly sidecar: FixtureSidecar;
  /** Absolute path of the fixture file or directory. */
  readonly fixturePath: string;
  /** Absolute path of the sidecar. */
  readonly sidecarPath: string;
  /** The bytes of a file fixture. */
  readonly bin?: Uint8Array;
  /** Absolute path of a directory fixture. */
  readonly dir?: string;
}

/** Read and schema-check `<root>/conformance/catalog.json` (or `catalogPath`). */
export function loadCatalog(root: string, catalogPath = join(root, "conformance", "catalog.json")): Catalog {
  const catalog = JSON.parse(readFileSync(catalogPath, "utf8")) as unknown;
  assertSchema(root, "conformance-catalog", catalog, catalogPath);
  return catalog as Catalog;
}

/** Load one case's fixture and sidecar; throws when the sidecar is malformed or its sha256 disagrees with the bytes. */
export function loadCase(root: string, entry: CatalogCase): LoadedCase {
  const sidecarPath = join(root, entry.sidecar);
  const sidecar = JSON.parse(readFileSync(sidecarPath, "utf8")) as unknown;
  assertSchema(root, "fixture-sidecar", sidecar, entry.sidecar);
  const sc = sidecar as FixtureSidecar;
  if (sc.operation !== entry.operation) throw new Error(`${entry.sidecar}: operation ${sc.operation}, catalog says ${entry.operation}`);
  const fixturePath = join(root, entry.fixture);
  if (entry.fixtureType === "file") {
    // A fresh Buffer from readFileSync may sit inside Node's pool; copy to an exclusive, 0-offset buffer.
    const bin = new Uint8Array(readFileSync(fixturePath));
    const digest = sha256Hex(bin);
    if (digest !== sc.sha256) throw new Error(`${entry.fixture}: sha256 ${digest}, sidecar says ${sc.sha256}`);
    return { entry, sidecar: sc, fixturePath, sidecarPath, bin };
  }
  const digest = directoryDigest(readDirectoryFiles(fixturePath));
  if (digest !== sc.sha256) throw new Error(`${entry.fixture}/: directory sha256 ${digest}, sidecar says ${sc.sha256}`);
  return { entry, sidecar: sc, fixturePath, sidecarPath, dir: fixturePath };
}

/** Every file under `dir`, keyed by forward-slash relative path. */
export function readDirectoryFiles(dir: string): Record<string, Uint8Array> {
  const out = Object.create(null) as Record<string, Uint8Array>;
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel))) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      if (statSync(join(dir, childRel)).isDirectory()) walk(childRel);
      else out[childRel] = new Uint8Array(readFileSync(join(dir, childRel)));
    }
  };
  walk("");
  return out;
}
