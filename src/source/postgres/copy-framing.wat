;; The inner loop of source/postgres/copy-framing.ts: strips the protocol framing of a COPY ... TO STDOUT
;; (one CopyData message, 'd' + big-endian length + row bytes, per row) from a socket chunk, in
;; place: the row bytes move to the front of memory, over the message headers. Built into
;; dist/source/postgres/copy-framing.wasm by scripts/build-wasm.mjs. The chunk is copied to offset 0.
(module
  (memory (export "memory") 2)
  ;; body bytes of the current message still to come (it may go on in the next chunk)
  (global $left (export "left") (mut i32) (i32.const 0))
  ;; whether the current message is CopyData (its body is kept) or another one (skipped)
  (global $data (export "data") (mut i32) (i32.const 0))
  ;; where the kept bytes end after a strip call
  (global $out (export "out") (mut i32) (i32.const 0))

  ;; Walks the messages from $i to $n, moving CopyData bodies to $w onward. Returns where it
  ;; stopped: $n, or the start of a message it leaves to the caller: a header cut by the end of
  ;; the chunk (fewer than 5 bytes left), or a message other than CopyData.
  (func (export "strip") (param $i i32) (param $n i32) (param $w i32) (result i32)
    (local $take i32)
    (block $done
      (loop $next
        (if (global.get $left)
          (then
            (local.set $take (select (global.get $left) (i32.sub (local.get $n) (local.get $i))
              (i32.lt_u (global.get $left) (i32.sub (local.get $n) (local.get $i)))))
            (if (global.get $data)
              (then
                (memory.copy (local.get $w) (local.get $i) (local.get $take))
                (local.set $w (i32.add (local.get $w) (local.get $take)))))
            (local.set $i (i32.add (local.get $i) (local.get $take)))
            (global.set $left (i32.sub (global.get $left) (local.get $take)))
            (br_if $done (i32.ge_u (local.get $i) (local.get $n)))))
        (br_if $done (i32.lt_u (i32.sub (local.get $n) (local.get $i)) (i32.const 5)))
        (br_if $done (i32.ne (i32.load8_u (local.get $i)) (i32.const 0x64)))
        ;; the length counts itself (4 bytes), not the type byte
        (global.set $left (i32.sub
          (i32.or
            (i32.or (i32.shl (i32.load8_u offset=1 (local.get $i)) (i32.const 24))
                    (i32.shl (i32.load8_u offset=2 (local.get $i)) (i32.const 16)))
            (i32.or (i32.shl (i32.load8_u offset=3 (local.get $i)) (i32.const 8))
                    (i32.load8_u offset=4 (local.get $i))))
          (i32.const 4)))
        (global.set $data (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 5)))
        (br $next)))
    (global.set $out (local.get $w))
    (local.get $i))
)
