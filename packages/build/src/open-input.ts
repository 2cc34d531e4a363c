/** Open a user's vector file by its extension. */
import { extname } from "node:path";
import { QuiverInputError } from "./errors.js";
import { openNpy } from "./readers/npy.js";
import type { VectorReader } from "./readers/types.js";
import { openVecs } from "./readers/vecs.js";

/** Options of {@link openVectorFile}. */
export interface OpenVectorFileOptions {
  /** Vector column of Arrow / Parquet inputs (default "vector"). */
  readonly column?: string;
  /** Id column of Arrow / Parquet inputs (uint64 or int64; default: implicit row numbers). */
  readonly idColumn?: string;
  /** `.npy` of uint64 row ids for a `.npy` input. */
  readonly idsFile?: string;
}

/** Extensions {@link openVectorFile} recognises. */
export const INPUT_EXTENSIONS = [".npy", ".fvecs", ".bvecs", ".arrow", ".arrows", ".feather", ".ipc", ".parquet"] as const;

/** Open `.npy`, `.fvecs`, `.bvecs` or Arrow IPC (`.arrow`/`.feather` file, `.arrows` stream; either is sniffed) for streaming. */
export async function openVectorFile(path: string, options: OpenVectorFileOptions = {}): Promise<VectorReader> {
  const ext = extname(path).toLowerCase();
  switch (ext) {
    case ".npy":
      return openNpy(path, options.idsFile === undefined ? {} : { idsFile: options.idsFile });
    case ".fvecs":
      return openVecs(path, "f32");
    case ".bvecs":
      return openVecs(path, "u8");
    case ".arrow":
    case ".arrows":
    case ".feather":
    case ".ipc": {
      const { openArrowIpc } = await import("./readers/arrow.js");
      return openArrowIpc(path, options);
    }
    case ".parquet": {
      const { openParquet } = await import("./readers/parquet.js");
      return openParquet(path, options);
    }
    default:
      throw new QuiverInputError("INPUT_UNSUPPORTED_FORMAT", `unknown extension ${JSON.stringify(ext.slice(0, 16))}; expected one of ${INPUT_EXTENSIONS.join(", ")}`, { file: path });
  }
}
