;; ShapTable.explainBlock's packed path (shap-table.ts) over linear memory, four rows at a time, each row's five sums
;; kept as two f64x2 and one f64: the same additions in the same order as the JavaScript, so the same bits.
;; Built into shap-kernel-bytes.ts by scripts/build-wasm.mjs (npm run build:wasm); a test holds the two together.
;; Records (byte addresses, laid out by shap-kernel.ts):
;;   tree  24 B: node start, node end, leaf start, leaf end, split start, split end
;;   node  24 B: threshold f64, left slot address, right slot address, column offset (column * 8), bit in every lane
;;   leaf   8 B: slot address, table address
;;   split 48 B: thresholds f64 x3, slot address, table address, shift, column offsets x3
(module
  (memory (export "memory") 1)
  (func (export "block")
    (param $tree i32) (param $treesEnd i32) (param $x i32) (param $n i32) (param $strideB i32)
    (param $acc i32) (param $bits i32)
    (local $last i32) (local $r i32) (local $x0 i32) (local $x1 i32) (local $x2 i32) (local $x3 i32)
    (local $k i32) (local $kEnd i32) (local $p i32) (local $th f64) (local $f i32) (local $lanes i32)
    (local $r4 i32) (local $z i32) (local $a i32) (local $base i32) (local $shift i32)
    (local $t1 f64) (local $t2 f64) (local $t3 f64) (local $f1 i32) (local $f2 i32) (local $f3 i32)
    (local $i i32) (local $j i32) (local $g i32) (local $h i32)
    (local $A v128) (local $A2 v128) (local $A4 f64)
    (local $B v128) (local $B2 v128) (local $B4 f64)
    (local $C v128) (local $C2 v128) (local $C4 f64)
    (local $D v128) (local $D2 v128) (local $D4 f64)
    ;; a block's last group of four may run past its last row: those lanes repeat it
    (local.set $last (i32.add (local.get $x) (i32.mul (i32.sub (local.get $n) (i32.const 1)) (local.get $strideB))))
    (block $treesDone
      (loop $trees
        (br_if $treesDone (i32.ge_u (local.get $tree) (local.get $treesEnd)))
        (local.set $r (i32.const 0))
        (block $groupsDone
          (loop $groups
            (br_if $groupsDone (i32.ge_u (local.get $r) (local.get $n)))
            (local.set $x0 (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $strideB))))
            (local.set $x1 (i32.add (local.get $x0) (local.get $strideB)))
            (local.set $x1 (select (local.get $x1) (local.get $last) (i32.lt_u (local.get $x1) (local.get $last))))
            (local.set $x2 (i32.add (local.get $x0) (i32.shl (local.get $strideB) (i32.const 1))))
            (local.set $x2 (select (local.get $x2) (local.get $last) (i32.lt_u (local.get $x2) (local.get $last))))
            (local.set $x3 (i32.add (local.get $x0) (i32.mul (local.get $strideB) (i32.const 3))))
            (local.set $x3 (select (local.get $x3) (local.get $last) (i32.lt_u (local.get $x3) (local.get $last))))
            ;; the splits above the units: each child's pattern, four rows a byte each
            (i32.store (local.get $bits) (i32.const 0))
            (local.set $k (i32.load (local.get $tree)))
            (local.set $kEnd (i32.load offset=4 (local.get $tree)))
            (local.set $p (local.get $bits))
            (block $nodesDone
              (loop $nodes
                (br_if $nodesDone (i32.ge_u (local.get $k) (local.get $kEnd)))
                (local.set $th (f64.load (local.get $k)))
                (local.set $f (i32.load offset=16 (local.get $k)))
                (local.set $lanes (i32.load offset=20 (local.get $k)))
                (local.set $r4
                  (i32.and
                    (i32.or
                      (i32.or
                        (i32.and (i32.sub (i32.const 0) (f64.ge (f64.load (i32.add (local.get $x0) (local.get $f))) (local.get $th))) (i32.const 0xff))
                        (i32.and (i32.sub (i32.const 0) (f64.ge (f64.load (i32.add (local.get $x1) (local.get $f))) (local.get $th))) (i32.const 0xff00)))
                      (i32.or
                        (i32.and (i32.sub (i32.const 0) (f64.ge (f64.load (i32.add (local.get $x2) (local.get $f))) (local.get $th))) (i32.const 0xff0000))
                        (i32.and (i32.sub (i32.const 0) (f64.ge (f64.load (i32.add (local.get $x3) (local.get $f))) (local.get $th))) (i32.const 0xff000000))))
                    (local.get $lanes)))
                (local.set $z (i32.load (local.get $p)))
                (i32.store (i32.load offset=8 (local.get $k)) (i32.or (local.get $z) (local.get $r4)))
                (i32.store (i32.load offset=12 (local.get $k)) (i32.or (local.get $z) (i32.xor (local.get $lanes) (local.get $r4))))
                (local.set $k (i32.add (local.get $k) (i32.const 24)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $nodes)))
            (local.set $a (i32.add (local.get $acc) (i32.mul (local.get $r) (i32.const 40))))
            (local.set $A (v128.load (local.get $a)))
            (local.set $A2 (v128.load offset=16 (local.get $a)))
            (local.set $A4 (f64.load offset=32 (local.get $a)))
            (local.set $B (v128.load offset=40 (local.get $a)))
            (local.set $B2 (v128.load offset=56 (local.get $a)))
            (local.set $B4 (f64.load offset=72 (local.get $a)))
            (local.set $C (v128.load offset=80 (local.get $a)))
            (local.set $C2 (v128.load offset=96 (local.get $a)))
            (local.set $C4 (f64.load offset=112 (local.get $a)))
            (local.set $D (v128.load offset=120 (local.get $a)))
            (local.set $D2 (v128.load offset=136 (local.get $a)))
            (local.set $D4 (f64.load offset=152 (local.get $a)))
            ;; units without splits: one table row each, by the pattern at its slot
            (local.set $k (i32.load offset=8 (local.get $tree)))
            (local.set $kEnd (i32.load offset=12 (local.get $tree)))
            (block $leavesDone
              (loop $leaves
                (br_if $leavesDone (i32.ge_u (local.get $k) (local.get $kEnd)))
                (local.set $z (i32.load (i32.load (local.get $k))))
                (local.set $base (i32.load offset=4 (local.get $k)))
                (local.set $i (i32.add (local.get $base) (i32.mul (i32.and (local.get $z) (i32.const 0xff)) (i32.const 40))))
                (local.set $j (i32.add (local.get $base) (i32.mul (i32.and (i32.shr_u (local.get $z) (i32.const 8)) (i32.const 0xff)) (i32.const 40))))
                (local.set $g (i32.add (local.get $base) (i32.mul (i32.and (i32.shr_u (local.get $z) (i32.const 16)) (i32.const 0xff)) (i32.const 40))))
                (local.set $h (i32.add (local.get $base) (i32.mul (i32.shr_u (local.get $z) (i32.const 24)) (i32.const 40))))
                (local.set $A (f64x2.add (local.get $A) (v128.load (local.get $i))))
                (local.set $A2 (f64x2.add (local.get $A2) (v128.load offset=16 (local.get $i))))
                (local.set $A4 (f64.add (local.get $A4) (f64.load offset=32 (local.get $i))))
                (local.set $B (f64x2.add (local.get $B) (v128.load (local.get $j))))
                (local.set $B2 (f64x2.add (local.get $B2) (v128.load offset=16 (local.get $j))))
                (local.set $B4 (f64.add (local.get $B4) (f64.load offset=32 (local.get $j))))
                (local.set $C (f64x2.add (local.get $C) (v128.load (local.get $g))))
                (local.set $C2 (f64x2.add (local.get $C2) (v128.load offset=16 (local.get $g))))
                (local.set $C4 (f64.add (local.get $C4) (f64.load offset=32 (local.get $g))))
                (local.set $D (f64x2.add (local.get $D) (v128.load (local.get $h))))
                (local.set $D2 (f64x2.add (local.get $D2) (v128.load offset=16 (local.get $h))))
                (local.set $D4 (f64.add (local.get $D4) (f64.load offset=32 (local.get $h))))
                (local.set $k (i32.add (local.get $k) (i32.const 8)))
                (br $leaves)))
            ;; units with splits: the pattern at the slot, then the sides x takes at the unit's splits
            (local.set $k (i32.load offset=16 (local.get $tree)))
            (local.set $kEnd (i32.load offset=20 (local.get $tree)))
            (block $splitsDone
              (loop $splits
                (br_if $splitsDone (i32.ge_u (local.get $k) (local.get $kEnd)))
                (local.set $t1 (f64.load (local.get $k)))
                (local.set $t2 (f64.load offset=8 (local.get $k)))
                (local.set $t3 (f64.load offset=16 (local.get $k)))
                (local.set $z (i32.load (i32.load offset=24 (local.get $k))))
                (local.set $base (i32.load offset=28 (local.get $k)))
                (local.set $shift (i32.load offset=32 (local.get $k)))
                (local.set $f1 (i32.load offset=36 (local.get $k)))
                (local.set $f2 (i32.load offset=40 (local.get $k)))
                (local.set $f3 (i32.load offset=44 (local.get $k)))
                (local.set $i (i32.add (local.get $base) (i32.mul (i32.const 40) (i32.shr_u
                  (i32.or
                    (i32.or (i32.shl (i32.and (local.get $z) (i32.const 0xff)) (i32.const 3))
                            (i32.shl (f64.ge (f64.load (i32.add (local.get $x0) (local.get $f1))) (local.get $t1)) (i32.const 2)))
                    (i32.or (i32.shl (f64.ge (f64.load (i32.add (local.get $x0) (local.get $f2))) (local.get $t2)) (i32.const 1))
                            (f64.ge (f64.load (i32.add (local.get $x0) (local.get $f3))) (local.get $t3))))
                  (local.get $shift)))))
                (local.set $j (i32.add (local.get $base) (i32.mul (i32.const 40) (i32.shr_u
                  (i32.or
                    (i32.or (i32.shl (i32.and (i32.shr_u (local.get $z) (i32.const 8)) (i32.const 0xff)) (i32.const 3))
                            (i32.shl (f64.ge (f64.load (i32.add (local.get $x1) (local.get $f1))) (local.get $t1)) (i32.const 2)))
                    (i32.or (i32.shl (f64.ge (f64.load (i32.add (local.get $x1) (local.get $f2))) (local.get $t2)) (i32.const 1))
                            (f64.ge (f64.load (i32.add (local.get $x1) (local.get $f3))) (local.get $t3))))
                  (local.get $shift)))))
                (local.set $g (i32.add (local.get $base) (i32.mul (i32.const 40) (i32.shr_u
                  (i32.or
                    (i32.or (i32.shl (i32.and (i32.shr_u (local.get $z) (i32.const 16)) (i32.const 0xff)) (i32.const 3))
                            (i32.shl (f64.ge (f64.load (i32.add (local.get $x2) (local.get $f1))) (local.get $t1)) (i32.const 2)))
                    (i32.or (i32.shl (f64.ge (f64.load (i32.add (local.get $x2) (local.get $f2))) (local.get $t2)) (i32.const 1))
                            (f64.ge (f64.load (i32.add (local.get $x2) (local.get $f3))) (local.get $t3))))
                  (local.get $shift)))))
                (local.set $h (i32.add (local.get $base) (i32.mul (i32.const 40) (i32.shr_u
                  (i32.or
                    (i32.or (i32.shl (i32.shr_u (local.get $z) (i32.const 24)) (i32.const 3))
                            (i32.shl (f64.ge (f64.load (i32.add (local.get $x3) (local.get $f1))) (local.get $t1)) (i32.const 2)))
                    (i32.or (i32.shl (f64.ge (f64.load (i32.add (local.get $x3) (local.get $f2))) (local.get $t2)) (i32.const 1))
                            (f64.ge (f64.load (i32.add (local.get $x3) (local.get $f3))) (local.get $t3))))
                  (local.get $shift)))))
                (local.set $A (f64x2.add (local.get $A) (v128.load (local.get $i))))
                (local.set $A2 (f64x2.add (local.get $A2) (v128.load offset=16 (local.get $i))))
                (local.set $A4 (f64.add (local.get $A4) (f64.load offset=32 (local.get $i))))
                (local.set $B (f64x2.add (local.get $B) (v128.load (local.get $j))))
                (local.set $B2 (f64x2.add (local.get $B2) (v128.load offset=16 (local.get $j))))
                (local.set $B4 (f64.add (local.get $B4) (f64.load offset=32 (local.get $j))))
                (local.set $C (f64x2.add (local.get $C) (v128.load (local.get $g))))
                (local.set $C2 (f64x2.add (local.get $C2) (v128.load offset=16 (local.get $g))))
                (local.set $C4 (f64.add (local.get $C4) (f64.load offset=32 (local.get $g))))
                (local.set $D (f64x2.add (local.get $D) (v128.load (local.get $h))))
                (local.set $D2 (f64x2.add (local.get $D2) (v128.load offset=16 (local.get $h))))
                (local.set $D4 (f64.add (local.get $D4) (f64.load offset=32 (local.get $h))))
                (local.set $k (i32.add (local.get $k) (i32.const 48)))
                (br $splits)))
            (v128.store (local.get $a) (local.get $A))
            (v128.store offset=16 (local.get $a) (local.get $A2))
            (f64.store offset=32 (local.get $a) (local.get $A4))
            (v128.store offset=40 (local.get $a) (local.get $B))
            (v128.store offset=56 (local.get $a) (local.get $B2))
            (f64.store offset=72 (local.get $a) (local.get $B4))
            (v128.store offset=80 (local.get $a) (local.get $C))
            (v128.store offset=96 (local.get $a) (local.get $C2))
            (f64.store offset=112 (local.get $a) (local.get $C4))
            (v128.store offset=120 (local.get $a) (local.get $D))
            (v128.store offset=136 (local.get $a) (local.get $D2))
            (f64.store offset=152 (local.get $a) (local.get $D4))
            (local.set $r (i32.add (local.get $r) (i32.const 4)))
            (br $groups)))
        (local.set $tree (i32.add (local.get $tree) (i32.const 24)))
        (br $trees)))))
