/** Child of checksum.test.ts: prints which XXH3 implementation loaded and the hashes of a fixed set of inputs. */
import { XXH3_IMPLEMENTATION, xxh3_64 } from "@quiver/format";
import { xxh3Inputs } from "./xxh3-inputs.js";

process.stdout.write(JSON.stringify({ implementation: XXH3_IMPLEMENTATION, hashes: xxh3Inputs().map((b) => xxh3_64(b).toString(16)) }));
