import { runEndToEndJob } from "./index.js";
const rows = Number(process.argv[2] ?? 200000);
const r = await runEndToEndJob({ rows, queries: Number(process.argv[3] ?? 1000) });
