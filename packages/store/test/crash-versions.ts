/** Version v of the crash-trial object: 1 MiB + (v % 8) * 64 KiB, a u32 header v, then bytes v & 0xff. */
export function versionBytes(v: number): Uint8Array {
  const out = new Uint8Array(1024 * 1024 + (v % 8) * 65536).fill(v & 0xff);
  new DataView(out.buffer).setUint32(0, v, true);
  return out;
}

/** The version a byte array is, or a description of why it is not a whole version. */
export function wholeVersion(b: Uint8Array): number | string {
  if (b.byteLength < 4) return `only ${b.byteLength} bytes`;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
  if (b.byteLength !== 1024 * 1024 + (v % 8) * 65536) return `length ${b.byteLength} for version ${v}`;
  for (let i = 4; i < b.byteLength; i++) if (b[i] !== (v & 0xff)) return `byte ${i} of version ${v} is ${b[i]}`;
  return v;
}
