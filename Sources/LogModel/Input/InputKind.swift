import Glibc

/// What an input is, by its bytes and not its name: text, gzip-compressed text, an archive, or
/// something that is not a log at all. One test for every command, so a `.gz` given to
/// `logdiag`, or random bytes behind a name ending in `.log`, never reads as an all-clear.
public enum InputKind: Sendable, Equatable {
    case text
    case gzip
    /// A tar archive, or a compressed format logdiag does not decompress itself (xz, zstd,
    /// bzip2, zip): named so the message can say what to do.
    case archive(String)
    /// Not a log: an executable, an image, random or otherwise binary data.
    case binary(String)

    /// Sniffs the first 8 KiB (and 8 KiB from the middle of a large file) of the open regular
    /// file `fd`, without moving its offset.
    public static func detect(fd: Int32) -> InputKind {
        var head = [UInt8](repeating: 0, count: 8192)
        let n = head.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return .text }
        let b = Array(head[0..<n])
        if let magic = magic(b) { return magic }
        if !looksLikeText(b) { return .binary("binary data") }
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 65536 {
            var mid = [UInt8](repeating: 0, count: 8192)
            let m = mid.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(st.st_size / 2)) }
            if m > 0, !looksLikeText(Array(mid[0..<m]), midStream: true) { return .binary("binary data") }
        }
        return .text
    }

    static func magic(_ b: [UInt8]) -> InputKind? {
        func starts(_ m: [UInt8]) -> Bool { b.count >= m.count && Array(b[0..<m.count]) == m }
        if starts([0x1F, 0x8B]) { return .gzip }
        if starts([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return .archive("xz-compressed") }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { return .archive("zstd-compressed") }
        if starts([0x42, 0x5A, 0x68]) { return .archive("bzip2-compressed") }
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

    /// What to tell the user about an input of this kind that the command cannot read.
    public func refusal(_ path: String) -> String {
        switch self {
        case .text, .gzip: return path
        case .archive(let what):
            return what == "a tar archive" || what == "a zip archive"
                ? "\(path): is \(what); read bundles with `logdiag triage \(path)`"
                : "\(path): is \(what); decompress it first (for example `xz -dc`, `zstd -dc` or `bzip2 -dc` into logdiag)"
        case .binary(let what): return "\(path): is \(what), not a log; skipped"
        }
    }
}
