/**
 * Runs the first ```ts block of a package README as written (copied next to the test so that
 * workspace imports resolve) and returns what it logged; lines ending in `// => <text>` state
 * what their console.log prints, in order.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { vi } from "vitest";

/** The example's logged lines and the `// =>` expectations written next to them. */
export async function runReadmeExample(packageDir: string): Promise<{ logged: string[]; expected: string[] }> {
  const md = readFileSync(join(packageDir, "README.md"), "utf8");
  const m = /```ts\n([\s\S]*?)```/.exec(md);
  if (m === null) throw new Error(`no ts block in ${packageDir}/README.md`);
  const code = m[1]!;
  const expected = [...code.matchAll(/\/\/ => (.*)$/gm)].map((x) => x[1]!.trim());
  const file = join(packageDir, "test", `.readme-example-${process.pid}.tmp.ts`);
  writeFileSync(file, code);
  const logged: string[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    logged.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a, (_, v) => (typeof v === "bigint" ? `${v}n` : v)))).join(" "));
  });
  try {
    await import(/* @vite-ignore */ `${file}?t=${Date.now()}`);
  } finally {
    spy.mockRestore();
    rmSync(file, { force: true });
  }
  return { logged, expected };
}
