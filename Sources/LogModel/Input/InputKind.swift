import Glibc

/// What an input is, by its bytes and not its name: text, compressed data, an archive, or
/// something that is not a log at all. One test for every command, so a `.gz` given to
/// `logdiag`, or random bytes behind a name ending in `.log`, never reads as an all-clear.
public enum InputKind: Sendable, Equatable {
    case text
    /// gzip, xz, zstd or bzip2 data ("gzip-compressed"): a compressed log, or a compressed tar.
    case compressed(String)
    /// A tar or zip archive ("a tar archive").
    case archive(String)
    /// Not a log: an executable, an image, random or otherwise binary data.
    case binary(String)

    /// Sniffs the first 8 KiB (and 8 KiB from the middle of a large file) of the open regular
    /// file `fd`, without moving its offset.
    public static func detect(fd: Int32) -> InputKind {
        var head = [UInt8](repeating: 0, count: 8192)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return .text }
        let first = detect(head: Array(head[0..<n]))
        guard first == .text else { return first }
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 65536 {
            var mid = [UInt8](repeating: 0, count: 8192)
            let m = mid.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(st.st_size / 2)) }
            if m > 0, !looksLikeText(Array(mid[0..<m]), midStream: true) { return .binary("binary data") }
        }
        return .text
    }

    /// Compressed data or an archive: read through a `PackedReading`.
    public var isPacked: Bool {
        switch self {
        case .compressed, .archive: true
        default: false
        }
    }

    /// The kind of data that starts with `head` (up to 8 KiB of it): magic numbers first, then
    /// the byte classes.
    public static func detect(head: [UInt8]) -> InputKind {
        if head.isEmpty { return .text }
        if let magic = magic(head) { return magic }
        return looksLikeText(head) ? .text : .binary("binary data")
    }

    static func magic(_ b: [UInt8]) -> InputKind? {
        func starts(_ m: [UInt8]) -> Bool { b.count >= m.count && Array(b[0..<m.count]) == m }
        if starts([0x1F, 0x8B]) { return .compressed("gzip-compressed") }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .compressed("xz-compressed") }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { return .compressed("zstd-compressed") }
        if starts([0x42, 0x5A, 0x68]), b.count > 3, (0x31...0x39).contains(b[3]) { return .compressed("bzip2-compressed") }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return .archive("a zip archive") }
        if b.count >= 262, Array(b[257..<262]) == Array("ustar".utf8) { return .archive("a tar archive") }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return .binary("an ELF executable") }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return .binary("a PNG image") }
        return nil
    }

    /// Text when control bytes (other than tab, newline, CR, ESC, form feed) and bytes that are
    /// not valid UTF-8 together stay under 10% (random data has about 60% of them; a log with some
    /// Latin-1 words has a few percent).
    static func looksLikeText(_ b: [UInt8], midStream: Bool = false) -> Bool {
        var bad = 0
        var i = 0
        // A block from the middle may start inside a UTF-8 sequence.
        if midStream { while i < b.count, b[i] & 0xC0 == 0x80 { i += 1 } }
        while i < b.count {
            let c = b[i]
            if c < 0x80 {
                if c < 0x20, c != 0x09, c != 0x0A, c != 0x0D, c != 0x1B, c != 0x0C { bad += 1 }
                if c == 0x7F { bad += 1 }
                i += 1
                continue
            }
            let len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0
            if len == 0 { bad += 1; i += 1; continue }
            if i + len > b.count { break }  // cut at the end of the block
            var ok = true
            for k in 1..<len where b[i + k] & 0xC0 != 0x80 { ok = false }
            if ok { i += len } else { bad += 1; i += 1 }
        }
        return bad * 10 <= b.count
    }

    /// Why a file of this kind is not read as a log: "binary file", "an ELF executable".
    public var skipReason: String {
        switch self {
        case .binary("binary data"): "binary file"
        case .binary(let what), .compressed(let what), .archive(let what): what
        case .text: "text"
        }
    }

    /// What to tell the user about an input of this kind that the command cannot read.
    public func refusal(_ path: String) -> String {
        switch self {
        case .text: return path
        case .compressed(let what): return "\(path): is \(what); this build of logdiag reads no compressed files"
        case .archive(let what): return "\(path): is \(what); read bundles with `logdiag triage \(path)`"
        case .binary(let what): return "\(path): is \(what), not a log; skipped"
        }
    }
}
