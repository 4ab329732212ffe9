/// klog, the format of every Kubernetes component:
/// `Lmmdd hh:mm:ss.uuuuuu threadid file:line] message`, parsed by offset.
public enum KlogFormat {
    /// True when `p` starts with a klog header; fills severity, time, pid, file, line and message.
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent, years: inout YearTracker) -> Bool {
        var cache = ByteScan.DayCache()
        return parse(p, into: &e, years: &years, observeTime: true, dayCache: &cache)
    }

    /// What the header of a klog line says, by offset: the one parse both the event path and the
    /// skip test (`EventSource`) use, so they agree on which lines are klog.
    struct Header {
        var severity: Severity
        var month: Int, day: Int, hour: Int, minute: Int, second: Int, nanos: Int
        var pid: Int
        var fileStart: Int, fileEnd: Int
        var line: Int
        /// Where the message begins.
        var messageStart: Int
    }

    @inline(__always)
    static func header(_ p: UnsafeBufferPointer<UInt8>, cache: inout ByteScan.DayCache) -> Header? {
        guard p.count >= 22, let b = p.baseAddress else { return nil }
        let severity: Severity
        switch b[0] {
        case 0x49: severity = .info  // I
        case 0x57: severity = .warning  // W
        case 0x45: severity = .error  // E
        case 0x46: severity = .fatal  // F
        default: return nil
        }
        // mmdd hh:mm:ss at fixed offsets: ten digits and three separators; the same bytes as the
        // line before (most lines) are the same time up to the fraction.
        let raw = UnsafeRawPointer(b)
        let wa = raw.loadUnaligned(fromByteOffset: 1, as: UInt64.self)
        let wb = raw.loadUnaligned(fromByteOffset: 6, as: UInt64.self)
        let month: Int, day: Int, hour: Int, minute: Int, second: Int
        if wa == cache.klogA, wb == cache.klogB, wa != 0 {
            (month, day, hour, minute, second) = cache.klogFields
        } else {
            let m1 = b[1] &- 0x30, m2 = b[2] &- 0x30, d1 = b[3] &- 0x30, d2 = b[4] &- 0x30
            let h1 = b[6] &- 0x30, h2 = b[7] &- 0x30, n1 = b[9] &- 0x30, n2 = b[10] &- 0x30
            let s1 = b[12] &- 0x30, s2 = b[13] &- 0x30
            guard m1 < 10, m2 < 10, d1 < 10, d2 < 10, h1 < 10, h2 < 10, n1 < 10, n2 < 10, s1 < 10, s2 < 10,
                  b[5] == 0x20, b[8] == 0x3A, b[11] == 0x3A
            else { return nil }
            month = Int(m1) &* 10 &+ Int(m2)
            day = Int(d1) &* 10 &+ Int(d2)
            hour = Int(h1) &* 10 &+ Int(h2)
            minute = Int(n1) &* 10 &+ Int(n2)
            second = Int(s1) &* 10 &+ Int(s2)
            guard month >= 1, month <= 12, day >= 1, day <= 31, hour < 24, minute < 60, second < 61 else { return nil }
            (cache.klogA, cache.klogB) = (wa, wb)
            cache.klogFields = (month, day, hour, minute, second)
        }
        let n = p.count
        var i = 14
        var nanos = 0
        if b[i] == 0x2E, n > 22, b[21] &- 0x30 >= 10 {
            // The usual six digits of microseconds.
            var v = 0, ok = true
            for k in 15..<21 {
                let d = b[k] &- 0x30
                ok = ok && d < 10
                v = v &* 10 &+ Int(d)
            }
            if ok { nanos = v &* 1000; i = 21 }
        }
        if i == 14, b[i] == 0x2E {
            // Up to nine digits of fraction; more are read and ignored.
            i += 1
            var digits = 0
            while i < n {
                let d = b[i] &- 0x30
                if d >= 10 { break }
                if digits < 9 { nanos = nanos &* 10 &+ Int(d); digits += 1 }
                i += 1
            }
            while digits < 9 { nanos &*= 10; digits += 1 }
        }
        // Thread id, right-aligned in 7 columns (squeezed to one space in pasted logs).
        i = ByteScan.skipBlanks(b, i, n)
        let pidStart = i
        var pid = 0
        while i < n, i - pidStart < 18 {
            let d = b[i] &- 0x30
            if d >= 10 { break }
            pid = pid &* 10 &+ Int(d)
            i += 1
        }
        guard i > pidStart, i < n, b[i] == 0x20 else { return nil }
        // file:line] — the file may carry a directory (-add_dir_header).
        let fileStart = i + 1
        guard let close = closeBracket(b, fileStart, n) else { return nil }
        // The line number: digits back from `]` to the last `:`.
        var colon = close - 1
        var line = 0, scale = 1
        while colon > fileStart {
            let d = b[colon] &- 0x30
            if d >= 10 { break }
            line &+= Int(d) &* scale
            scale &*= 10
            colon -= 1
        }
        guard colon > fileStart, b[colon] == 0x3A, colon < close - 1, close - 1 - colon <= 18 else { return nil }
        var m = close + 1
        if m < n, b[m] == 0x20 { m += 1 }
        return Header(severity: severity, month: month, day: day, hour: hour, minute: minute, second: second,
                      nanos: nanos, pid: pid, fileStart: fileStart, fileEnd: colon, line: line, messageStart: min(m, n))
    }

    /// The time a header states, in the year `years` gives its month.
    @inline(__always)
    static func time(of h: Header, years: inout YearTracker, dayCache: inout ByteScan.DayCache) -> Timestamp {
        let year = years.year(forMonth: h.month)
        return ByteScan.timestamp(year: year, month: h.month, day: h.day, hour: h.hour, minute: h.minute,
                                  second: h.second, nanosecond: h.nanos, cache: &dayCache)
    }

    static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent, years: inout YearTracker,
                      observeTime: Bool, dayCache: inout ByteScan.DayCache) -> Bool {
        guard let h = header(p, cache: &dayCache), let b = p.baseAddress else { return false }
        e.severity = h.severity
        e.format = .klog
        e.pid = h.pid
        e.sourceFile = UnsafeBufferPointer(start: b + h.fileStart, count: h.fileEnd - h.fileStart)
        e.sourceLine = h.line
        if e.time == nil {
            e.time = time(of: h, years: &years, dayCache: &dayCache)
        } else if observeTime {
            // The envelope's date is authoritative; keep the year tracker in step with it.
            years.observe(e.time!)
        }
        e.message = UnsafeBufferPointer(start: b + h.messageStart, count: p.count - h.messageStart)
        return true
    }

    /// The first `]` in `b[from ..< n]` if it is less than 256 bytes from `from`.
    @inline(__always)
    private static func closeBracket(_ b: UnsafePointer<UInt8>, _ from: Int, _ n: Int) -> Int? {
        let limit = min(n, from &+ 256)
        let j = ByteScan.firstOf(0x5D, 0x5D, in: b, from, limit)
        return j < limit ? j : nil
    }
}
