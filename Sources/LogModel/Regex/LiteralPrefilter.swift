import Glibc

/// Finds which of many literals occur in a byte string in one pass, so the cost per byte does not
/// grow with the number of rules.
///
/// The scan is a sampled q-gram filter (the idea behind Hyperscan's FDR, without SIMD). With `m` the
/// length of the shortest literal, it reads `q = min(4, m)` bytes at every `stride`-th position
/// (`stride = m - q + 1`, so every occurrence of every literal contains a probed window at one of
/// any `stride` consecutive offsets), hashes them to 16 bits and tests one bit of an 8 KiB table
/// holding the hashes of `stride` consecutive windows of every literal, placed where the literal's
/// q-grams are rarest among all literals. A set bit is checked once more on up to eight bytes from
/// the same position (a second 8 KiB table); only what passes both is compared with the few
/// literals of that hash, eight bytes at once and then byte for byte. For the built-in library
/// (shortest literal 9 bytes) that is a probe every 6 bytes with no dependent loads, instead of one
/// automaton step per byte.
///
/// Each literal carries a tag (a rule index); `scan` reports every tag whose literal occurs.
public struct LiteralPrefilter: Sendable {
    private let tables: Tables
    public let literalCount: Int

    /// The filter's tables, in memory allocated once and never written after `init`.
    private final class Tables: @unchecked Sendable {
        /// Bytes read per probe (1 to 4) and distance between probes.
        let q: Int
        let stride: Int
        /// 65536-bit filter: bit `h` is set when some literal's window hashes to `h`.
        let filter: UnsafeMutablePointer<UInt64>
        /// Per first-level hash: how many bytes from the probe (q to 8) the second level hashes,
        /// the fewest any literal with a window of that hash has from there.
        let reach: UnsafeMutablePointer<UInt8>
        /// 65536-bit filter over those bytes.
        let filter2: UnsafeMutablePointer<UInt64>
        /// Windows per hash: `entries[bucketStart[h] ..< bucketStart[h + 1]]`, each
        /// `literal << 8 | offset of the window in the literal`.
        let bucketStart: UnsafeMutablePointer<UInt32>
        let entries: UnsafeMutablePointer<UInt32>
        /// The literals: bytes at `bytes[start[i] ..< start[i] + length[i]]`, reported as `tag[i]`.
        let bytes: UnsafeMutablePointer<UInt8>
        let start: UnsafeMutablePointer<UInt32>
        let length: UnsafeMutablePointer<UInt32>
        let tag: UnsafeMutablePointer<UInt32>
        /// Each literal's first (up to) eight bytes as one number, and the mask of those bytes:
        /// most candidates differ there, and one load and compare rejects them without `memcmp`.
        let head: UnsafeMutablePointer<UInt64>
        let headMask: UnsafeMutablePointer<UInt64>
        let count: Int

