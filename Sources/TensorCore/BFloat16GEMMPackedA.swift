// The bf16 GEMM's left operand packed once for a whole product (or for several products, as
// a lowered convolution's weights are used for every image). Packing op(A) inside each
// column block's row panels converted and rearranged all of A again per 512 columns of C: for
// a 2048³ product, four times, and A's Float32 rows stream from memory each time.

extension BFloat16GEMM {
    /// op(A) [m × k] as consecutive 32-row panels over the whole depth, each `kblocks` blocks of
    /// 32×32 bf16 in the layout of CBFloat16Kernels.h (rows and k zero-padded).
    public struct PackedA {
        let values: UnsafePointer<UInt16>
        public let m: Int, k: Int

        var kblocks: Int { (k + panel - 1) / panel }
        var rowPanels: Int { (m + panel - 1) / panel }

        /// Row panel `index` (rows 32·index ..< 32·index + 32).
        @inline(__always)
        func rowPanel(_ index: Int) -> UnsafePointer<UInt16> { values + index * kblocks * blockValues }

        /// Floats of storage (two bf16 each) that `pack` writes for op(A) [m × k].
        public static func storageFloats(m: Int, k: Int) -> Int {
            ((m + panel - 1) / panel) * ((k + panel - 1) / panel) * blockValues / 2
        }
    }

    /// Packs op(A) [m × k] (A, or Aᵀ with `transposeA`) into `storage`, which holds at least
    /// `PackedA.storageFloats(m:k:)` floats; row panels are split over `threads` workers.
    public static func pack(
        transposeA: Bool, m: Int, k: Int, a: Operand, lda: Int,
        into storage: UnsafeMutablePointer<Float>, threads: Int = Parallel.threadCount
    ) -> PackedA {
        let values = UnsafeMutableRawPointer(storage).bindMemory(
            to: UInt16.self, capacity: 2 * PackedA.storageFloats(m: m, k: k))
        let packed = PackedA(values: UnsafePointer(values), m: m, k: k)
        runSplit(
            packed.rowPanels, parts: threads,
            PackARowPanels(transposed: transposeA, a: a, lda: lda, packed: packed, into: values))
        return packed
    }

    /// Packs the row panels in a range.
    struct PackARowPanels: ParallelBody {
        let transposed: Bool, a: Operand, lda: Int
        let packed: PackedA, into: UnsafeMutablePointer<UInt16>

        func run(_ range: Range<Int>) {
            for rowPanel in range {
                packRowPanel(
                    rowPanel, transposed: transposed, a, lda: lda, m: packed.m, k: packed.k,
                    into: into + rowPanel * packed.kblocks * blockValues)
            }
        }
    }

    /// Packs row panel `index` of op(A) [m × k] (rows 32·index ..< 32·index + 32, zero past m).
    @inline(__always)
    static func packRowPanel(
        _ index: Int, transposed: Bool, _ a: Operand, lda: Int, m: Int, k: Int,
        into packed: UnsafeMutablePointer<UInt16>
    ) {
        let row0 = index * panel
        packA(
            transposed: transposed, a, lda: lda, row0: row0, rows: Swift.min(panel, m - row0), k: k,
            kblocks: (k + panel - 1) / panel, into: packed)
    }
}

extension BFloat16GEMM {
    /// The left operand of a product's tiles: packed beforehand, or packed by each tile into
    /// its own scratch when it needs a row panel (a product of one column block, whose row
    /// panels are each used once).
    enum LeftOperand {
        case packed(PackedA)
        case unpacked(transposed: Bool, a: Operand, lda: Int, m: Int, k: Int)

        var m: Int {
            switch self {
            case .packed(let packed): return packed.m
            case .unpacked(_, _, _, let m, _): return m
            }
        }

        var k: Int {
            switch self {
            case .packed(let packed): return packed.k
            case .unpacked(_, _, _, _, let k): return k
            }
        }

        var kblocks: Int { (k + panel - 1) / panel }
        var rowPanels: Int { (m + panel - 1) / panel }

        /// bf16 values of scratch a tile needs to pack one row panel (none when packed).
        var tileScratchValues: Int {
            if case .packed = self { return 0 }
            return kblocks * blockValues
        }

        /// Row panel `index`: the packed one, or packed into `scratch` unless `scratchHolds`
        /// says it is there already (a tile after another of the same row panel).
        @inline(__always)
        func rowPanel(_ index: Int, scratch: UnsafeMutablePointer<UInt16>, scratchHolds: inout Int)
            -> UnsafePointer<UInt16>
        {
            switch self {
            case .packed(let packed):
                return packed.rowPanel(index)
            case .unpacked(let transposed, let a, let lda, let m, let k):
                if scratchHolds != index {
                    packRowPanel(index, transposed: transposed, a, lda: lda, m: m, k: k, into: scratch)
                    scratchHolds = index
                }
                return UnsafePointer(scratch)
            }
        }
    }
}
