import Testing
@testable import LogModel

/// Reads every line of `text` with the given buffer capacity and chunk size, as strings.
func readLines(_ text: [UInt8], capacity: Int, chunk: Int, maxLine: Int = 1 << 20) throws -> (lines: [[UInt8]], split: Int) {
    var reader = LineReader(source: MemorySource(text, chunk: chunk), capacity: capacity, maxLineBytes: maxLine)
    var lines: [[UInt8]] = []
    while let line = try reader.next() { lines.append(Array(line)) }
    return (lines, reader.splitLines)
}

@Suite struct LineReaderTests {
    @Test(arguments: [(1, 1), (7, 3), (64, 64), (65536, 100_000)])
    func linesStraddlingRefillsComeOutWhole(capacity: Int, chunk: Int) throws {
        let text = "first line\r\nsecond\n\nfourth has no newline"
        let (lines, split) = try readLines(Array(text.utf8), capacity: capacity, chunk: chunk)
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == ["first line", "second", "", "fourth has no newline"])
        #expect(split == 0)
    }

    @Test func invalidUTF8AndNULBytesPassThroughUnchanged() throws {
        let bytes: [UInt8] = [0x61, 0x00, 0xFF, 0xFE, 0x62, 0x0A, 0xC3, 0x28, 0x0A]
        let (lines, _) = try readLines(bytes, capacity: 2, chunk: 1)
        #expect(lines == [[0x61, 0x00, 0xFF, 0xFE, 0x62], [0xC3, 0x28]])
    }

    @Test func aLineLongerThanTheCapIsSplitAndCounted() throws {
        let long = [UInt8](repeating: 0x78, count: 250)
        let (lines, split) = try readLines(long + [0x0A] + Array("next\n".utf8), capacity: 16, chunk: 7, maxLine: 100)
        #expect(lines.count == 4)
        #expect(lines[0].count == 100 && lines[1].count == 100 && lines[2].count == 50)
        #expect(String(decoding: lines[3], as: UTF8.self) == "next")
        #expect(split == 1, "one physical line was split (into three pieces)")
    }

    @Test func physicalLineNumbersIgnoreSplitPieces() throws {
        var reader = LineReader(source: MemorySource(String(repeating: "y", count: 30) + "\nz\n", chunk: 5),
                                capacity: 8, maxLineBytes: 10)
        var numbers: [Int] = []
        while try reader.next() != nil { numbers.append(reader.lineNumber) }
        #expect(numbers == [1, 1, 1, 2])
    }

    @Test func emptyInputHasNoLines() throws {
        let (lines, _) = try readLines([], capacity: 4, chunk: 1)
        #expect(lines.isEmpty)
    }
}

@Suite struct ByteScanTests {
    /// The word-at-a-time search agrees with a byte loop at every start, end and alignment,
    /// including bytes with the high bit set next to the ones sought.
    @Test func firstOfAgreesWithAByteLoop() {
        var rng = SystemRandomNumberGenerator()
        var wrong: [String] = []
        let alphabet: [UInt8] = [0x22, 0x5C, 0x5D, 0x41, 0xA2, 0xDD, 0x00, 0xFF, 0x20]
        for _ in 0..<300 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            bytes.withUnsafeBufferPointer { p in
                guard let base = p.baseAddress else { return }
                for (a, c) in [(UInt8(0x22), UInt8(0x5C)), (0x5D, 0x5D)] {
                    for i in 0...p.count {
                        for n in i...p.count {
                            let want = (i..<n).first { p[$0] == a || p[$0] == c } ?? n
                            let got = ByteScan.firstOf(a, c, in: base, i, n)
                            if got != want { wrong.append("\(bytes) \(i)..<\(n): \(got), not \(want)") }
                        }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }
}
