// Exact top-k (squared L2) of a range of queries against every row, on shared memory. Plain
// JavaScript with no imports so it runs in a worker thread without a TypeScript loader.
import { parentPort, workerData } from "node:worker_threads";

const { data, norms, queries, out, n, dim, k, from, to } = workerData;
const X = new Float32Array(data);
const N2 = new Float32Array(norms);
const Q = new Float32Array(queries);
const OUT = new Int32Array(out);
const B = 8; // queries per pass over the rows: each row is read once per block
const best = new Float64Array(B * k);
const bestId = new Int32Array(B * k);
const size = new Int32Array(B);
for (let qb = from; qb < to; qb += B) {
  const nb = Math.min(B, to - qb);
  size.fill(0);
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    for (let b = 0; b < nb; b++) {
      const qo = (qb + b) * dim;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < dim; j += 4) {
        s0 += Q[qo + j] * X[o + j];
        s1 += Q[qo + j + 1] * X[o + j + 1];
        s2 += Q[qo + j + 2] * X[o + j + 2];
        s3 += Q[qo + j + 3] * X[o + j + 3];
      }
      // |q|^2 is the same for every row of a query, so |x|^2 - 2 q.x ranks like the squared distance.
      const d = N2[i] - 2 * (s0 + s1 + s2 + s3);
      const base = b * k;
      let s = size[b];
      if (s === k && d >= best[base + k - 1]) continue;
      let at = s < k ? s++ : k - 1;
      size[b] = s;
      while (at > 0 && best[base + at - 1] > d) {
        best[base + at] = best[base + at - 1];
        bestId[base + at] = bestId[base + at - 1];
        at--;
      }
      best[base + at] = d;
      bestId[base + at] = i;
    }
  }
  for (let b = 0; b < nb; b++) for (let j = 0; j < k; j++) OUT[(qb + b) * k + j] = j < size[b] ? bestId[b * k + j] : -1;
  parentPort.postMessage({ done: qb + nb - from });
}
parentPort.postMessage({ finished: true });
