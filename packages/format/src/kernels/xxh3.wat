;; XXH3-64 (xxHash 0.8, seed 0, default secret) over bytes in this module's memory.
;; Assembled by packages/format/scripts/build-checksum-kernel.ts into
;; src/internal/xxh3-kernel.wasm.ts; tests compare it with the native hasher on every length up to
;; a few KiB and on random longer inputs.
;;
;; Why a kernel of our own: the native hasher (xxhash-addon) costs microseconds per call whatever
;; the length (it allocates a result Buffer), which dominates the checksums of small sections; this
;; kernel costs a copy into its memory plus a call. Long inputs keep the native path (AVX2/AVX-512
;; against 128-bit SIMD here); the crossover is measured by bench/cache-decode.bench.ts.
;;
;; Memory: bytes [0, 192) hold the default secret; callers copy the input to offset 256 or later
;; and call $xxh3 with its address and length. Addresses and lengths are trusted (the caller
;; checks that the input fits the memory); nothing here reads outside [p, p + len) or the secret.
(module
  (memory (export "memory") 1)
  (data (i32.const 0)
    "\b8\fe\6c\39\23\a4\4b\be\7c\01\81\2c\f7\21\ad\1c\de\d4\6d\e9\83\90\97\db\72\40\a4\a4\b7\b3\67\1f"
    "\cb\79\e6\4e\cc\c0\e5\78\82\5a\d0\7d\cc\ff\72\21\b8\08\46\74\f7\43\24\8e\e0\35\90\e6\81\3a\26\4c"
    "\3c\28\52\bb\91\c3\00\cb\88\d0\65\8b\1b\53\2e\a3\71\64\48\97\a2\0d\f9\4e\38\19\ef\46\a9\de\ac\d8"
    "\a8\fa\76\3f\e3\9c\34\3f\f9\dc\bb\c7\c7\0b\4f\1d\8a\51\e0\4b\cd\b4\59\31\c8\9f\7e\c9\d9\78\73\64"
    "\ea\c5\ac\83\34\d3\eb\c3\c5\81\a0\ff\fa\13\63\eb\17\0d\dd\51\b7\f0\da\49\d3\16\55\26\29\d4\68\9e"
    "\2b\16\be\58\7d\47\a1\fc\8f\f8\b8\d1\7a\d0\31\ce\45\cb\3a\8f\95\16\04\28\af\d7\fb\ca\bb\4b\40\7e")

  ;; the low and high halves of the 128-bit product a * b, folded by XOR (mul128_fold64)
  (func $fold (param $a i64) (param $b i64) (result i64)
    (local $ll i64) (local $lh i64) (local $hl i64) (local $cross i64)
    (local.set $ll (i64.mul (i64.and (local.get $a) (i64.const 0xffffffff)) (i64.and (local.get $b) (i64.const 0xffffffff))))
    (local.set $lh (i64.mul (i64.and (local.get $a) (i64.const 0xffffffff)) (i64.shr_u (local.get $b) (i64.const 32))))
    (local.set $hl (i64.mul (i64.shr_u (local.get $a) (i64.const 32)) (i64.and (local.get $b) (i64.const 0xffffffff))))
    (local.set $cross (i64.add (i64.add (i64.shr_u (local.get $ll) (i64.const 32)) (i64.and (local.get $lh) (i64.const 0xffffffff))) (local.get $hl)))
    (i64.xor
      (i64.or (i64.shl (local.get $cross) (i64.const 32)) (i64.and (local.get $ll) (i64.const 0xffffffff)))
      (i64.add (i64.add (i64.mul (i64.shr_u (local.get $a) (i64.const 32)) (i64.shr_u (local.get $b) (i64.const 32)))
        (i64.shr_u (local.get $lh) (i64.const 32))) (i64.shr_u (local.get $cross) (i64.const 32)))))

  (func $avalanche (param $h i64) (result i64)
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 37))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0x165667919E3779F9)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))

  (func $avalanche64 (param $h i64) (result i64)
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0xC2B2AE3D27D4EB4F)))
    (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))))
    (local.set $h (i64.mul (local.get $h) (i64.const 0x165667B19E3779F9)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))

  (func $bswap64 (param $x i64) (result i64)
    (i64x2.extract_lane 0 (i8x16.shuffle 7 6 5 4 3 2 1 0 15 14 13 12 11 10 9 8 (i64x2.splat (local.get $x)) (i64x2.splat (local.get $x)))))

  ;; 16 input bytes at $p against 16 secret bytes at $s
  (func $mix16 (param $p i32) (param $s i32) (result i64)
    (call $fold
      (i64.xor (i64.load align=1 (local.get $p)) (i64.load align=1 (local.get $s)))
      (i64.xor (i64.load offset=8 align=1 (local.get $p)) (i64.load offset=8 align=1 (local.get $s)))))

  (func $short (param $p i32) (param $len i32) (result i64)
    (local $h i64) (local $lo i64) (local $hi i64) (local $n i64)
    (local.set $n (i64.extend_i32_u (local.get $len)))
    (if (i32.gt_u (local.get $len) (i32.const 8))
      (then
        (local.set $lo (i64.xor (i64.load align=1 (local.get $p))
          (i64.xor (i64.load offset=24 align=1 (i32.const 0)) (i64.load offset=32 align=1 (i32.const 0)))))
        (local.set $hi (i64.xor (i64.load align=1 (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 8)))
          (i64.xor (i64.load offset=40 align=1 (i32.const 0)) (i64.load offset=48 align=1 (i32.const 0)))))
        (return (call $avalanche (i64.add (i64.add (i64.add (local.get $n) (call $bswap64 (local.get $lo))) (local.get $hi))
          (call $fold (local.get $lo) (local.get $hi)))))))
    (if (i32.ge_u (local.get $len) (i32.const 4))
      (then
        ;; 4..8 bytes: first and last four, keyed, through rrmxmx
        (local.set $h (i64.xor
          (i64.add (i64.load32_u align=1 (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 4)))
            (i64.shl (i64.load32_u align=1 (local.get $p)) (i64.const 32)))
          (i64.xor (i64.load offset=8 align=1 (i32.const 0)) (i64.load offset=16 align=1 (i32.const 0)))))
        (local.set $h (i64.xor (local.get $h) (i64.xor (i64.rotl (local.get $h) (i64.const 49)) (i64.rotl (local.get $h) (i64.const 24)))))
        (local.set $h (i64.mul (local.get $h) (i64.const 0x9FB21C651E98DF25)))
        (local.set $h (i64.xor (local.get $h) (i64.add (i64.shr_u (local.get $h) (i64.const 35)) (local.get $n))))
        (local.set $h (i64.mul (local.get $h) (i64.const 0x9FB21C651E98DF25)))
        (return (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 28))))))
    (if (i32.ne (local.get $len) (i32.const 0))
      (then
        ;; 1..3 bytes: first, middle and last byte with the length
        (return (call $avalanche64 (i64.xor
          (i64.extend_i32_u (i32.or (i32.or
            (i32.shl (i32.load8_u (local.get $p)) (i32.const 16))
            (i32.shl (i32.load8_u (i32.add (local.get $p) (i32.shr_u (local.get $len) (i32.const 1)))) (i32.const 24)))
            (i32.or (i32.load8_u (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 1))) (i32.shl (local.get $len) (i32.const 8)))))
          (i64.xor (i64.load32_u align=1 (i32.const 0)) (i64.load32_u offset=4 align=1 (i32.const 0))))))))
    (call $avalanche64 (i64.xor (i64.load offset=56 align=1 (i32.const 0)) (i64.load offset=64 align=1 (i32.const 0)))))

  (func $upTo128 (param $p i32) (param $len i32) (result i64)
    (local $acc i64) (local $e i32)
    (local.set $acc (i64.mul (i64.extend_i32_u (local.get $len)) (i64.const 0x9E3779B185EBCA87)))
    (local.set $e (i32.add (local.get $p) (local.get $len)))
    (if (i32.gt_u (local.get $len) (i32.const 32))
      (then
        (if (i32.gt_u (local.get $len) (i32.const 64))
          (then
            (if (i32.gt_u (local.get $len) (i32.const 96))
              (then
                (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.add (local.get $p) (i32.const 48)) (i32.const 96))))
                (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.sub (local.get $e) (i32.const 64)) (i32.const 112))))))
            (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.add (local.get $p) (i32.const 32)) (i32.const 64))))
            (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.sub (local.get $e) (i32.const 48)) (i32.const 80))))))
        (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.add (local.get $p) (i32.const 16)) (i32.const 32))))
        (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.sub (local.get $e) (i32.const 32)) (i32.const 48))))))
    (local.set $acc (i64.add (local.get $acc) (call $mix16 (local.get $p) (i32.const 0))))
    (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.sub (local.get $e) (i32.const 16)) (i32.const 16))))
    (call $avalanche (local.get $acc)))

  (func $upTo240 (param $p i32) (param $len i32) (result i64)
    (local $acc i64) (local $i i32) (local $rounds i32)
    (local.set $acc (i64.mul (i64.extend_i32_u (local.get $len)) (i64.const 0x9E3779B185EBCA87)))
    (loop $first
      (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 4))) (i32.shl (local.get $i) (i32.const 4)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $first (i32.lt_u (local.get $i) (i32.const 8))))
    (local.set $acc (call $avalanche (local.get $acc)))
    (local.set $rounds (i32.shr_u (local.get $len) (i32.const 4)))
    (block $done
      (loop $rest
        (br_if $done (i32.ge_u (local.get $i) (local.get $rounds)))
        (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 4)))
          (i32.add (i32.shl (i32.sub (local.get $i) (i32.const 8)) (i32.const 4)) (i32.const 3)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rest)))
    (local.set $acc (i64.add (local.get $acc) (call $mix16 (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 16)) (i32.const 119))))
    (call $avalanche (local.get $acc)))

  ;; more than 240 bytes: 64-byte stripes into eight 64-bit lanes (four i64x2), scrambled after every
  ;; 16 stripes (one 1024-byte block), then the last 64 bytes, then the lanes merged
  (func $long (param $p i32) (param $len i32) (result i64)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $d v128) (local $k v128) (local $p32 v128)
    (local $i i32) (local $total i32) (local $in i32) (local $sk i32) (local $acc i64)
    (local.set $a0 (v128.const i64x2 0xC2B2AE3D 0x9E3779B185EBCA87))
    (local.set $a1 (v128.const i64x2 0xC2B2AE3D27D4EB4F 0x165667B19E3779F9))
    (local.set $a2 (v128.const i64x2 0x85EBCA77C2B2AE63 0x85EBCA77))
    (local.set $a3 (v128.const i64x2 0x27D4EB2F165667C5 0x9E3779B1))
    (local.set $p32 (i64x2.splat (i64.const 0x9E3779B1)))
    ;; stripes before the last one: floor((len - 1) / 64); the last stripe always ends at len
    (local.set $total (i32.shr_u (i32.sub (local.get $len) (i32.const 1)) (i32.const 6)))
    (loop $stripe
      (if (i32.lt_u (local.get $i) (local.get $total))
        (then
          (local.set $in (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 6))))
          (local.set $sk (i32.shl (i32.and (local.get $i) (i32.const 15)) (i32.const 3))))
        (else
          (local.set $in (i32.sub (i32.add (local.get $p) (local.get $len)) (i32.const 64)))
          (local.set $sk (i32.const 121))))
        (local.set $d (v128.load offset=0 align=1 (local.get $in)))
        (local.set $k (v128.xor (local.get $d) (v128.load offset=0 align=1 (local.get $sk))))
        (local.set $a0 (i64x2.add (local.get $a0) (i64x2.add
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))
          (i64x2.extmul_low_i32x4_u
            (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
            (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k))))))
        (local.set $d (v128.load offset=16 align=1 (local.get $in)))
        (local.set $k (v128.xor (local.get $d) (v128.load offset=16 align=1 (local.get $sk))))
        (local.set $a1 (i64x2.add (local.get $a1) (i64x2.add
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))
          (i64x2.extmul_low_i32x4_u
            (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
            (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k))))))
        (local.set $d (v128.load offset=32 align=1 (local.get $in)))
        (local.set $k (v128.xor (local.get $d) (v128.load offset=32 align=1 (local.get $sk))))
        (local.set $a2 (i64x2.add (local.get $a2) (i64x2.add
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))
          (i64x2.extmul_low_i32x4_u
            (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
            (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k))))))
        (local.set $d (v128.load offset=48 align=1 (local.get $in)))
        (local.set $k (v128.xor (local.get $d) (v128.load offset=48 align=1 (local.get $sk))))
        (local.set $a3 (i64x2.add (local.get $a3) (i64x2.add
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))
          (i64x2.extmul_low_i32x4_u
            (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
            (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k))))))
      ;; a full block ends at stripe 16n + 15 (the partial block has at most 15 stripes)
      (if (i32.and (i32.lt_u (local.get $i) (local.get $total)) (i32.eq (i32.and (local.get $i) (i32.const 15)) (i32.const 15)))
        (then
          (local.set $a0 (i64x2.mul (v128.xor (v128.xor (local.get $a0) (i64x2.shr_u (local.get $a0) (i32.const 47))) (v128.load offset=128 align=1 (i32.const 0))) (local.get $p32)))
          (local.set $a1 (i64x2.mul (v128.xor (v128.xor (local.get $a1) (i64x2.shr_u (local.get $a1) (i32.const 47))) (v128.load offset=144 align=1 (i32.const 0))) (local.get $p32)))
          (local.set $a2 (i64x2.mul (v128.xor (v128.xor (local.get $a2) (i64x2.shr_u (local.get $a2) (i32.const 47))) (v128.load offset=160 align=1 (i32.const 0))) (local.get $p32)))
          (local.set $a3 (i64x2.mul (v128.xor (v128.xor (local.get $a3) (i64x2.shr_u (local.get $a3) (i32.const 47))) (v128.load offset=176 align=1 (i32.const 0))) (local.get $p32)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $stripe (i32.le_u (local.get $i) (local.get $total))))
    (local.set $acc (i64.mul (i64.extend_i32_u (local.get $len)) (i64.const 0x9E3779B185EBCA87)))
    (local.set $acc (i64.add (local.get $acc) (call $fold
      (i64.xor (i64x2.extract_lane 0 (local.get $a0)) (i64.load offset=11 align=1 (i32.const 0)))
      (i64.xor (i64x2.extract_lane 1 (local.get $a0)) (i64.load offset=19 align=1 (i32.const 0))))))
    (local.set $acc (i64.add (local.get $acc) (call $fold
      (i64.xor (i64x2.extract_lane 0 (local.get $a1)) (i64.load offset=27 align=1 (i32.const 0)))
      (i64.xor (i64x2.extract_lane 1 (local.get $a1)) (i64.load offset=35 align=1 (i32.const 0))))))
    (local.set $acc (i64.add (local.get $acc) (call $fold
      (i64.xor (i64x2.extract_lane 0 (local.get $a2)) (i64.load offset=43 align=1 (i32.const 0)))
      (i64.xor (i64x2.extract_lane 1 (local.get $a2)) (i64.load offset=51 align=1 (i32.const 0))))))
    (local.set $acc (i64.add (local.get $acc) (call $fold
      (i64.xor (i64x2.extract_lane 0 (local.get $a3)) (i64.load offset=59 align=1 (i32.const 0)))
      (i64.xor (i64x2.extract_lane 1 (local.get $a3)) (i64.load offset=67 align=1 (i32.const 0))))))
    (call $avalanche (local.get $acc)))

  ;; XXH3-64 of [p, p + len)
  (func (export "xxh3") (param $p i32) (param $len i32) (result i64)
    (if (i32.le_u (local.get $len) (i32.const 16)) (then (return (call $short (local.get $p) (local.get $len)))))
    (if (i32.le_u (local.get $len) (i32.const 128)) (then (return (call $upTo128 (local.get $p) (local.get $len)))))
    (if (i32.le_u (local.get $len) (i32.const 240)) (then (return (call $upTo240 (local.get $p) (local.get $len)))))
    (call $long (local.get $p) (local.get $len))))
