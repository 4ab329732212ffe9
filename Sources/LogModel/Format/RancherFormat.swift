/// Rancher server and Go's `log` package: `YYYY/MM/DD HH:MM:SS [LEVEL] message`. Rancher/RKE quote
/// the failing component's last klog line after `log:`; that line becomes an inner event.
public enum RancherFormat {
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent) -> Bool {
        guard p.count >= 20, let y = ByteScan.digits(p, 0, 4), p[4] == 0x2F, let mo = ByteScan.digits(p, 5, 2),
              p[7] == 0x2F, let d = ByteScan.digits(p, 8, 2), p[10] == 0x20, let h = ByteScan.digits(p, 11, 2),
              p[13] == 0x3A, let mi = ByteScan.digits(p, 14, 2), p[16] == 0x3A, let s = ByteScan.digits(p, 17, 2),
              (1...12).contains(mo), (1...31).contains(d)
        else { return false }
        var i = 19
        var nanos = 0
        if i < p.count, p[i] == 0x2E { (nanos, i) = ByteScan.fraction(p, i + 1) }
        guard i >= p.count || p[i] == 0x20 else { return false }
        if e.time == nil {
            e.time = Timestamp(year: y, month: mo, day: d, hour: h, minute: mi, second: s, nanosecond: nanos)
        }
        i = ByteScan.skipSpaces(p, i)
        e.format = .rancher
        e.severity = .info
        if i < p.count, p[i] == 0x5B, let close = ByteScan.index(of: 0x5D, in: p, from: i), close - i <= 9 {
            if let level = LevelWord.severity(ByteScan.slice(p, i + 1, close)) {
                e.severity = level
                i = ByteScan.skipSpaces(p, close + 1)
            }
        } else {
            // Go `log` without a level: guess from the words.
            e.severity = LevelWord.guess(ByteScan.slice(p, i, p.count), default: .info)
        }
        e.message = ByteScan.slice(p, i, p.count)
        return true
    }
}

/// The quoted component line in Rancher/RKE errors:
/// `... for service [kube-proxy] on host [10.0.0.1]: ... , log: F0723 07:40:32.920751 19619 server.go:495] ...]`
public enum QuotedLogLine {
    /// Splits `message` at its quoted `log:` line. Returns the outer message (before `, log: `), the
    /// inner payload (brackets Rancher added removed), the service and the host named before it.
    public static func split(_ m: UnsafeBufferPointer<UInt8>) -> (outer: UnsafeBufferPointer<UInt8>,
                                                                  inner: UnsafeBufferPointer<UInt8>,
                                                                  service: UnsafeBufferPointer<UInt8>?,
                                                                  host: UnsafeBufferPointer<UInt8>?)? {
        guard let at = ByteScan.find(", log: ", in: m) else { return nil }
        var end = m.count
        // Drop the closing brackets of Rancher's `error: [...]` lists that are not the line's own.
        var depth = 0
        for k in (at + 7)..<m.count {
            if m[k] == 0x5B { depth += 1 } else if m[k] == 0x5D { depth -= 1 }
        }
        while depth < 0, end > at + 7, m[end - 1] == 0x5D { end -= 1; depth += 1 }
        let inner = ByteScan.slice(m, at + 7, end)
        let outer = ByteScan.slice(m, 0, at)
        return (outer, inner, bracketed(after: "service [", in: outer), bracketed(after: "on host [", in: outer))
    }

    static func bracketed(after key: StaticString, in m: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        guard let k = ByteScan.find(key, in: m) else { return nil }
        let start = k + key.utf8CodeUnitCount
        guard let close = ByteScan.index(of: 0x5D, in: m, from: start), close > start else { return nil }
        return ByteScan.slice(m, start, close)
    }
}
