/// Finds which of many literals occur in a byte string in one pass (Aho–Corasick compiled to a
/// DFA over byte classes), so the cost per byte does not grow with the number of rules.
///
/// Each literal carries a tag (a rule index); `scan` reports every tag whose literal occurs.
public struct LiteralPrefilter: Sendable {
    /// Byte to column of the transition table; bytes in no literal share column 0.
    private let byteClass: [UInt8]
    private let classCount: Int
    /// next state = table[state * classCount + class]
    private let table: [UInt32]
    /// Tags reported in a state: `outputs[outputStart[s] ..< outputStart[s + 1]]`.
    private let outputStart: [UInt32]
    private let outputs: [UInt32]
    public let literalCount: Int

    public init(literals: [(bytes: [UInt8], tag: Int)]) {
        var classOf = [UInt8](repeating: 0, count: 256)
        var nextClass = 1
        for (bytes, _) in literals {
            for b in bytes where classOf[Int(b)] == 0 {
                classOf[Int(b)] = UInt8(truncatingIfNeeded: nextClass)
                nextClass += 1
            }
        }
        // More than 255 distinct bytes cannot occur with UInt8 classes beyond 255: fold the rest into
        // class 0 would lose matches, so fall back to one class per byte.
        if nextClass > 255 {
            for b in 0..<256 { classOf[b] = UInt8(b) }
            nextClass = 256
        }
        let k = nextClass

        // Trie.
        var goto: [[Int32]] = [[Int32](repeating: -1, count: k)]
        var out: [[UInt32]] = [[]]
        for (bytes, tag) in literals where !bytes.isEmpty {
            var s = 0
            for b in bytes {
                let c = Int(classOf[Int(b)])
                if goto[s][c] < 0 {
                    goto.append([Int32](repeating: -1, count: k))
                    out.append([])
                    goto[s][c] = Int32(goto.count - 1)
                }
                s = Int(goto[s][c])
            }
            if !out[s].contains(UInt32(tag)) { out[s].append(UInt32(tag)) }
        }
        // Breadth-first failure links, folded straight into a complete DFA.
        let n = goto.count
        var delta = [UInt32](repeating: 0, count: n * k)
        var fail = [Int](repeating: 0, count: n)
        var queue: [Int] = []
        for c in 0..<k {
            let t = goto[0][c]
            if t >= 0 {
                delta[c] = UInt32(t)
                fail[Int(t)] = 0
                queue.append(Int(t))
            }
        }
        var head = 0
        while head < queue.count {
            let s = queue[head]
            head += 1
            out[s].append(contentsOf: out[fail[s]].filter { !out[s].contains($0) })
            for c in 0..<k {
                let t = goto[s][c]
                if t >= 0 {
                    fail[Int(t)] = Int(delta[fail[s] * k + c])
                    delta[s * k + c] = UInt32(t)
                    queue.append(Int(t))
                } else {
                    delta[s * k + c] = delta[fail[s] * k + c]
                }
            }
        }
        var starts: [UInt32] = []
        var flat: [UInt32] = []
        for s in 0..<n {
            starts.append(UInt32(flat.count))
            flat.append(contentsOf: out[s])
        }
        starts.append(UInt32(flat.count))
        byteClass = classOf
        classCount = k
        table = delta
        outputStart = starts
        outputs = flat
        literalCount = literals.count
    }

    /// Calls `found` with the tag of every literal that occurs in `text` (a tag may repeat).
    @inline(__always)
    public func scan(_ text: UnsafeBufferPointer<UInt8>, _ found: (Int) -> Void) {
        guard let base = text.baseAddress, literalCount > 0 else { return }
        table.withUnsafeBufferPointer { delta in
            byteClass.withUnsafeBufferPointer { cls in
                outputStart.withUnsafeBufferPointer { starts in
                    var s = 0
                    let k = classCount
                    for i in 0..<text.count {
                        s = Int(delta[s &* k &+ Int(cls[Int(base[i])])])
                        let lo = Int(starts[s]), hi = Int(starts[s &+ 1])
                        if lo != hi {
                            for j in lo..<hi { found(Int(outputs[j])) }
                        }
                    }
                }
            }
        }
    }
}