        init(literals: [(bytes: [UInt8], tag: Int)]) {
            let usable = literals.filter { !$0.bytes.isEmpty }
            count = usable.count
            let shortest = usable.map(\.bytes.count).min() ?? 1
            q = min(4, shortest)
            // Windows at offsets 0 ..< stride of every literal go into the table; 64 bounds both the
            // table's fill and the offset field of an entry.
            stride = min(shortest - q + 1, 64)
            let total = usable.reduce(0) { $0 + $1.bytes.count }
            bytes = .allocate(capacity: max(1, total))
            start = .allocate(capacity: max(1, count))
            length = .allocate(capacity: max(1, count))
            tag = .allocate(capacity: max(1, count))
            var at = 0
            for (i, l) in usable.enumerated() {
                start[i] = UInt32(at)
                length[i] = UInt32(l.bytes.count)
                tag[i] = UInt32(truncatingIfNeeded: l.tag)
                for b in l.bytes { bytes[at] = b; at += 1 }
            }
            filter = .allocate(capacity: 1024)
            filter.initialize(repeating: 0, count: 1024)
            filter2 = .allocate(capacity: 1024)
            filter2.initialize(repeating: 0, count: 1024)
            reach = .allocate(capacity: 1 << 16)
            reach.initialize(repeating: 8, count: 1 << 16)
            var perHash: [Int: [UInt32]] = [:]
            let anchors = Tables.anchors(bytes: bytes, start: start, length: length, count: count, q: q, stride: stride)
            for i in 0..<count {
                for off in anchors[i]..<anchors[i] + stride {
                    let h = Tables.hash(Tables.window(bytes + Int(start[i]) + off, q))
                    let entry = UInt32(i) << 8 | UInt32(off)
                    if perHash[h]?.contains(entry) != true { perHash[h, default: []].append(entry) }
                    filter[h >> 6] |= 1 << UInt64(h & 63)
                    reach[h] = min(reach[h], UInt8(min(8, Int(length[i]) - off)))
                }
            }
            for (h, list) in perHash {
                let r = Int(reach[h])
                for e in list {
                    let p = bytes + Int(start[Int(e >> 8)]) + Int(e & 0xFF)
                    let h2 = Tables.hash2(Tables.prefix(p, r), r)
                    filter2[h2 >> 6] |= 1 << UInt64(h2 & 63)
                }
            }
            let entryCount = perHash.values.reduce(0) { $0 + $1.count }
            bucketStart = .allocate(capacity: (1 << 16) + 1)
            entries = .allocate(capacity: max(1, entryCount))
            // Buckets in hash order; the empty ones between them start where the next one does.
            var k = 0, h = 0
            for (hash, list) in perHash.sorted(by: { $0.key < $1.key }) {
                while h <= hash { bucketStart[h] = UInt32(k); h += 1 }
                for e in list { entries[k] = e; k += 1 }
            }
            while h <= 1 << 16 { bucketStart[h] = UInt32(k); h += 1 }
            head = .allocate(capacity: max(1, count))
            headMask = .allocate(capacity: max(1, count))
            for i in 0..<count {
                let n = min(8, Int(length[i]))
                head[i] = Tables.prefix(bytes + Int(start[i]), n)
                headMask[i] = n == 8 ? .max : (1 &<< UInt64(8 &* n)) &- 1
            }
        }

        deinit {
            filter.deallocate()
            filter2.deallocate()
            reach.deallocate()
            bucketStart.deallocate()
            entries.deallocate()
            bytes.deallocate()
            start.deallocate()
            length.deallocate()
            tag.deallocate()
            head.deallocate()
            headMask.deallocate()
        }

        /// For each literal, where its `stride` indexed windows begin. Any `stride` consecutive
        /// windows catch every occurrence, so each literal gets the run whose q-grams the fewest
        /// other literals share: many rules' literals begin with "failed to ", and indexing those
        /// words would send every "failed to" in a log to a bucket of twenty literals to compare.
        static func anchors(bytes: UnsafePointer<UInt8>, start: UnsafePointer<UInt32>, length: UnsafePointer<UInt32>,
                            count: Int, q: Int, stride: Int) -> [Int] {
            // How many literals contain each q-gram.
            var shared: [UInt32: Int] = [:]
            for i in 0..<count {
                let p = bytes + Int(start[i])
                var grams = Set<UInt32>()
                for o in 0...(Int(length[i]) - q) { grams.insert(window(p + o, q)) }
                for g in grams { shared[g, default: 0] += 1 }
            }
            func cost(_ g: UInt32) -> Int {
                // Lowercase words and spaces are what most log text is made of: a small extra cost
                // prefers windows with digits, capitals and punctuation when sharing is equal.
                var plain = true
                for k in 0..<q {
                    let c = UInt8(truncatingIfNeeded: g >> UInt32(8 * k))
                    plain = plain && (c == 0x20 || (c >= 0x61 && c <= 0x7A))
                }
                return shared[g, default: 0] * 4 + (plain ? 1 : 0)
            }
            return (0..<count).map { i in
                let p = bytes + Int(start[i])
                // Offsets are kept in 8 bits in an entry.
                let last = min(Int(length[i]) - q - stride + 1, 255 - stride)
                guard last > 0 else { return 0 }
                let costs = (0..<last + stride).map { cost(window(p + $0, q)) }
                // The cheapest run of `stride` windows, by a sliding sum.
                var sum = costs[0..<stride].reduce(0, +)
                var best = 0, bestCost = sum
                for a in 1...last {
                    sum += costs[a + stride - 1] - costs[a - 1]
                    if sum < bestCost { best = a; bestCost = sum }
                }
                return best
            }
        }

        /// The `q` bytes at `p` as one number.
        @inline(__always)
        static func window(_ p: UnsafePointer<UInt8>, _ q: Int) -> UInt32 {
            if q == 4 { return UInt32(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt32.self)) }
            var w: UInt32 = 0
            for k in 0..<q { w |= UInt32(p[k]) << UInt32(8 * k) }
            return w
        }

