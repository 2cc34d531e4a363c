;; Quiver IVF hot kernels, WebAssembly SIMD (f32x4). Assembled by scripts/build-kernels.ts.
;;
;; Conventions: every pointer is a byte offset into the exported memory; vectors are row-major
;; f32; `dim` is a multiple of 4 (callers zero-pad, which changes neither dot products nor L2).
;; `assign` processes rows four at a time and centroids two at a time, so callers round `n` up
;; to a multiple of 4 (padding rows readable) and `k` up to an even count (duplicating the last
;; centroid: a duplicate never wins because the minimum is taken with a strict less-than).
(module
  (memory (export "memory") 1)

  ;; out[i] = sum_t (q[t] - x_i[t])^2 for n rows of dim floats starting at x.
  (func (export "l2_batch") (param $q i32) (param $x i32) (param $n i32) (param $dim i32) (param $out i32)
    (local $i i32) (local $t i32) (local $bytes i32) (local $d v128) (local $a0 v128) (local $a1 v128)
    (local.set $bytes (i32.shl (local.get $dim) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $t (i32.const 0))
        ;; two independent accumulators over 8 floats per step hide the add latency
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.gt_u (i32.add (local.get $t) (i32.const 32)) (local.get $bytes)))
            (local.set $d (f32x4.sub (v128.load (i32.add (local.get $q) (local.get $t)))
                                     (v128.load (i32.add (local.get $x) (local.get $t)))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $d) (local.get $d))))
            (local.set $d (f32x4.sub (v128.load offset=16 (i32.add (local.get $q) (local.get $t)))
                                     (v128.load offset=16 (i32.add (local.get $x) (local.get $t)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $d) (local.get $d))))
            (local.set $t (i32.add (local.get $t) (i32.const 32)))
            (br $cols)))
        (if (i32.lt_u (local.get $t) (local.get $bytes))
          (then
            (local.set $d (f32x4.sub (v128.load (i32.add (local.get $q) (local.get $t)))
                                     (v128.load (i32.add (local.get $x) (local.get $t)))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $d) (local.get $d))))))
        (local.set $a0 (f32x4.add (local.get $a0) (local.get $a1)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
            (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
        (local.set $x (i32.add (local.get $x) (local.get $bytes)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; out[i] = sum_t q[t] * x_i[t] for n rows of dim floats starting at x.
  (func (export "dot_batch") (param $q i32) (param $x i32) (param $n i32) (param $dim i32) (param $out i32)
    (local $i i32) (local $t i32) (local $bytes i32) (local $a0 v128) (local $a1 v128)
    (local.set $bytes (i32.shl (local.get $dim) (i32.const 2)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $t (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.gt_u (i32.add (local.get $t) (i32.const 32)) (local.get $bytes)))
            (local.set $a0 (f32x4.add (local.get $a0)
              (f32x4.mul (v128.load (i32.add (local.get $q) (local.get $t)))
                         (v128.load (i32.add (local.get $x) (local.get $t))))))
            (local.set $a1 (f32x4.add (local.get $a1)
              (f32x4.mul (v128.load offset=16 (i32.add (local.get $q) (local.get $t)))
                         (v128.load offset=16 (i32.add (local.get $x) (local.get $t))))))
            (local.set $t (i32.add (local.get $t) (i32.const 32)))
            (br $cols)))
        (if (i32.lt_u (local.get $t) (local.get $bytes))
          (then
            (local.set $a0 (f32x4.add (local.get $a0)
              (f32x4.mul (v128.load (i32.add (local.get $q) (local.get $t)))
                         (v128.load (i32.add (local.get $x) (local.get $t))))))))
        (local.set $a0 (f32x4.add (local.get $a0) (local.get $a1)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
            (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
        (local.set $x (i32.add (local.get $x) (local.get $bytes)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; Nearest centroid, GEMM-style: score(i, j) = bias[j] + alpha * (x_i . c_j), minimised over j.
  ;; For L2 pass bias = ||c_j||^2 and alpha = -2 (the caller adds ||x_i||^2); for dot pass bias = 0
  ;; and alpha = -1. Rows start at x with a stride of xstride bytes (PQ sub-spaces are strided
  ;; views); centroids are contiguous with dim floats each. Writes the winning index (u32), its
  ;; score (f32) and the runner-up score (f32, for k-means bounds) per row. A 4-row x 2-centroid
  ;; register block: 6 loads feed 8 multiply-adds. Every (row, centroid) dot product is summed in
  ;; one fixed order (lane l of an f32x4 accumulator takes dimensions l, l + 4, ... in turn, then
  ;; (l0 + l1) + (l2 + l3)), so a score never depends on the block it was computed in.
  ;; The best score is kept with f32x4.pmin(best, s) = (s < best ? s : best): one instruction, and
  ;; exactly the strict less-than select (NaN never wins, the first of equal minima stays).
  (func (export "assign")
    (param $x i32) (param $xstride i32) (param $n i32) (param $c i32) (param $k i32) (param $dim i32)
    (param $bias i32) (param $alpha f32) (param $out_idx i32) (param $out_score i32) (param $out_second i32)
    (local $i i32) (local $j i32) (local $t i32) (local $bytes i32) (local $second v128)
    (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $c0 i32) (local $c1 i32)
    (local $a00 v128) (local $a01 v128) (local $a02 v128) (local $a03 v128)
    (local $a10 v128) (local $a11 v128) (local $a12 v128) (local $a13 v128)
    (local $cv0 v128) (local $cv1 v128) (local $xv v128) (local $p v128) (local $r v128)
    (local $s v128) (local $m v128) (local $best v128) (local $bidx v128) (local $al v128)
    (local $jv v128) (local $jv1 v128)
    (local.set $bytes (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $al (f32x4.splat (local.get $alpha)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x0 (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $xstride))))
        (local.set $x1 (i32.add (local.get $x0) (local.get $xstride)))
        (local.set $x2 (i32.add (local.get $x1) (local.get $xstride)))
        (local.set $x3 (i32.add (local.get $x2) (local.get $xstride)))
        (local.set $best (f32x4.splat (f32.const inf)))
        (local.set $second (f32x4.splat (f32.const inf)))
        (local.set $bidx (v128.const i32x4 0 0 0 0))
        (local.set $jv (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (local.set $c0 (local.get $c))
        (block $cents_done
          (loop $cents
            (br_if $cents_done (i32.ge_u (local.get $j) (local.get $k)))
            (local.set $c1 (i32.add (local.get $c0) (local.get $bytes)))
            (local.set $a00 (v128.const i32x4 0 0 0 0))
            (local.set $a01 (v128.const i32x4 0 0 0 0))
            (local.set $a02 (v128.const i32x4 0 0 0 0))
            (local.set $a03 (v128.const i32x4 0 0 0 0))
            (local.set $a10 (v128.const i32x4 0 0 0 0))
            (local.set $a11 (v128.const i32x4 0 0 0 0))
            (local.set $a12 (v128.const i32x4 0 0 0 0))
            (local.set $a13 (v128.const i32x4 0 0 0 0))
            (local.set $t (i32.const 0))
            (block $cols_done
              (loop $cols
                (br_if $cols_done (i32.ge_u (local.get $t) (local.get $bytes)))
                (local.set $cv0 (v128.load (i32.add (local.get $c0) (local.get $t))))
                (local.set $cv1 (v128.load (i32.add (local.get $c1) (local.get $t))))
                (local.set $xv (v128.load (i32.add (local.get $x0) (local.get $t))))
                (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $xv) (local.get $cv0))))
                (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $xv) (local.get $cv1))))
                (local.set $xv (v128.load (i32.add (local.get $x1) (local.get $t))))
                (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $xv) (local.get $cv0))))
                (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $xv) (local.get $cv1))))
                (local.set $xv (v128.load (i32.add (local.get $x2) (local.get $t))))
                (local.set $a02 (f32x4.add (local.get $a02) (f32x4.mul (local.get $xv) (local.get $cv0))))
                (local.set $a12 (f32x4.add (local.get $a12) (f32x4.mul (local.get $xv) (local.get $cv1))))
                (local.set $xv (v128.load (i32.add (local.get $x3) (local.get $t))))
                (local.set $a03 (f32x4.add (local.get $a03) (f32x4.mul (local.get $xv) (local.get $cv0))))
                (local.set $a13 (f32x4.add (local.get $a13) (f32x4.mul (local.get $xv) (local.get $cv1))))
                (local.set $t (i32.add (local.get $t) (i32.const 16)))
                (br $cols)))
            ;; transpose-add: [sum a00, sum a01, sum a02, sum a03] in 6 shuffles and 3 adds
            (local.set $p (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a00) (local.get $a01))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a00) (local.get $a01))))
            (local.set $r (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a02) (local.get $a03))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a02) (local.get $a03))))
            (local.set $s (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $p) (local.get $r))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $p) (local.get $r))))
            (local.set $jv1 (i32x4.add (local.get $jv) (v128.const i32x4 1 1 1 1)))
            (local.set $s (f32x4.add
              (v128.load32_splat offset=0 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))
              (f32x4.mul (local.get $al) (local.get $s))))
            (local.set $second (f32x4.min (local.get $second) (f32x4.max (local.get $s) (local.get $best))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (f32x4.pmin (local.get $best) (local.get $s)))
            (local.set $bidx (v128.bitselect (local.get $jv) (local.get $bidx) (local.get $m)))
            ;; second centroid of the pair
            (local.set $p (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a10) (local.get $a11))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a10) (local.get $a11))))
            (local.set $r (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a12) (local.get $a13))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a12) (local.get $a13))))
            (local.set $s (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $p) (local.get $r))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $p) (local.get $r))))
            (local.set $s (f32x4.add
              (v128.load32_splat offset=4 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))
              (f32x4.mul (local.get $al) (local.get $s))))
            (local.set $second (f32x4.min (local.get $second) (f32x4.max (local.get $s) (local.get $best))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (f32x4.pmin (local.get $best) (local.get $s)))
            (local.set $bidx (v128.bitselect (local.get $jv1) (local.get $bidx) (local.get $m)))
            (local.set $jv (i32x4.add (local.get $jv) (v128.const i32x4 2 2 2 2)))
            (local.set $c0 (i32.add (local.get $c1) (local.get $bytes)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $cents)))
        (v128.store (i32.add (local.get $out_idx) (i32.shl (local.get $i) (i32.const 2))) (local.get $bidx))
        (v128.store (i32.add (local.get $out_score) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
        (v128.store (i32.add (local.get $out_second) (i32.shl (local.get $i) (i32.const 2))) (local.get $second))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; `assign` without the runner-up score (assignment and PQ encoding need only the winner): the
  ;; same scores and winners, minus the two NaN-exact min / max sequences (~7 instructions each
  ;; in V8) per (row block, centroid).
  (func (export "assign_idx")
    (param $x i32) (param $xstride i32) (param $n i32) (param $c i32) (param $k i32) (param $dim i32)
    (param $bias i32) (param $alpha f32) (param $out_idx i32) (param $out_score i32)
    (local $i i32) (local $j i32) (local $t i32) (local $bytes i32) (local $second v128)
    (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $c0 i32) (local $c1 i32)
    (local $a00 v128) (local $a01 v128) (local $a02 v128) (local $a03 v128)
    (local $a10 v128) (local $a11 v128) (local $a12 v128) (local $a13 v128)
    (local $cv0 v128) (local $cv1 v128) (local $xv v128) (local $p v128) (local $r v128)
    (local $s v128) (local $m v128) (local $best v128) (local $bidx v128) (local $al v128)
    (local $jv v128) (local $jv1 v128)
    (local.set $bytes (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $al (f32x4.splat (local.get $alpha)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $x0 (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $xstride))))
        (local.set $x1 (i32.add (local.get $x0) (local.get $xstride)))
        (local.set $x2 (i32.add (local.get $x1) (local.get $xstride)))
        (local.set $x3 (i32.add (local.get $x2) (local.get $xstride)))
        (local.set $best (f32x4.splat (f32.const inf)))
        (local.set $bidx (v128.const i32x4 0 0 0 0))
        (local.set $jv (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (local.set $c0 (local.get $c))
        (block $cents_done
          (loop $cents
            (br_if $cents_done (i32.ge_u (local.get $j) (local.get $k)))
            (local.set $c1 (i32.add (local.get $c0) (local.get $bytes)))
            (local.set $a00 (v128.const i32x4 0 0 0 0))
            (local.set $a01 (v128.const i32x4 0 0 0 0))
            (local.set $a02 (v128.const i32x4 0 0 0 0))
            (local.set $a03 (v128.const i32x4 0 0 0 0))
            (local.set $a10 (v128.const i32x4 0 0 0 0))
            (local.set $a11 (v128.const i32x4 0 0 0 0))
            (local.set $a12 (v128.const i32x4 0 0 0 0))
            (local.set $a13 (v128.const i32x4 0 0 0 0))
            (local.set $t (i32.const 0))
            (block $cols_done
              (loop $cols
                (br_if $cols_done (i32.ge_u (local.get $t) (local.get $bytes)))
                (local.set $cv0 (v128.load (i32.add (local.get $c0) (local.get $t))))
                (local.set $cv1 (v128.load (i32.add (local.get $c1) (local.get $t))))
                (local.set $xv (v128.load (i32.add (local.get $x0) (local.get $t))))
                (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $xv) (local.get $cv0))))
                (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $xv) (local.get $cv1))))
                (local.set $xv (v128.load (i32.add (local.get $x1) (local.get $t))))
                (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $xv) (local.get $cv0))))
                (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $xv) (local.get $cv1))))
                (local.set $xv (v128.load (i32.add (local.get $x2) (local.get $t))))
                (local.set $a02 (f32x4.add (local.get $a02) (f32x4.mul (local.get $xv) (local.get $cv0))))
                (local.set $a12 (f32x4.add (local.get $a12) (f32x4.mul (local.get $xv) (local.get $cv1))))
                (local.set $xv (v128.load (i32.add (local.get $x3) (local.get $t))))
                (local.set $a03 (f32x4.add (local.get $a03) (f32x4.mul (local.get $xv) (local.get $cv0))))
                (local.set $a13 (f32x4.add (local.get $a13) (f32x4.mul (local.get $xv) (local.get $cv1))))
                (local.set $t (i32.add (local.get $t) (i32.const 16)))
                (br $cols)))
            ;; transpose-add: [sum a00, sum a01, sum a02, sum a03] in 6 shuffles and 3 adds
            (local.set $p (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a00) (local.get $a01))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a00) (local.get $a01))))
            (local.set $r (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a02) (local.get $a03))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a02) (local.get $a03))))
            (local.set $s (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $p) (local.get $r))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $p) (local.get $r))))
            (local.set $jv1 (i32x4.add (local.get $jv) (v128.const i32x4 1 1 1 1)))
            (local.set $s (f32x4.add
              (v128.load32_splat offset=0 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))
              (f32x4.mul (local.get $al) (local.get $s))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (f32x4.pmin (local.get $best) (local.get $s)))
            (local.set $bidx (v128.bitselect (local.get $jv) (local.get $bidx) (local.get $m)))
            ;; second centroid of the pair
            (local.set $p (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a10) (local.get $a11))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a10) (local.get $a11))))
            (local.set $r (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $a12) (local.get $a13))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $a12) (local.get $a13))))
            (local.set $s (f32x4.add
              (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 (local.get $p) (local.get $r))
              (i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 (local.get $p) (local.get $r))))
            (local.set $s (f32x4.add
              (v128.load32_splat offset=4 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))
              (f32x4.mul (local.get $al) (local.get $s))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (f32x4.pmin (local.get $best) (local.get $s)))
            (local.set $bidx (v128.bitselect (local.get $jv1) (local.get $bidx) (local.get $m)))
            (local.set $jv (i32x4.add (local.get $jv) (v128.const i32x4 2 2 2 2)))
            (local.set $c0 (i32.add (local.get $c1) (local.get $bytes)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $cents)))
        (v128.store (i32.add (local.get $out_idx) (i32.shl (local.get $i) (i32.const 2))) (local.get $bidx))
        (v128.store (i32.add (local.get $out_score) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; Nearest centroid for rows of at most 8 floats (PQ sub-vectors): same contract as `assign`
  ;; with dim = 8, but rows arrive transposed in blocks of four, block b at xt + 128 * b holding
  ;; dimension d of rows 4b..4b+3 at offset 16 * d. The eight row vectors stay in registers and
  ;; each centroid coordinate is a broadcast load, so no horizontal sums are needed.
  (func (export "assign_t8")
    (param $xt i32) (param $n i32) (param $c i32) (param $k i32)
    (param $bias i32) (param $alpha f32) (param $out_idx i32) (param $out_score i32) (param $out_second i32)
    (local $i i32) (local $j i32) (local $cp i32) (local $bp i32) (local $xb i32) (local $second v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $x4 v128) (local $x5 v128) (local $x6 v128) (local $x7 v128)
    (local $ea v128) (local $eb v128) (local $s v128) (local $m v128)
    (local $best v128) (local $bidx v128) (local $al v128) (local $jv v128) (local $end i32)
    (local.set $al (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $c) (i32.shl (local.get $k) (i32.const 5))))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $xb (i32.add (local.get $xt) (i32.shl (local.get $i) (i32.const 5))))
        (local.set $x0 (v128.load (local.get $xb)))
        (local.set $x1 (v128.load offset=16 (local.get $xb)))
        (local.set $x2 (v128.load offset=32 (local.get $xb)))
        (local.set $x3 (v128.load offset=48 (local.get $xb)))
        (local.set $x4 (v128.load offset=64 (local.get $xb)))
        (local.set $x5 (v128.load offset=80 (local.get $xb)))
        (local.set $x6 (v128.load offset=96 (local.get $xb)))
        (local.set $x7 (v128.load offset=112 (local.get $xb)))
        (local.set $best (f32x4.splat (f32.const inf)))
        (local.set $second (f32x4.splat (f32.const inf)))
        (local.set $bidx (v128.const i32x4 0 0 0 0))
        (local.set $jv (v128.const i32x4 0 0 0 0))
        (local.set $cp (local.get $c))
        (local.set $bp (local.get $bias))
        (block $cents_done
          (loop $cents
            (br_if $cents_done (i32.ge_u (local.get $cp) (local.get $end)))
            ;; two partial sums (even / odd dimensions) halve the dependency chain
            (local.set $ea (f32x4.mul (local.get $x0) (v128.load32_splat (local.get $cp))))
            (local.set $eb (f32x4.mul (local.get $x1) (v128.load32_splat offset=4 (local.get $cp))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x2) (v128.load32_splat offset=8 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x3) (v128.load32_splat offset=12 (local.get $cp)))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x4) (v128.load32_splat offset=16 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x5) (v128.load32_splat offset=20 (local.get $cp)))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x6) (v128.load32_splat offset=24 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x7) (v128.load32_splat offset=28 (local.get $cp)))))
            (local.set $s (f32x4.add (v128.load32_splat (local.get $bp))
              (f32x4.mul (local.get $al) (f32x4.add (local.get $ea) (local.get $eb)))))
            (local.set $second (f32x4.min (local.get $second) (f32x4.max (local.get $s) (local.get $best))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (f32x4.pmin (local.get $best) (local.get $s)))
            (local.set $bidx (v128.bitselect (local.get $jv) (local.get $bidx) (local.get $m)))
            (local.set $jv (i32x4.add (local.get $jv) (v128.const i32x4 1 1 1 1)))
            (local.set $cp (i32.add (local.get $cp) (i32.const 32)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 4)))
            (br $cents)))
        (v128.store (i32.add (local.get $out_idx) (i32.shl (local.get $i) (i32.const 2))) (local.get $bidx))
        (v128.store (i32.add (local.get $out_score) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
        (v128.store (i32.add (local.get $out_second) (i32.shl (local.get $i) (i32.const 2))) (local.get $second))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; `assign_t8` without the runner-up score: same winners and scores. At this width the per-centroid
  ;; bookkeeping is as large as the dot product, so dropping the min / max halves the work.
  (func (export "assign_t8_idx")
    (param $xt i32) (param $n i32) (param $c i32) (param $k i32)
    (param $bias i32) (param $alpha f32) (param $out_idx i32) (param $out_score i32)
    (local $i i32) (local $j i32) (local $cp i32) (local $bp i32) (local $xb i32) (local $second v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $x4 v128) (local $x5 v128) (local $x6 v128) (local $x7 v128)
    (local $ea v128) (local $eb v128) (local $s v128) (local $m v128)
    (local $best v128) (local $bidx v128) (local $al v128) (local $jv v128) (local $end i32)
    (local.set $al (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $c) (i32.shl (local.get $k) (i32.const 5))))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $xb (i32.add (local.get $xt) (i32.shl (local.get $i) (i32.const 5))))
        (local.set $x0 (v128.load (local.get $xb)))
        (local.set $x1 (v128.load offset=16 (local.get $xb)))
        (local.set $x2 (v128.load offset=32 (local.get $xb)))
        (local.set $x3 (v128.load offset=48 (local.get $xb)))
        (local.set $x4 (v128.load offset=64 (local.get $xb)))
        (local.set $x5 (v128.load offset=80 (local.get $xb)))
        (local.set $x6 (v128.load offset=96 (local.get $xb)))
        (local.set $x7 (v128.load offset=112 (local.get $xb)))
        (local.set $best (f32x4.splat (f32.const inf)))
        (local.set $bidx (v128.const i32x4 0 0 0 0))
        (local.set $jv (v128.const i32x4 0 0 0 0))
        (local.set $cp (local.get $c))
        (local.set $bp (local.get $bias))
        (block $cents_done
          (loop $cents
            (br_if $cents_done (i32.ge_u (local.get $cp) (local.get $end)))
            ;; two partial sums (even / odd dimensions) halve the dependency chain
            (local.set $ea (f32x4.mul (local.get $x0) (v128.load32_splat (local.get $cp))))
            (local.set $eb (f32x4.mul (local.get $x1) (v128.load32_splat offset=4 (local.get $cp))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x2) (v128.load32_splat offset=8 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x3) (v128.load32_splat offset=12 (local.get $cp)))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x4) (v128.load32_splat offset=16 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x5) (v128.load32_splat offset=20 (local.get $cp)))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x6) (v128.load32_splat offset=24 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x7) (v128.load32_splat offset=28 (local.get $cp)))))
            (local.set $s (f32x4.add (v128.load32_splat (local.get $bp))
              (f32x4.mul (local.get $al) (f32x4.add (local.get $ea) (local.get $eb)))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (f32x4.pmin (local.get $best) (local.get $s)))
            (local.set $bidx (v128.bitselect (local.get $jv) (local.get $bidx) (local.get $m)))
            (local.set $jv (i32x4.add (local.get $jv) (v128.const i32x4 1 1 1 1)))
            (local.set $cp (i32.add (local.get $cp) (i32.const 32)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 4)))
            (br $cents)))
        (v128.store (i32.add (local.get $out_idx) (i32.shl (local.get $i) (i32.const 2))) (local.get $bidx))
        (v128.store (i32.add (local.get $out_score) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; `assign_t8` with the runner-up kept by f32x4.pmin / pmax (one instruction each instead of the
  ;; NaN- and signed-zero-exact min / max sequences): the same output whenever no score is NaN and
  ;; none is -0, which the caller guarantees before choosing it (finite inputs bounded so that no
  ;; sum overflows, no bias of -0); otherwise it calls `assign_t8`.
  (func (export "assign_t8_fast")
    (param $xt i32) (param $n i32) (param $c i32) (param $k i32)
    (param $bias i32) (param $alpha f32) (param $out_idx i32) (param $out_score i32) (param $out_second i32)
    (local $i i32) (local $j i32) (local $cp i32) (local $bp i32) (local $xb i32) (local $second v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $x4 v128) (local $x5 v128) (local $x6 v128) (local $x7 v128)
    (local $ea v128) (local $eb v128) (local $s v128) (local $m v128)
    (local $best v128) (local $bidx v128) (local $al v128) (local $jv v128) (local $end i32)
    (local.set $al (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $c) (i32.shl (local.get $k) (i32.const 5))))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $xb (i32.add (local.get $xt) (i32.shl (local.get $i) (i32.const 5))))
        (local.set $x0 (v128.load (local.get $xb)))
        (local.set $x1 (v128.load offset=16 (local.get $xb)))
        (local.set $x2 (v128.load offset=32 (local.get $xb)))
        (local.set $x3 (v128.load offset=48 (local.get $xb)))
        (local.set $x4 (v128.load offset=64 (local.get $xb)))
        (local.set $x5 (v128.load offset=80 (local.get $xb)))
        (local.set $x6 (v128.load offset=96 (local.get $xb)))
        (local.set $x7 (v128.load offset=112 (local.get $xb)))
        (local.set $best (f32x4.splat (f32.const inf)))
        (local.set $second (f32x4.splat (f32.const inf)))
        (local.set $bidx (v128.const i32x4 0 0 0 0))
        (local.set $jv (v128.const i32x4 0 0 0 0))
        (local.set $cp (local.get $c))
        (local.set $bp (local.get $bias))
        (block $cents_done
          (loop $cents
            (br_if $cents_done (i32.ge_u (local.get $cp) (local.get $end)))
            ;; two partial sums (even / odd dimensions) halve the dependency chain
            (local.set $ea (f32x4.mul (local.get $x0) (v128.load32_splat (local.get $cp))))
            (local.set $eb (f32x4.mul (local.get $x1) (v128.load32_splat offset=4 (local.get $cp))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x2) (v128.load32_splat offset=8 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x3) (v128.load32_splat offset=12 (local.get $cp)))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x4) (v128.load32_splat offset=16 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x5) (v128.load32_splat offset=20 (local.get $cp)))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x6) (v128.load32_splat offset=24 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x7) (v128.load32_splat offset=28 (local.get $cp)))))
            (local.set $s (f32x4.add (v128.load32_splat (local.get $bp))
              (f32x4.mul (local.get $al) (f32x4.add (local.get $ea) (local.get $eb)))))
            (local.set $second (f32x4.pmin (local.get $second) (f32x4.pmax (local.get $s) (local.get $best))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (f32x4.pmin (local.get $best) (local.get $s)))
            (local.set $bidx (v128.bitselect (local.get $jv) (local.get $bidx) (local.get $m)))
            (local.set $jv (i32x4.add (local.get $jv) (v128.const i32x4 1 1 1 1)))
            (local.set $cp (i32.add (local.get $cp) (i32.const 32)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 4)))
            (br $cents)))
        (v128.store (i32.add (local.get $out_idx) (i32.shl (local.get $i) (i32.const 2))) (local.get $bidx))
        (v128.store (i32.add (local.get $out_score) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
        (v128.store (i32.add (local.get $out_second) (i32.shl (local.get $i) (i32.const 2))) (local.get $second))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; The input of `assign_t8` from strided rows: rows i < n of dsub (<= 8) floats at x + i * xstride
  ;; (a PQ sub-space of row-major vectors) into 4-row blocks at out (block b at out + 128 * b,
  ;; dimension d of row 4b + r at offset 16 * d + 4 * r), dimensions dsub..7 zero. n is a multiple of 4.
  (func (export "transpose_t8") (param $x i32) (param $xstride i32) (param $n i32) (param $dsub i32) (param $out i32)
    (local $i i32) (local $d i32) (local $src i32) (local $dst i32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $src (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $xstride))))
        (local.set $dst (i32.add (local.get $out)
          (i32.add (i32.shl (i32.shr_u (local.get $i) (i32.const 2)) (i32.const 7)) (i32.shl (i32.and (local.get $i) (i32.const 3)) (i32.const 2)))))
        (local.set $d (i32.const 0))
        (block $dims_done
          (loop $dims
            (br_if $dims_done (i32.ge_u (local.get $d) (local.get $dsub)))
            (f32.store (i32.add (local.get $dst) (i32.shl (local.get $d) (i32.const 4)))
              (f32.load (i32.add (local.get $src) (i32.shl (local.get $d) (i32.const 2)))))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (br $dims)))
        (block $pad_done
          (loop $pad
            (br_if $pad_done (i32.ge_u (local.get $d) (i32.const 8)))
            (f32.store (i32.add (local.get $dst) (i32.shl (local.get $d) (i32.const 4))) (f32.const 0))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (br $pad)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; PQ distance tables: out[s * 256 + j] = bias[s * 256 + j] + alpha * (q_s . y_sj) for m
  ;; sub-spaces of dsub floats (q_s = q[s * dsub ..]). The codebook arrives transposed in groups of
  ;; four codewords: cbt + 16 * ((s * 64 + g) * dsub + d) holds dimension d of codewords 4g..4g+3
  ;; of sub-space s, so four table entries come out of one f32x4 accumulator without shuffles.
  (func (export "pq_table")
    (param $q i32) (param $cbt i32) (param $m i32) (param $dsub i32) (param $bias i32) (param $alpha f32) (param $out i32)
    (local $s i32) (local $g i32) (local $d i32) (local $qs i32) (local $cp i32) (local $op i32) (local $bp i32)
    (local $acc v128) (local $al v128)
    (local.set $al (f32x4.splat (local.get $alpha)))
    (local.set $cp (local.get $cbt))
    (local.set $op (local.get $out))
    (local.set $bp (local.get $bias))
    (local.set $qs (local.get $q))
    (block $subs_done
      (loop $subs
        (br_if $subs_done (i32.ge_u (local.get $s) (local.get $m)))
        (local.set $g (i32.const 0))
        (block $groups_done
          (loop $groups
            (br_if $groups_done (i32.ge_u (local.get $g) (i32.const 64)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $d (i32.const 0))
            (block $dims_done
              (loop $dims
                (br_if $dims_done (i32.ge_u (local.get $d) (local.get $dsub)))
                (local.set $acc (f32x4.add (local.get $acc)
                  (f32x4.mul (v128.load32_splat (i32.add (local.get $qs) (i32.shl (local.get $d) (i32.const 2))))
                             (v128.load (local.get $cp)))))
                (local.set $cp (i32.add (local.get $cp) (i32.const 16)))
                (local.set $d (i32.add (local.get $d) (i32.const 1)))
                (br $dims)))
            (v128.store (local.get $op)
              (f32x4.add (v128.load (local.get $bp)) (f32x4.mul (local.get $al) (local.get $acc))))
            (local.set $op (i32.add (local.get $op) (i32.const 16)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 16)))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $groups)))
        (local.set $qs (i32.add (local.get $qs) (i32.shl (local.get $dsub) (i32.const 2))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $subs))))

  ;; Asymmetric distance scan: out[i] = sum_s table[s * 256 + codes[i * stride + s]] over m
  ;; sub-spaces. Used for PQ (one byte per sub-vector) and for RaBitQ (one byte of sign bits per
  ;; 8 dimensions, table entry = sum of the query's rotated coordinates whose bit is set).
  (func (export "adc") (param $codes i32) (param $n i32) (param $m i32) (param $stride i32) (param $table i32) (param $out i32)
    (local $i i32) (local $s i32) (local $p i32) (local $tp i32) (local $acc0 f32) (local $acc1 f32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $i) (local.get $stride))))
        (local.set $tp (local.get $table))
        (local.set $s (i32.const 0))
        (local.set $acc0 (f32.const 0))
        (local.set $acc1 (f32.const 0))
        (block $subs_done
          (loop $subs
            (br_if $subs_done (i32.gt_u (i32.add (local.get $s) (i32.const 2)) (local.get $m)))
            (local.set $acc0 (f32.add (local.get $acc0)
              (f32.load (i32.add (local.get $tp) (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $acc1 (f32.add (local.get $acc1)
              (f32.load offset=1024 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=1 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $tp (i32.add (local.get $tp) (i32.const 2048)))
            (local.set $s (i32.add (local.get $s) (i32.const 2)))
            (br $subs)))
        (if (i32.lt_u (local.get $s) (local.get $m))
          (then
            (local.set $acc0 (f32.add (local.get $acc0)
              (f32.load (i32.add (local.get $tp) (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (f32.add (local.get $acc0) (local.get $acc1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; ---- search kernels (added for fast search) ----

  ;; `adc` fused with the distance finish and a first cut: per row the same even/odd sums as
  ;; `adc`, then d = max(0, demote(f64(sum) + bias)) (the clamp of the expanded-form distance; a
  ;; NaN becomes 0 as in the scalar path), and rows with d <= threshold (f64 compare) are written
  ;; as (row index u32, d f32) to out_idx / out_dist. Returns how many were written. The caller
  ;; re-checks each against its live threshold, so a stale (larger) threshold only costs time.
  (func (export "adc_select") (param $codes i32) (param $n i32) (param $m i32) (param $stride i32) (param $table i32)
    (param $bias f64) (param $threshold f64) (param $out_idx i32) (param $out_dist i32) (result i32)
    (local $i i32) (local $s i32) (local $p i32) (local $tp i32) (local $acc0 f32) (local $acc1 f32)
    (local $v f64) (local $d f32) (local $count i32)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $codes) (i32.mul (local.get $i) (local.get $stride))))
        (local.set $tp (local.get $table))
        (local.set $s (i32.const 0))
        (local.set $acc0 (f32.const 0))
        (local.set $acc1 (f32.const 0))
        (block $subs_done
          (loop $subs
            (br_if $subs_done (i32.gt_u (i32.add (local.get $s) (i32.const 2)) (local.get $m)))
            (local.set $acc0 (f32.add (local.get $acc0)
              (f32.load (i32.add (local.get $tp) (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $acc1 (f32.add (local.get $acc1)
              (f32.load offset=1024 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=1 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $tp (i32.add (local.get $tp) (i32.const 2048)))
            (local.set $s (i32.add (local.get $s) (i32.const 2)))
            (br $subs)))
        (if (i32.lt_u (local.get $s) (local.get $m))
          (then
            (local.set $acc0 (f32.add (local.get $acc0)
              (f32.load (i32.add (local.get $tp) (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))))
        (local.set $v (f64.add (f64.promote_f32 (f32.add (local.get $acc0) (local.get $acc1))) (local.get $bias)))
        (local.set $d (f32.const 0))
        (if (f64.gt (local.get $v) (f64.const 0))
          (then (local.set $d (f32.demote_f64 (local.get $v)))))
        (if (f64.le (f64.promote_f32 (local.get $d)) (local.get $threshold))
          (then
            (i32.store (i32.add (local.get $out_idx) (i32.shl (local.get $count) (i32.const 2))) (local.get $i))
            (f32.store (i32.add (local.get $out_dist) (i32.shl (local.get $count) (i32.const 2))) (local.get $d))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (local.get $count))

  ;; ---- search kernels, second set ----

  ;; out[i] = a[i] + b[i] for len floats (len a multiple of 4): a probe's residual PQ table as the
  ;; query term plus the partition term (f32 sums: the values the scalar loop stored).
  (func (export "f32_add") (param $a i32) (param $b i32) (param $out i32) (param $len i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $len) (i32.const 2))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (v128.store (local.get $out) (f32x4.add (v128.load (local.get $a)) (v128.load (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $each))))

  ;; `adc_select` for m a multiple of 8 and stride = m, with each block of 8 sub-spaces unrolled
  ;; (constant code and table offsets: fewer instructions per lookup, ~1.3x). The per-row sums
  ;; are those of `adc` (even sub-spaces into one f32 sum, odd into the other, in order), so the
  ;; output is bit-identical to `adc_select`.
  (func (export "adc_select_m8") (param $codes i32) (param $n i32) (param $m i32) (param $table i32)
    (param $bias f64) (param $threshold f64) (param $out_idx i32) (param $out_dist i32) (result i32)
    (local $i i32) (local $s i32) (local $p i32) (local $tp i32)
    (local $a0 f32) (local $a1 f32)
    (local $v f64) (local $d f32) (local $count i32)
    (local.set $p (local.get $codes))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $tp (local.get $table))
        (local.set $s (i32.const 0))
        (local.set $a0 (f32.const 0))
        (local.set $a1 (f32.const 0))
        (block $subs_done
          (loop $subs
            (local.set $a0 (f32.add (local.get $a0) (f32.load offset=0 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=0 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $a1 (f32.add (local.get $a1) (f32.load offset=1024 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=1 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $a0 (f32.add (local.get $a0) (f32.load offset=2048 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=2 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $a1 (f32.add (local.get $a1) (f32.load offset=3072 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=3 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $a0 (f32.add (local.get $a0) (f32.load offset=4096 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=4 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $a1 (f32.add (local.get $a1) (f32.load offset=5120 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=5 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $a0 (f32.add (local.get $a0) (f32.load offset=6144 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=6 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $a1 (f32.add (local.get $a1) (f32.load offset=7168 (i32.add (local.get $tp) (i32.shl (i32.load8_u offset=7 (i32.add (local.get $p) (local.get $s))) (i32.const 2))))))
            (local.set $tp (i32.add (local.get $tp) (i32.const 8192)))
            (local.set $s (i32.add (local.get $s) (i32.const 8)))
            (br_if $subs (i32.lt_u (local.get $s) (local.get $m)))))
        (local.set $v (f64.add (f64.promote_f32 (f32.add (local.get $a0) (local.get $a1))) (local.get $bias)))
        (local.set $d (f32.const 0))
        (if (f64.gt (local.get $v) (f64.const 0))
          (then (local.set $d (f32.demote_f64 (local.get $v)))))
        (if (f64.le (f64.promote_f32 (local.get $d)) (local.get $threshold))
          (then
            (i32.store (i32.add (local.get $out_idx) (i32.shl (local.get $count) (i32.const 2))) (local.get $i))
            (f32.store (i32.add (local.get $out_dist) (i32.shl (local.get $count) (i32.const 2))) (local.get $d))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (local.get $m)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (local.get $count))

  ;; `adc_select` for m = 16 and stride 16 (PQ16, the common shape), fully unrolled: no inner
  ;; loop, every code and table offset a constant (~1.4x `adc_select`). Same sums, same output.
  (func (export "adc_select_m16") (param $codes i32) (param $n i32) (param $table i32)
    (param $bias f64) (param $threshold f64) (param $out_idx i32) (param $out_dist i32) (result i32)
    (local $i i32) (local $p i32)
    (local $a0 f32) (local $a1 f32)
    (local $v f64) (local $d f32) (local $count i32)
    (local.set $p (local.get $codes))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $a0 (f32.const 0))
        (local.set $a1 (f32.const 0))
        (local.set $a0 (f32.add (local.get $a0) (f32.load offset=0 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=0 (local.get $p)) (i32.const 2))))))
        (local.set $a1 (f32.add (local.get $a1) (f32.load offset=1024 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 2))))))
        (local.set $a0 (f32.add (local.get $a0) (f32.load offset=2048 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 2))))))
        (local.set $a1 (f32.add (local.get $a1) (f32.load offset=3072 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=3 (local.get $p)) (i32.const 2))))))
        (local.set $a0 (f32.add (local.get $a0) (f32.load offset=4096 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=4 (local.get $p)) (i32.const 2))))))
        (local.set $a1 (f32.add (local.get $a1) (f32.load offset=5120 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=5 (local.get $p)) (i32.const 2))))))
        (local.set $a0 (f32.add (local.get $a0) (f32.load offset=6144 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=6 (local.get $p)) (i32.const 2))))))
        (local.set $a1 (f32.add (local.get $a1) (f32.load offset=7168 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=7 (local.get $p)) (i32.const 2))))))
        (local.set $a0 (f32.add (local.get $a0) (f32.load offset=8192 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=8 (local.get $p)) (i32.const 2))))))
        (local.set $a1 (f32.add (local.get $a1) (f32.load offset=9216 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=9 (local.get $p)) (i32.const 2))))))
        (local.set $a0 (f32.add (local.get $a0) (f32.load offset=10240 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=10 (local.get $p)) (i32.const 2))))))
        (local.set $a1 (f32.add (local.get $a1) (f32.load offset=11264 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=11 (local.get $p)) (i32.const 2))))))
        (local.set $a0 (f32.add (local.get $a0) (f32.load offset=12288 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=12 (local.get $p)) (i32.const 2))))))
        (local.set $a1 (f32.add (local.get $a1) (f32.load offset=13312 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=13 (local.get $p)) (i32.const 2))))))
        (local.set $a0 (f32.add (local.get $a0) (f32.load offset=14336 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=14 (local.get $p)) (i32.const 2))))))
        (local.set $a1 (f32.add (local.get $a1) (f32.load offset=15360 (i32.add (local.get $table) (i32.shl (i32.load8_u offset=15 (local.get $p)) (i32.const 2))))))
        (local.set $v (f64.add (f64.promote_f32 (f32.add (local.get $a0) (local.get $a1))) (local.get $bias)))
        (local.set $d (f32.const 0))
        (if (f64.gt (local.get $v) (f64.const 0))
          (then (local.set $d (f32.demote_f64 (local.get $v)))))
        (if (f64.le (f64.promote_f32 (local.get $d)) (local.get $threshold))
          (then
            (i32.store (i32.add (local.get $out_idx) (i32.shl (local.get $count) (i32.const 2))) (local.get $i))
            (f32.store (i32.add (local.get $out_dist) (i32.shl (local.get $count) (i32.const 2))) (local.get $d))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
    (local.get $count))

  ;; --- ivffast ---
  ;; k-means centroid sums: for each of n contiguous rows of dim floats, sums[assign[i]] += row
  ;; and counts[assign[i]] += 1, in f64 and in row order. Each (centroid, dimension) sum takes the
  ;; same f64 additions in the same order as a scalar loop (lanes are different dimensions), so
  ;; the sums are bit-identical to one.
  (func (export "km_accumulate")
    (param $x i32) (param $n i32) (param $dim i32) (param $assign i32) (param $sums i32) (param $counts i32)
    (local $i i32) (local $t i32) (local $xp i32) (local $sp i32) (local $j i32) (local $cp i32)
    (local $dim4 i32) (local $v v128)
    (local.set $dim4 (i32.and (local.get $dim) (i32.const -4)))
    (local.set $xp (local.get $x))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $j (i32.load (i32.add (local.get $assign) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $cp (i32.add (local.get $counts) (i32.shl (local.get $j) (i32.const 3))))
        (f64.store (local.get $cp) (f64.add (f64.load (local.get $cp)) (f64.const 1)))
        (local.set $sp (i32.add (local.get $sums) (i32.shl (i32.mul (local.get $j) (local.get $dim)) (i32.const 3))))
        (local.set $t (i32.const 0))
        (block $vec_done
          (loop $vec
            (br_if $vec_done (i32.ge_u (local.get $t) (local.get $dim4)))
            (local.set $v (v128.load (i32.add (local.get $xp) (i32.shl (local.get $t) (i32.const 2)))))
            (v128.store (i32.add (local.get $sp) (i32.shl (local.get $t) (i32.const 3)))
              (f64x2.add (v128.load (i32.add (local.get $sp) (i32.shl (local.get $t) (i32.const 3))))
                (f64x2.promote_low_f32x4 (local.get $v))))
            (v128.store offset=16 (i32.add (local.get $sp) (i32.shl (local.get $t) (i32.const 3)))
              (f64x2.add (v128.load offset=16 (i32.add (local.get $sp) (i32.shl (local.get $t) (i32.const 3))))
                (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $vec)))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $t) (local.get $dim)))
            (f64.store (i32.add (local.get $sp) (i32.shl (local.get $t) (i32.const 3)))
              (f64.add (f64.load (i32.add (local.get $sp) (i32.shl (local.get $t) (i32.const 3))))
                (f64.promote_f32 (f32.load (i32.add (local.get $xp) (i32.shl (local.get $t) (i32.const 2)))))))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $tail)))
        (local.set $xp (i32.add (local.get $xp) (i32.shl (local.get $dim) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; Squared l2 distance of each of n contiguous rows of dim floats to its assigned centroid
  ;; (c: k rows of dim floats, assign: u32 per row), in f64: each difference, its square and the
  ;; sum in f64, a scalar sum per dimension in order, so the result is bit-identical to a scalar
  ;; loop's (d = x - c; d2 += d * d) in f64.
  (func (export "km_dist_assigned")
    (param $x i32) (param $n i32) (param $dim i32) (param $c i32) (param $assign i32) (param $out i32)
    (local $i i32) (local $t i32) (local $xp i32) (local $cp i32) (local $d f64) (local $s f64)
    (local.set $xp (local.get $x))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $cp (i32.add (local.get $c) (i32.shl (i32.mul (i32.load (i32.add (local.get $assign) (i32.shl (local.get $i) (i32.const 2)))) (local.get $dim)) (i32.const 2))))
        (local.set $s (f64.const 0))
        (local.set $t (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $t) (local.get $dim)))
            (local.set $d (f64.sub
              (f64.promote_f32 (f32.load (i32.add (local.get $xp) (i32.shl (local.get $t) (i32.const 2)))))
              (f64.promote_f32 (f32.load (i32.add (local.get $cp) (i32.shl (local.get $t) (i32.const 2)))))))
            (local.set $s (f64.add (local.get $s) (f64.mul (local.get $d) (local.get $d))))
            (local.set $t (i32.add (local.get $t) (i32.const 1)))
            (br $cols)))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))) (local.get $s))
        (local.set $xp (i32.add (local.get $xp) (i32.shl (local.get $dim) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
)
