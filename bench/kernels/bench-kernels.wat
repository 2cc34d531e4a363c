;; Bench-only kernels, never shipped: the previous `assign` / `assign_t8` of
;; packages/ivf/src/kernels/vector.wat (same contract and results, kept so bench/kernels.bench.ts can
;; time old vs new in one run and bench/test/bench-kernels.test.ts can check the shipped kernels
;; against them bit for bit) and a peak estimate. Assembled by packages/ivf/scripts/build-kernels.ts
;; into bench/kernels/bench-kernels.wasm.ts. The module imports the shipped module's memory
;; (`kernels.memory`), so it runs on inputs already placed there by the shipped module's arena.
(module
  (import "kernels" "memory" (memory 1))

  ;; ---- the previous assign / assign_t8, so bench/kernels.bench.ts can show before / after ----
  ;; (same contract and results as `assign` / `assign_t8` of vector.wat)
  (func (export "bench_assign_v0")
    (param $x i32) (param $xstride i32) (param $n i32) (param $c i32) (param $k i32) (param $dim i32)
    (param $bias i32) (param $alpha f32) (param $out_idx i32) (param $out_score i32) (param $out_second i32)
    (local $i i32) (local $j i32) (local $t i32) (local $bytes i32) (local $second v128)
    (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32) (local $c0 i32) (local $c1 i32)
    (local $a00 v128) (local $a01 v128) (local $a02 v128) (local $a03 v128)
    (local $a10 v128) (local $a11 v128) (local $a12 v128) (local $a13 v128)
    (local $cv0 v128) (local $cv1 v128) (local $xv v128) (local $p v128) (local $r v128)
    (local $s v128) (local $m v128) (local $best v128) (local $bidx v128) (local $al v128)
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
        (local.set $j (i32.const 0))
        (local.set $c0 (local.get $c))
        (block $cents_done
          (loop $cents
            (br_if $cents_done (i32.ge_u (local.get $j) (local.get $k)))
            (local.set $c1 (i32.add (local.get $c0) (local.get $bytes)))
            (local.set $a00 (v128.const i32x4 0 0 0 0)) (local.set $a01 (v128.const i32x4 0 0 0 0))
            (local.set $a02 (v128.const i32x4 0 0 0 0)) (local.set $a03 (v128.const i32x4 0 0 0 0))
            (local.set $a10 (v128.const i32x4 0 0 0 0)) (local.set $a11 (v128.const i32x4 0 0 0 0))
            (local.set $a12 (v128.const i32x4 0 0 0 0)) (local.set $a13 (v128.const i32x4 0 0 0 0))
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
            (local.set $s (f32x4.add
              (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))
              (f32x4.mul (local.get $al) (local.get $s))))
            ;; runner-up score (k-means distance bounds): min(second, max(s, best)) before best moves
            (local.set $second (f32x4.min (local.get $second) (f32x4.max (local.get $s) (local.get $best))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $s) (local.get $best) (local.get $m)))
            (local.set $bidx (v128.bitselect (i32x4.splat (local.get $j)) (local.get $bidx) (local.get $m)))
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
            ;; runner-up score (k-means distance bounds): min(second, max(s, best)) before best moves
            (local.set $second (f32x4.min (local.get $second) (f32x4.max (local.get $s) (local.get $best))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $s) (local.get $best) (local.get $m)))
            (local.set $bidx (v128.bitselect (i32x4.splat (i32.add (local.get $j) (i32.const 1)))
                                             (local.get $bidx) (local.get $m)))
            (local.set $c0 (i32.add (local.get $c1) (local.get $bytes)))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $cents)))
        (v128.store (i32.add (local.get $out_idx) (i32.shl (local.get $i) (i32.const 2))) (local.get $bidx))
        (v128.store (i32.add (local.get $out_score) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
        (v128.store (i32.add (local.get $out_second) (i32.shl (local.get $i) (i32.const 2))) (local.get $second))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  (func (export "bench_assign_t8_v0")
    (param $xt i32) (param $n i32) (param $c i32) (param $k i32)
    (param $bias i32) (param $alpha f32) (param $out_idx i32) (param $out_score i32) (param $out_second i32)
    (local $i i32) (local $j i32) (local $cp i32) (local $xb i32) (local $second v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $x4 v128) (local $x5 v128) (local $x6 v128) (local $x7 v128)
    (local $ea v128) (local $eb v128) (local $s v128) (local $m v128)
    (local $best v128) (local $bidx v128) (local $al v128)
    (local.set $al (f32x4.splat (local.get $alpha)))
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
        (local.set $j (i32.const 0))
        (local.set $cp (local.get $c))
        (block $cents_done
          (loop $cents
            (br_if $cents_done (i32.ge_u (local.get $j) (local.get $k)))
            ;; two partial sums (even / odd dimensions) halve the dependency chain
            (local.set $ea (f32x4.mul (local.get $x0) (v128.load32_splat (local.get $cp))))
            (local.set $eb (f32x4.mul (local.get $x1) (v128.load32_splat offset=4 (local.get $cp))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x2) (v128.load32_splat offset=8 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x3) (v128.load32_splat offset=12 (local.get $cp)))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x4) (v128.load32_splat offset=16 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x5) (v128.load32_splat offset=20 (local.get $cp)))))
            (local.set $ea (f32x4.add (local.get $ea) (f32x4.mul (local.get $x6) (v128.load32_splat offset=24 (local.get $cp)))))
            (local.set $eb (f32x4.add (local.get $eb) (f32x4.mul (local.get $x7) (v128.load32_splat offset=28 (local.get $cp)))))
            (local.set $s (f32x4.add
              (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))
              (f32x4.mul (local.get $al) (f32x4.add (local.get $ea) (local.get $eb)))))
            ;; runner-up score (k-means distance bounds): min(second, max(s, best)) before best moves
            (local.set $second (f32x4.min (local.get $second) (f32x4.max (local.get $s) (local.get $best))))
            (local.set $m (f32x4.lt (local.get $s) (local.get $best)))
            (local.set $best (v128.bitselect (local.get $s) (local.get $best) (local.get $m)))
            (local.set $bidx (v128.bitselect (i32x4.splat (local.get $j)) (local.get $bidx) (local.get $m)))
            (local.set $cp (i32.add (local.get $cp) (i32.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cents)))
        (v128.store (i32.add (local.get $out_idx) (i32.shl (local.get $i) (i32.const 2))) (local.get $bidx))
        (v128.store (i32.add (local.get $out_score) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
        (v128.store (i32.add (local.get $out_second) (i32.shl (local.get $i) (i32.const 2))) (local.get $second))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows))))

  ;; Peak estimate for the benches: `iters` steps of eight independent f32x4 multiply-then-add
  ;; chains on registers (a_i += b_i * m: 64 flops per step, no loads, each add waiting only for
  ;; its own chain's previous add); the sum of the chains is stored at out.
  (func (export "bench_peak_muladd") (param $iters i32) (param $out i32)
    (local $i i32) (local $m v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local.set $m (v128.load (local.get $out)))
    (local.set $b0 (v128.load offset=16 (local.get $out)))
    (local.set $b1 (f32x4.add (local.get $b0) (local.get $m)))
    (local.set $b2 (f32x4.add (local.get $b1) (local.get $m)))
    (local.set $b3 (f32x4.add (local.get $b2) (local.get $m)))
    (block $done
      (loop $steps
        (br_if $done (i32.ge_u (local.get $i) (local.get $iters)))
        (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $b0) (local.get $m))))
        (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $b1) (local.get $m))))
        (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $b2) (local.get $m))))
        (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $b3) (local.get $m))))
        (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $b0) (local.get $b1))))
        (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $b1) (local.get $b2))))
        (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $b2) (local.get $b3))))
        (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $b3) (local.get $b0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $steps)))
    (v128.store (local.get $out) (f32x4.add (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3)))
                                            (f32x4.add (f32x4.add (local.get $a4) (local.get $a5)) (f32x4.add (local.get $a6) (local.get $a7)))))))