        /// The `n` (at most 8) bytes at `p` as one number.
        @inline(__always)
        static func prefix(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
            var w: UInt64 = 0
            for k in 0..<n { w |= UInt64(p[k]) << UInt64(8 * k) }
            return w
        }

        @inline(__always)
        static func hash(_ w: UInt32) -> Int { Int((w &* 0x9E37_79B1) &>> 16) }

        @inline(__always)
        static func hash2(_ w: UInt64, _ n: Int) -> Int { Int(((w ^ UInt64(n)) &* 0x9E37_79B9_7F4A_7C15) &>> 48) }

        /// The second-level test for a first-level hit `h` at `p`.
        @inline(__always)
        func passes(_ text: UnsafePointer<UInt8>, _ n: Int, _ p: Int, _ h: Int) -> Bool {
            let r = Int(reach[h])
            // Every literal with this window needs `r` bytes from here.
            if p &+ r > n { return false }
            let w: UInt64
            if p &+ 8 <= n {
                let all = UInt64(littleEndian: UnsafeRawPointer(text + p).loadUnaligned(as: UInt64.self))
                w = r == 8 ? all : all & ((1 &<< UInt64(8 &* r)) &- 1)
            } else {
                w = Tables.prefix(text + p, r)
            }
            let h2 = Tables.hash2(w, r)
            return filter2[h2 &>> 6] & (1 &<< UInt64(h2 & 63)) != 0
        }

        /// Compares the literals whose window hashes to `h` with `text` around `p`, calling `found`
        /// for each that occurs; true as soon as `found` returns true (the scan stops there).
        @inline(never)
        func verify(_ text: UnsafePointer<UInt8>, _ n: Int, _ p: Int, _ h: Int, _ found: (Int) -> Bool) -> Bool {
            for k in Int(bucketStart[h])..<Int(bucketStart[h + 1]) {
                let e = entries[k]
                let lit = Int(e >> 8)
                let s = p - Int(e & 0xFF)
                let len = Int(length[lit])
                guard s >= 0, s &+ len <= n else { continue }
                let w = s &+ 8 <= n ? UInt64(littleEndian: UnsafeRawPointer(text + s).loadUnaligned(as: UInt64.self))
                    : Tables.prefix(text + s, min(8, len))
                guard w & headMask[lit] == head[lit] else { continue }
                if len <= 8 || memcmp(text + s + 8, bytes + Int(start[lit]) + 8, len - 8) == 0, found(Int(tag[lit])) {
                    return true
                }
            }
            return false
        }
    }

    /// A prefilter with no literals: nothing occurs.
    public static let empty = LiteralPrefilter(literals: [])

    public init(literals: [(bytes: [UInt8], tag: Int)]) {
        tables = Tables(literals: literals)
        literalCount = literals.count
    }

    /// Calls `found` with the tag of every literal that occurs in `text` (a tag may repeat).
    @inline(__always)
    public func scan(_ text: UnsafeBufferPointer<UInt8>, _ found: (Int) -> Void) {
        _ = scan(text, until: { found($0); return false })
    }

    /// True when some literal occurs in `text`; stops at the first.
    @inline(__always)
    public func occurs(in text: UnsafeBufferPointer<UInt8>) -> Bool {
        scan(text, until: { _ in true })
    }

    /// The scan, stopping when `found` returns true for a tag (then it returns true).
    @inline(__always)
    private func scan(_ text: UnsafeBufferPointer<UInt8>, until found: (Int) -> Bool) -> Bool {
        let t = tables
        guard let base = text.baseAddress, t.count > 0 else { return false }
        let n = text.count
        let q = t.q
        let last = n - q
        guard last >= 0 else { return false }
        let filter = t.filter
        let stride = t.stride
        var p = 0
        if q == 4 {
            let raw = UnsafeRawPointer(base)
            while p <= last {
                let h = Tables.hash(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: p, as: UInt32.self)))
                if filter[h &>> 6] & (1 &<< UInt64(h & 63)) != 0, t.passes(base, n, p, h),
                   t.verify(base, n, p, h, found) {
                    return true
                }
                p &+= stride
            }
        } else {
            while p <= last {
                let h = Tables.hash(Tables.window(base + p, q))
                if filter[h &>> 6] & (1 &<< UInt64(h & 63)) != 0, t.passes(base, n, p, h),
                   t.verify(base, n, p, h, found) {
                    return true
                }
                p &+= stride
            }
        }
        return false
    }
}
