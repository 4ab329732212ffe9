import CByteScan
import Glibc

/// Byte-level helpers for parsers: no String, no allocation.
public enum ByteScan {
    /// Offset of `needle` in `hay[from...]`, or nil.
    ///
    /// Log lines are short: `memchr` for the needle's first byte and a compare beats glibc's
    /// generic `memmem`, which sets up a two-way search on every call.
    @inline(__always)
    public static func find(_ needle: UnsafeBufferPointer<UInt8>, in hay: UnsafeBufferPointer<UInt8>,
                            from: Int = 0) -> Int? {
        guard let h = hay.baseAddress, let n = needle.baseAddress, from >= 0, from < hay.count, needle.count > 0 else {
            return nil
        }
        let m = needle.count
        let last = hay.count - m
        var i = from
        let first = Int32(n[0])
        while i <= last {
            guard let p = memchr(h + i, first, last - i + 1) else { return nil }
            let at = UnsafeRawPointer(p) - UnsafeRawPointer(h)
            if m == 1 || (h[at + 1] == n[1] && memcmp(h + at + 1, n + 1, m - 1) == 0) { return at }
            i = at + 1
        }
        return nil
    }

    /// Offset of `needle` (a static ASCII literal) in `hay[from...]`, or nil.
    @inline(__always)
    public static func find(_ needle: StaticString, in hay: UnsafeBufferPointer<UInt8>, from: Int = 0) -> Int? {
        find(UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount), in: hay, from: from)
    }

    /// Offset of byte `b` in `hay[from...]`, or nil.
    @inline(__always)
    public static func index(of b: UInt8, in hay: UnsafeBufferPointer<UInt8>, from: Int = 0) -> Int? {
        guard let h = hay.baseAddress, from < hay.count else { return nil }
        guard let p = memchr(h + from, Int32(b), hay.count - from) else { return nil }
        return UnsafeRawPointer(p) - UnsafeRawPointer(h)
    }

    /// Offset of the last `b` in `hay[..<before]`, or nil.
    @inline(__always)
    public static func lastIndex(of b: UInt8, in hay: UnsafeBufferPointer<UInt8>, before: Int) -> Int? {
        guard let h = hay.baseAddress, before > 0 else { return nil }
        guard let p = ld_memrchr(h, Int32(b), min(before, hay.count)) else { return nil }
        return UnsafeRawPointer(p) - UnsafeRawPointer(h)
    }

    @inline(__always)
    public static func hasPrefix(_ prefix: StaticString, _ hay: UnsafeBufferPointer<UInt8>, at: Int = 0) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard at >= 0, hay.count - at >= n else { return false }
        return memcmp(hay.baseAddress! + at, prefix.utf8Start, n) == 0
    }

    @inline(__always)
    public static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// Year and month of the first line in `text` that begins with a full date: `2021/07/23`
    /// (Rancher, Go `log`), `2021-07-23` (docker timestamps, capnslog, RFC 3339) or logrus's
    /// `time="2021-07-23`.
    public static func firstLineDate(in text: UnsafeBufferPointer<UInt8>) -> (year: Int, month: Int)? {
        var i = 0
        let n = text.count
        while i < n {
            var at = i
            if hasPrefix("time=\"", slice(text, i, n)) { at += 6 }
            if let y = digits(text, at, 4), (1970...2200).contains(y), at + 10 <= n,
               text[at + 4] == 0x2D || text[at + 4] == 0x2F, text[at + 7] == text[at + 4],
               let m = digits(text, at + 5, 2), (1...12).contains(m), let d = digits(text, at + 8, 2), (1...31).contains(d) {
                return (y, m)
            }
            guard let b = text.baseAddress, let nl = memchr(b + i, 0x0A, n - i) else { return nil }
            i = UnsafeRawPointer(nl) - UnsafeRawPointer(b) + 1
        }
        return nil
    }

    /// The value of `count` decimal digits at `at`, or nil when any is not a digit.
    @inline(__always)
    public static func digits(_ p: UnsafeBufferPointer<UInt8>, _ at: Int, _ count: Int) -> Int? {
        guard at >= 0, at + count <= p.count else { return nil }
        var v = 0
        for i in at..<(at + count) {
            let d = p[i] &- 0x30
            if d >= 10 { return nil }
            v = v &* 10 &+ Int(d)
        }
        return v
    }

    /// Reads a run of digits starting at `i`; returns the value and the index after it.
    @inline(__always)
    public static func number(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (value: Int, end: Int)? {
        var j = i, v = 0
        while j < p.count, isDigit(p[j]), j - i < 18 { v = v &* 10 &+ Int(p[j] &- 0x30); j += 1 }
        return j > i ? (v, j) : nil
    }

    /// A fraction of a second: up to nine digits from `i`, as nanoseconds, and the index after them.
    @inline(__always)
    public static func fraction(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (nanos: Int, end: Int) {
        var j = i, v = 0, n = 0
        while j < p.count, isDigit(p[j]) {
            if n < 9 { v = v * 10 + Int(p[j] &- 0x30); n += 1 }
            j += 1
        }
        while n < 9 { v *= 10; n += 1 }
        return (v, j)
    }

    /// `p[from..<to]` as a view.
    @inline(__always)
    public static func slice(_ p: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> UnsafeBufferPointer<UInt8> {
        let lo = min(max(0, from), p.count)
        return UnsafeBufferPointer(rebasing: p[lo..<min(max(lo, to), p.count)])
    }

    /// Index of the first `a` or `c` in `b[i..<n]`, or `n`, eight bytes at a time: for bytes that are
    /// a few words away, where a `memchr` call costs more than it saves. Pass `a` twice for one byte.
    @inline(__always)
    static func firstOf(_ a: UInt8, _ c: UInt8, in b: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        var j = i
        let raw = UnsafeRawPointer(b)
        let ma = UInt64(a) &* 0x0101_0101_0101_0101, mc = UInt64(c) &* 0x0101_0101_0101_0101
        while j &+ 8 <= n {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: j, as: UInt64.self))
            let hit = zeroBytes(w ^ ma) | zeroBytes(w ^ mc)
            if hit != 0 { return j &+ (hit.trailingZeroBitCount &>> 3) }
            j &+= 8
        }
        while j < n, b[j] != a, b[j] != c { j &+= 1 }
        return j
    }

    /// Index of the first byte in `b[i..<n]` that is not a space or tab (or `n`), eight at a time.
    @inline(__always)
    static func skipBlanks(_ b: UnsafePointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        var j = i
        let raw = UnsafeRawPointer(b)
        while j &+ 8 <= n {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: j, as: UInt64.self))
            let blanks = zeroBytes(w ^ 0x2020_2020_2020_2020) | zeroBytes(w ^ 0x0909_0909_0909_0909)
            let other = ~blanks & 0x8080_8080_8080_8080
            if other != 0 { return j &+ (other.trailingZeroBitCount &>> 3) }
            j &+= 8
        }
        while j < n, b[j] == 0x20 || b[j] == 0x09 { j &+= 1 }
        return j
    }

    /// 0x80 in every byte of `x` that is zero, nothing elsewhere (exact: no borrow between bytes).
    @inline(__always)
    static func zeroBytes(_ x: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((x & low7) &+ low7) | x | low7)
    }

    /// Index of the first byte at or after `i` that is not a space or tab.
    @inline(__always)
    public static func skipSpaces(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var j = i
        while j < p.count, p[j] == 0x20 || p[j] == 0x09 { j += 1 }
        return j
    }

    /// Parses RFC 3339 (`2021-07-23T07:30:08.920852123Z`, `+02:00`, `+0200`, or a space for `T`)
    /// at `i`. Returns the instant and the index after it.
    public static func rfc3339(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (Timestamp, Int)? {
        var cache = DayCache()
        return rfc3339(p, i, cache: &cache)
    }

    /// The day number of the last date seen: lines of one log share their date, so the calendar
    /// arithmetic runs once a day instead of once a line. Also the last RFC 3339 minute and klog
    /// time read, by their bytes: most lines repeat the one before up to the seconds, and bytes
    /// equal to the ones that were parsed parse to the same values.
    struct DayCache {
        var key = -1
        var days = 0
        /// `yyyy-mm-ddThh:mm` as two words, and its seconds since 1970 (0 words: nothing cached).
        var minuteA: UInt64 = 0
        var minuteB: UInt64 = 0
        var minuteSeconds: Int64 = 0
        /// klog's `mmdd hh:mm:ss` (bytes 1 to 13 of the line) as two overlapping words, and its fields.
        var klogA: UInt64 = 0
        var klogB: UInt64 = 0
        var klogFields = (month: 0, day: 0, hour: 0, minute: 0, second: 0)
    }

    static func rfc3339(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, cache: inout DayCache) -> (Timestamp, Int)? {
        guard i >= 0, p.count > i + 18, let base = p.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base + i)
        let a = raw.loadUnaligned(as: UInt64.self), b = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let minuteSecs: Int64
        if a == cache.minuteA, b == cache.minuteB, a != 0 {
            minuteSecs = cache.minuteSeconds
        } else {
            guard let y = digits(p, i, 4), p[i + 4] == 0x2D, let mo = digits(p, i + 5, 2),
                  p[i + 7] == 0x2D, let d = digits(p, i + 8, 2), p[i + 10] == 0x54 || p[i + 10] == 0x20,
                  let h = digits(p, i + 11, 2), p[i + 13] == 0x3A, let mi = digits(p, i + 14, 2),
                  (1...12).contains(mo), (1...31).contains(d)
            else { return nil }
            minuteSecs = minuteSeconds(year: y, month: mo, day: d, hour: h, minute: mi, cache: &cache)
            (cache.minuteA, cache.minuteB, cache.minuteSeconds) = (a, b, minuteSecs)
        }
        guard p[i + 16] == 0x3A, let s = digits(p, i + 17, 2) else { return nil }
        var j = i + 19
        var ns = 0
        if j < p.count, p[j] == 0x2E || p[j] == 0x2C {
            (ns, j) = fraction(p, j + 1)
        }
        var offset = 0
        if j < p.count {
            if p[j] == 0x5A {
                j += 1
            } else if p[j] == 0x2B || p[j] == 0x2D, let oh = digits(p, j + 1, 2) {
                var om = 0
                var k = j + 3
                if k < p.count, p[k] == 0x3A, let m = digits(p, k + 1, 2) { om = m; k += 3 }
                else if let m = digits(p, k, 2) { om = m; k += 2 }
                offset = (oh * 3600 + om * 60) * (p[j] == 0x2D ? -1 : 1)
                j = k
            }
        }
        return (instant(seconds: minuteSecs + Int64(s - offset), nanosecond: ns), j)
    }

    /// `Timestamp(year:month:day:hour:minute:second:nanosecond:offsetSeconds:)`, with the day
    /// number of the date taken from `cache` when the date is the one seen last.
    @inline(__always)
    static func timestamp(year y: Int, month mo: Int, day d: Int, hour h: Int, minute mi: Int, second s: Int,
                          nanosecond ns: Int, offsetSeconds offset: Int = 0, cache: inout DayCache) -> Timestamp {
        instant(seconds: minuteSeconds(year: y, month: mo, day: d, hour: h, minute: mi, cache: &cache) + Int64(s - offset),
                nanosecond: ns)
    }

    /// Seconds since 1970 at the start of a minute (the day number from `cache` when it is the same date).
    @inline(__always)
    static func minuteSeconds(year y: Int, month mo: Int, day d: Int, hour h: Int, minute mi: Int,
                              cache: inout DayCache) -> Int64 {
        let key = (y &* 100 &+ mo) &* 100 &+ d
        if key != cache.key {
            // As `Timestamp(year:...)` does: years outside what Int64 nanoseconds hold are clamped.
            cache.days = Timestamp.daysFromCivil(year: min(max(y, 1678), 2261), month: mo, day: d)
            cache.key = key
        }
        return Int64(cache.days) * 86_400 + Int64(h * 3600 + mi * 60)
    }

    /// The instant `secs` seconds and `ns` nanoseconds after 1970, clamped where Int64 nanoseconds end.
    @inline(__always)
    static func instant(seconds secs: Int64, nanosecond ns: Int) -> Timestamp {
        let (scaled, overflow) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        return Timestamp(nanos: overflow ? (secs < 0 ? .min : .max) : scaled.addingReportingOverflow(Int64(ns)).partialValue)
    }

    /// Case-insensitive search for an ASCII lowercase literal; for the rare formats without a
    /// severity field.
    public static func containsLowercased(_ needle: StaticString, in hay: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard n > 0, hay.count >= n else { return false }
        let first = needle.utf8Start[0]
        var i = 0
        while i <= hay.count - n {
            if hay[i] | 0x20 == first {
                var k = 1
                while k < n, hay[i + k] | 0x20 == needle.utf8Start[k] { k += 1 }
                if k == n { return true }
            }
            i += 1
        }
        return false
    }
}
