;; The FastCDC gear-hash scan (the inner loop of codec/chunker.ts), built into dist/codec/gear-scan.wasm
;; by scripts/build-wasm.mjs. Memory layout: the 256-entry gear table (i32, little-endian) at
;; offset 0, the bytes to scan from offset 1024.
(module
  (memory (export "memory") 5)
  ;; the rolling hash, carried from one scan call to the next
  (global $hash (export "hash") (mut i32) (i32.const 0))

  ;; Rolls h = (h << 1) + gear[byte] over bytes [$i, $end) and returns the offset just past the
  ;; first byte after which (h & $mask) == 0, or 0 if there is none (data offsets are >= 1024).
  ;; The main loop is unrolled by four: the same test after every byte.
  (func (export "scan") (param $i i32) (param $end i32) (param $mask i32) (result i32)
    (local $h i32)
    (local $end4 i32)
    (local.set $h (global.get $hash))
    (local.set $end4 (i32.sub (local.get $end) (i32.const 4)))
    (block $tail
      (loop $four
        (br_if $tail (i32.gt_s (local.get $i) (local.get $end4)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=0 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (global.set $hash (local.get $h)) (return (i32.add (local.get $i) (i32.const 1)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=1 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (global.set $hash (local.get $h)) (return (i32.add (local.get $i) (i32.const 2)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=2 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (global.set $hash (local.get $h)) (return (i32.add (local.get $i) (i32.const 3)))))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u offset=3 (local.get $i)) (i32.const 2)))))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (global.set $hash (local.get $h)) (return (i32.add (local.get $i) (i32.const 4)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $h (i32.add (i32.shl (local.get $h) (i32.const 1))
          (i32.load (i32.shl (i32.load8_u (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $mask)))
          (then (global.set $hash (local.get $h)) (return (local.get $i))))
        (br $one)))
    (global.set $hash (local.get $h))
    (i32.const 0))
)
