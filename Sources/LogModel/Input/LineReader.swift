import Glibc

/// Hands out the lines of a `ByteSource` as byte views into one reusable buffer.
///
/// The buffer is filled with `read(2)` and lines are found with `memchr`; nothing is allocated
/// per line. A view stays valid until the next call to `next`. The buffer grows only when a
/// single line does not fit, up to `maxLineBytes`; a longer line is handed out in pieces and
/// counted in `splitLines`.
public struct LineReader<Source: ByteSource>: ~Copyable {
    public var source: Source
    private var buffer: UnsafeMutableRawBufferPointer
    /// Start of the bytes not yet handed out.
    private var pos = 0
    /// End of the bytes read so far.
    private var end = 0
    private var eof = false
    public let maxLineBytes: Int
    /// Physical line number of the line last returned (1-based).
    public private(set) var lineNumber = 0
    /// Lines longer than `maxLineBytes` that were handed out in pieces.
    public private(set) var splitLines = 0
    /// Bytes consumed from the source so far.
    public private(set) var bytesRead = 0
    /// True when the previous piece ended without a newline because it hit `maxLineBytes`:
    /// the next piece continues the same physical line.
    private var continuingSplit = false
    /// Index of the newline ending the next line, when `lineIsBuffered` already looked for it.
    private var knownNewline = -1
    /// Index of the first ESC byte at or after `pos`, or `end` when there is none in the buffer:
    /// one `memchr` per buffer fill tells which lines can hold ANSI escapes.
    private var nextEscape = 0
    /// False when the line last returned holds no ESC byte (so no ANSI escape to strip).
    public private(set) var lastLineMayContainEscape = true

    public init(source: consuming Source, capacity: Int = 64 << 10, maxLineBytes: Int = 8 << 20) {
        self.source = source
        let cap = max(1, min(capacity, maxLineBytes))
        self.buffer = .allocate(byteCount: cap, alignment: 16)
        self.maxLineBytes = max(1, maxLineBytes)
    }

    deinit { buffer.deallocate() }

    /// The next line without its terminator (`\n` or `\r\n`), or nil at end of input.
    ///
    /// With `final == false` (follow mode) a trailing line without a newline is kept until more
    /// bytes arrive, and nil means "nothing more for now".
    public mutating func next(final: Bool = true) throws(InputError) -> UnsafeBufferPointer<UInt8>? {
        while true {
            if pos < end {
                let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                let nlIndex = knownNewline >= 0 ? knownNewline : findNewline(base)
                if nlIndex >= 0 {
                    return take(base: base, upTo: nlIndex, consumed: nlIndex + 1)
                }
                if end - pos >= maxLineBytes {
                    // Count lines, not pieces: only the first cut of a physical line.
                    if !continuingSplit { splitLines += 1 }
                    let line = take(base: base, upTo: pos + maxLineBytes, consumed: pos + maxLineBytes, split: true)
                    return line
                }
            }
            if eof {
                if pos < end, final {
                    let base = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    return take(base: base, upTo: end, consumed: end)
                }
                if !final { eof = false }
                return nil
            }
            try fill()
            if eof && !final && pos < end { eof = false; return nil }
        }
    }

    /// Counts `n` lines as already read, for a reader that starts partway into a file (follow's
    /// `--tail`): the lines it hands out keep their numbers in the whole file.
    public mutating func skipLines(_ n: Int) { lineNumber += n }

    /// The bytes of the first read, before any line is handed out (empty after that): a look
    /// ahead at what the start of the input says. The lines are still handed out by `next`.
    /// With `minimum`, reads until that many bytes (at most the buffer) are there or input ends.
    public mutating func peekStart(minimum: Int = 1) throws(InputError) -> UnsafeBufferPointer<UInt8> {
        guard lineNumber == 0, pos == 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        while end < min(minimum, buffer.count), !eof { try fill() }
        return UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: end)
    }

    /// True when the next line is already complete in the buffer, so `next` will not move the
    /// buffer (views handed out before stay valid through it). The newline found is remembered.
    public mutating func lineIsBuffered() -> Bool {
        guard pos < end else { return false }
        if knownNewline < 0 { knownNewline = findNewline(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
        return knownNewline >= 0
    }

    @inline(__always)
    private func findNewline(_ base: UnsafeMutablePointer<UInt8>) -> Int {
        guard let nl = memchr(base + pos, 0x0A, end - pos) else { return -1 }
        return UnsafeRawPointer(nl) - UnsafeRawPointer(base)
    }

    private mutating func take(base: UnsafeMutablePointer<UInt8>, upTo stop: Int, consumed: Int,
                               split: Bool = false) -> UnsafeBufferPointer<UInt8> {
        if !continuingSplit { lineNumber += 1 }
        continuingSplit = split
        knownNewline = -1
        var stopAt = stop
        if !split, stopAt > pos, base[stopAt - 1] == 0x0D { stopAt -= 1 }
        let line = UnsafeBufferPointer(start: base + pos, count: stopAt - pos)
        lastLineMayContainEscape = nextEscape < stopAt
        pos = consumed
        if nextEscape < pos { nextEscape = findEscape(base, from: pos) }
        return line
    }

    private func findEscape(_ base: UnsafeMutablePointer<UInt8>, from: Int) -> Int {
        guard from < end, let p = memchr(base + from, 0x1B, end - from) else { return end }
        return UnsafeRawPointer(p) - UnsafeRawPointer(base)
    }

    /// Moves the unread tail to the front, grows the buffer when one line fills it, and reads.
    private mutating func fill() throws(InputError) {
        if pos > 0 {
            let tail = end - pos
            if tail > 0 {
                buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + pos, byteCount: tail)
            }
            pos = 0
            end = tail
        }
        if end == buffer.count {
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: min(buffer.count * 2, maxLineBytes + 1),
                                                               alignment: 16)
            grown.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = grown
        }
        knownNewline = -1
        let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        if n == 0 { eof = true } else { end += n; bytesRead += n }
        nextEscape = findEscape(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), from: pos)
    }
}
