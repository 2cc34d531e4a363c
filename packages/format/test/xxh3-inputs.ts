/** Inputs over every XXH3 length class (0-16, 17-128, 129-240, long, several stripes and blocks) at odd offsets. */
export function xxh3Inputs(): Uint8Array[] {
  const buf = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) >>> 24);
  const out: Uint8Array[] = [];
  for (let len = 0; len <= 300; len++) out.push(buf.subarray(len % 7, (len % 7) + len));
  for (const len of [1023, 1024, 1025, 4096, 65_535, 65_536, 100_003, (1 << 20) - 3]) out.push(buf.subarray(3, 3 + len));
  return out;
}
