// The entries of an npm tarball (ustar, after gunzip), enough for the round trip checks.

/** Entries of a (ustar) tar archive: name, mode, body. */
export function untar(buf) {
  const out = new Map();
  let off = 0;
  let longName;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const str = (a, b) => h.subarray(a, b).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(str(124, 136).trim() || "0", 8);
    const type = String.fromCharCode(h[156] || 48);
    const prefix = str(345, 500);
    let name = longName ?? (prefix ? `${prefix}/${str(0, 100)}` : str(0, 100));
    longName = undefined;
    const body = buf.subarray(off + 512, off + 512 + size);
    if (type === "L") longName = body.toString("utf8").replace(/\0.*$/s, "");
    else if (type === "0" || type === "\0") out.set(name, { mode: parseInt(str(100, 108).trim(), 8), body });
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}
