// The code blocks of a README that CI runs. Used by scripts/registry-roundtrip.sh (as a command)
// and by scripts/test/readme-examples.test.ts (as a module), so both run the same text.
//
//   <!-- roundtrip:NAME -->   the fenced block right after this marker (root README: install,
//                             program, conformance)
//   ## Example                the first fenced block under this heading (package READMEs)
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The body of the fenced block named `which` ("example" or a roundtrip marker name) and its language. */
export function readmeBlock(markdown, which) {
  const lines = markdown.split("\n");
  let start;
  if (which === "example") {
    start = lines.findIndex((l) => l.trim() === "## Example");
    if (start < 0) throw new Error('no "## Example" heading');
  } else {
    start = lines.findIndex((l) => l.trim() === `<!-- roundtrip:${which} -->`);
    if (start < 0) throw new Error(`no <!-- roundtrip:${which} --> marker`);
  }
  let i = start + 1;
  while (i < lines.length && !lines[i].startsWith("```")) {
    if (which === "example" && lines[i].startsWith("## ")) throw new Error('no code block under "## Example"');
    i++;
  }
  if (i === lines.length) throw new Error(`no code block after ${which}`);
  const lang = lines[i].slice(3).trim();
  const end = lines.findIndex((l, j) => j > i && l.startsWith("```"));
  if (end < 0) throw new Error(`unterminated code block after ${which}`);
  return { lang, code: `${lines.slice(i + 1, end).join("\n")}\n` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, which, flag] = process.argv.slice(2);
  if (file === undefined || which === undefined || (flag !== undefined && flag !== "--lang")) {
    console.error("usage: readme-blocks.mjs <README.md> <example|install|program|conformance> [--lang]");
    process.exit(2);
  }
  const block = readmeBlock(readFileSync(file, "utf8"), which);
  process.stdout.write(flag === "--lang" ? `${block.lang}\n` : block.code);
}
