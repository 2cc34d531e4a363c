/** Rows of a crash trial: a pure function of (salt, rows), so the parent knows both candidate states. */
export function crashRows(salt: number, rows: number): { parts: Uint32Array; ids: Uint8Array; codes: Uint8Array } {
  const parts = new Uint32Array(rows);
  const ids = new Uint8Array(rows * 8);
  const codes = new Uint8Array(rows * 8);
  const v = new DataView(ids.buffer);
  for (let i = 0; i < rows; i++) {
    parts[i] = (Math.imul(i + salt, 2654435761) >>> 0) % 16;
    v.setBigUint64(i * 8, BigInt(salt * 10_000_000 + i), true);
    for (let j = 0; j < 8; j++) codes[i * 8 + j] = (i * 31 + j * 7 + salt) & 0xff;
  }
  return { parts, ids, codes };
}
