import Glibc

/// A minimal scanner over the top-level members of one JSON object, on bytes. Values are handed out
/// raw: a string's content between its quotes (escapes kept), or a number / literal / nested value.
public enum JSONScanner {
    public enum Kind { case string, other }

    /// Calls `body(key, value, kind, valueStart)` per member; returns false when the object is malformed
    /// or truncated (the members seen so far were still delivered).
    @discardableResult
    public static func members(_ p: UnsafeBufferPointer<UInt8>,
                               _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>, Kind, Int) -> Void) -> Bool {
        var i = ByteScan.skipSpaces(p, 0)
        guard i < p.count, p[i] == 0x7B else { return false }
        i += 1
        while true {
            i = skipWhite(p, i)
            guard i < p.count else { return false }
            if p[i] == 0x7D { return true }
            if p[i] == 0x2C { i += 1; continue }
            guard p[i] == 0x22, let keyEnd = stringEnd(p, i + 1) else { return false }
            let key = ByteScan.slice(p, i + 1, keyEnd)
            i = skipWhite(p, keyEnd + 1)
            guard i < p.count, p[i] == 0x3A else { return false }
            i = skipWhite(p, i + 1)
            guard i < p.count else { return false }
            if p[i] == 0x22 {
                guard let end = stringEnd(p, i + 1) else { return false }
                body(key, ByteScan.slice(p, i + 1, end), .string, i + 1)
                i = end + 1
            } else {
                let start = i
                var depth = 0
                while i < p.count {
                    let b = p[i]
                    if b == 0x22 {
                        guard let end = stringEnd(p, i + 1) else { return false }
                        i = end + 1
                        continue
                    }
                    if b == 0x7B || b == 0x5B { depth += 1 }
                    else if b == 0x7D || b == 0x5D {
                        if depth == 0 { break }
                        depth -= 1
                    } else if b == 0x2C && depth == 0 { break }
                    i += 1
                }
                var end = i
                while end > start, p[end - 1] == 0x20 || p[end - 1] == 0x0A || p[end - 1] == 0x09 { end -= 1 }
                body(key, ByteScan.slice(p, start, end), .other, start)
            }
        }
    }

    /// Index of the closing quote of a string whose content starts at `i`.
    @inline(__always)
    static func stringEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int? {
        guard let base = p.baseAddress, i >= 0 else { return nil }
        let n = p.count
        var j = i
        // A quote ends the string unless an odd run of backslashes (from `i` on) escapes it: the
        // same quote that pairing each backslash with the byte after it finds, found by `memchr`.
        while j < n {
            guard let q = memchr(base + j, 0x22, n - j) else { return nil }
            let k = UnsafeRawPointer(q) - UnsafeRawPointer(base)
            var run = 0
            while k - 1 - run >= i, base[k - 1 - run] == 0x5C { run += 1 }
            if run & 1 == 0 { return k }
            j = k + 1
        }
        return nil
    }

    /// Index of the first `"` or `\` in `base[i..<n]`, or `n`.
    @inline(__always)
    static func quoteOrBackslash(_ base: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        ByteScan.firstOf(0x22, 0x5C, in: base, i, n)
    }

    @inline(__always)
    static func skipWhite(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var j = i
        while j < p.count, p[j] == 0x20 || p[j] == 0x09 || p[j] == 0x0A || p[j] == 0x0D { j += 1 }
        return j
    }

    /// Undoes JSON string escapes of `s` into `out` (UTF-8); returns the bytes written.
    /// `out` must hold at least `s.count` bytes: unescaping never grows the text.
    public static func unescape(_ s: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = s.baseAddress else { return 0 }
        var i = 0, o = 0
        while i < s.count {
            // Copy the run up to the next backslash in one go.
            let stop = memchr(base + i, 0x5C, s.count - i).map { UnsafeRawPointer($0) - UnsafeRawPointer(base) } ?? s.count
            if stop > i {
                (out + o).update(from: base + i, count: stop - i)
                o += stop - i
                i = stop
                if i >= s.count { break }
            }
            // s[i] is a backslash.
            if i + 1 >= s.count { out[o] = 0x5C; o += 1; i += 1; continue }
            let c = s[i + 1]
            i += 2
            switch c {
            case 0x6E: out[o] = 0x0A; o += 1
            case 0x74: out[o] = 0x09; o += 1
            case 0x72: out[o] = 0x0D; o += 1
            case 0x62: out[o] = 0x08; o += 1
            case 0x66: out[o] = 0x0C; o += 1
            case 0x75:
                guard var cp = hex4(s, i) else { out[o] = 0x5C; out[o + 1] = c; o += 2; continue }
                i += 4
                if cp >= 0xD800, cp < 0xDC00, i + 5 < s.count, s[i] == 0x5C, s[i + 1] == 0x75,
                   let lo = hex4(s, i + 2), lo >= 0xDC00, lo < 0xE000 {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                }
                o += encodeUTF8(cp, out + o)
            default: out[o] = c; o += 1
            }
        }
        return o
    }

    private static func hex4(_ s: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32? {
        guard i + 4 <= s.count else { return nil }
        var v: UInt32 = 0
        for k in i..<(i + 4) {
            let b = s[k]
            let d: UInt8
            switch b {
            case 0x30...0x39: d = b - 0x30
            case 0x61...0x66: d = b - 0x61 + 10
            case 0x41...0x46: d = b - 0x41 + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
        }
        return v
    }

    /// Writes `cp` as UTF-8 (at most 4 bytes; a \uXXXX escape is 6 bytes, so the output never grows).
    private static func encodeUTF8(_ cp: UInt32, _ out: UnsafeMutablePointer<UInt8>) -> Int {
        switch cp {
        case 0..<0x80: out[0] = UInt8(cp); return 1
        case 0x80..<0x800:
            out[0] = UInt8(0xC0 | cp >> 6); out[1] = UInt8(0x80 | cp & 0x3F); return 2
        case 0x800..<0x10000:
            out[0] = UInt8(0xE0 | cp >> 12); out[1] = UInt8(0x80 | cp >> 6 & 0x3F); out[2] = UInt8(0x80 | cp & 0x3F)
            return 3
        default:
            out[0] = UInt8(0xF0 | cp >> 18); out[1] = UInt8(0x80 | cp >> 12 & 0x3F)
            out[2] = UInt8(0x80 | cp >> 6 & 0x3F); out[3] = UInt8(0x80 | cp & 0x3F)
            return 4
        }
    }
}

/// JSON payloads: etcd's zap logger (`{"level":"warn","ts":"...","msg":"..."}`) and Kubernetes'
/// `--logging-format=json` (`{"ts":1627025408920.852,"caller":"...","msg":"...","v":0,"err":"..."}`).
/// The message starts at the `msg` value and runs to the end, so keys after it (`err`, `error`) are
/// visible to patterns.
public enum JSONPayloadFormat {
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent) -> Bool {
        var level: Severity?
        var hasErr = false
        var msgStart: Int?
        var epoch: Double?
        var isoTime: Timestamp?
        var hasV = false
        JSONScanner.members(p) { key, value, kind, start in
            switch key.count {
            case 5 where ByteScan.hasPrefix("level", key): level = LevelWord.severity(value)
            case 3 where ByteScan.hasPrefix("msg", key): if kind == .string { msgStart = start }
            case 7 where ByteScan.hasPrefix("message", key): if kind == .string, msgStart == nil { msgStart = start }
            case 2 where ByteScan.hasPrefix("ts", key):
                if kind == .string { isoTime = ByteScan.rfc3339(value, 0)?.0 } else { epoch = parseDouble(value) }
            case 3 where ByteScan.hasPrefix("err", key): hasErr = true
            case 5 where ByteScan.hasPrefix("error", key): hasErr = true
            case 1 where key[0] == 0x76: hasV = true
            default: break
            }
        }
        guard let msgStart else { return false }
        if let level {
            e.format = .etcdJSON
            e.severity = level
        } else if epoch != nil || hasV {
            e.format = .kubeJSON
            e.severity = hasErr ? .error : .info
        } else {
            return false
        }
        if e.time == nil {
            if let isoTime { e.time = isoTime }
            else if let epoch {
                // Epoch milliseconds in current releases, seconds in older ones.
                let seconds = epoch > 1e11 ? epoch / 1000 : epoch
                // A corrupt epoch must not trap: keep it inside what Int64 nanoseconds can hold.
                e.time = Timestamp(nanos: Int64(min(max(seconds * 1e9, -9.2e18), 9.2e18)))
            }
        }
        var end = p.count
        while end > msgStart, p[end - 1] == 0x7D || p[end - 1] == 0x20 || p[end - 1] == 0x22 { end -= 1 }
        e.message = ByteScan.slice(p, msgStart, end)
        return true
    }

    static func parseDouble(_ v: UnsafeBufferPointer<UInt8>) -> Double? {
        var whole: Double = 0, frac: Double = 0, scale: Double = 1
        var i = 0, seenDot = false, any = false
        while i < v.count {
            let b = v[i]
            if ByteScan.isDigit(b) {
                any = true
                if seenDot { scale /= 10; frac += Double(b - 0x30) * scale } else { whole = whole * 10 + Double(b - 0x30) }
            } else if b == 0x2E, !seenDot { seenDot = true } else { break }
            i += 1
        }
        return any ? whole + frac : nil
    }
}
