/** Issue 8 "keep it fixed": mutated, re-sealed cache entries in the Disk backend (see mutated-cache-suite.ts). */
import { mutatedCacheSuite } from "./mutated-cache-suite.js";

mutatedCacheSuite("DiskCacheBackend");
