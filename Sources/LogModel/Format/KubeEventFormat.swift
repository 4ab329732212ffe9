/// A row of a Kubernetes event table, as operators paste them:
///
/// - `kubectl describe`:  `  Warning  BackOff  90s (x7 over 3m10s)  kubelet  Back-off restarting failed container`
///   (older kubectl: `From` is `kubelet, node-1`);
/// - `kubectl get events [-A]`: `[NAMESPACE]  3m  Warning  FailedScheduling  pod/web-1  0/3 nodes are available: ...`,
///   and `-o wide`, which adds `SUBOBJECT`, `SOURCE` before the message and `FIRST SEEN  COUNT  NAME` after it;
/// - the rows `EventDocument` makes from `-o json` / `-o yaml`: `TIME  Warning  BackOff  pod/web-1  (x7 over 3m10s)  message`.
///
/// The message rules see runs from the reason to the end of the row, so a pattern can name both:
/// `FailedMount\b.*MountVolume.SetUp failed`. `Warning` is warning severity, `Normal` info; the
/// count becomes the event's `repeats`; `From` names the component. Ages are relative and say no time.
enum KubeEventFormat {
    /// Where a row's columns are, as offsets into the payload.
    struct Row {
        var warning: Bool
        var reason: Range<Int>
        var object: Range<Int>?
        var from: Range<Int>?
        var repeats: Int32
        /// Start of the event's own message text.
        var text: Int
    }

    static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent) -> Bool {
        guard let r = row(p) else { return false }
        e.format = .kubeEvent
        e.severity = r.warning ? .warning : .info
        e.message = ByteScan.slice(p, r.reason.lowerBound, p.count)
        e.repeats = r.repeats
        if let f = r.from, let c = Component(bytes: ByteScan.slice(p, f.lowerBound, f.upperBound)) { e.component = c }
        return true
    }

    /// The columns of `p`, or nil when it is not an event row.
    static func row(_ p: UnsafeBufferPointer<UInt8>) -> Row? {
        let n = p.count
        var i = ByteScan.skipSpaces(p, 0)
        let indented = i > 0
        // Up to two columns before the type (namespace, last seen); the one right before it is an age.
        var before = 0
        var lastTokenWasAge = false
        var typeIsWarning = false
        while true {
            if let w = typeWord(p, i) {
                typeIsWarning = w
                i = ByteScan.skipSpaces(p, i + (w ? 7 : 6))
                break
            }
            guard before < 2, !indented || before == 0 else { return nil }
            let end = tokenEnd(p, i)
            guard end > i, end < n else { return nil }
            lastTokenWasAge = isAge(p, i, end)
            before += 1
            i = ByteScan.skipSpaces(p, end)
        }
        if before > 0 && (!lastTokenWasAge || indented) { return nil }
        // The reason: a CamelCase word.
        let reasonStart = i
        let reasonEnd = tokenEnd(p, i)
        guard reasonEnd - reasonStart >= 3, reasonEnd < n, p[reasonStart] &- 0x41 < 26 else { return nil }
        for k in reasonStart..<reasonEnd where !isAlnum(p[k]) { return nil }
        i = ByteScan.skipSpaces(p, reasonEnd)
        var repeats: Int32 = 1
        var from: Range<Int>?
        var object: Range<Int>?
        let next = tokenEnd(p, i)
        guard next > i else { return nil }
        if before == 0, isAge(p, i, next) {
            // describe: AGE [(xN over AGE)] FROM[, HOST] MESSAGE
            i = ByteScan.skipSpaces(p, next)
            if let (count, after) = countGroup(p, i) { repeats = count; i = ByteScan.skipSpaces(p, after) }
            let fromEnd = tokenEnd(p, i)
            guard fromEnd > i, fromEnd < n else { return nil }
            let hasHost = p[fromEnd - 1] == 0x2C  // `kubelet, node-1`
            from = i..<(hasHost ? fromEnd - 1 : fromEnd)
            i = ByteScan.skipSpaces(p, fromEnd)
            if hasHost { i = ByteScan.skipSpaces(p, tokenEnd(p, i)) }
        } else if ByteScan.index(of: 0x2F, in: ByteScan.slice(p, i, next)) != nil {
            // get events: OBJECT [(xN over AGE)] MESSAGE [FIRST-SEEN COUNT NAME]
            object = i..<next
            i = ByteScan.skipSpaces(p, next)
            if let (count, after) = countGroup(p, i) { repeats = count; i = ByteScan.skipSpaces(p, after) }
            if let count = wideCount(p) { repeats = count }
        } else {
            return nil
        }
        guard i < n else { return nil }
        return Row(warning: typeIsWarning, reason: reasonStart..<reasonEnd, object: object, from: from,
                   repeats: repeats, text: i)
    }

    /// `Warning` (true) or `Normal` (false) followed by a space at `i`.
    private static func typeWord(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Bool? {
        if ByteScan.hasPrefix("Warning ", p, at: i) { return true }
        if ByteScan.hasPrefix("Normal ", p, at: i) { return false }
        return nil
    }

    private static func tokenEnd(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> Int {
        var j = i
        while j < p.count, p[j] != 0x20, p[j] != 0x09 { j += 1 }
        return j
    }

    private static func isAlnum(_ b: UInt8) -> Bool { b &- 0x30 < 10 || (b | 0x20) &- 0x61 < 26 }

    /// A kubectl age: `59s`, `3m12s`, `2d4h`, `<unknown>`, `<invalid>`.
    static func isAge(_ p: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Bool {
        guard end > i else { return false }
        let t = ByteScan.slice(p, i, end)
        if ByteScan.hasPrefix("<unknown>", t) || ByteScan.hasPrefix("<invalid>", t) { return t.count == 9 }
        var sawDigit = false
        var k = 0
        while k < t.count {
            let b = t[k]
            if ByteScan.isDigit(b) {
                sawDigit = true
            } else if sawDigit, b == 0x73 || b == 0x6D || b == 0x68 || b == 0x64 || b == 0x79 {  // s m h d y
                sawDigit = false
            } else {
                return false
            }
            k += 1
        }
        return !sawDigit && ByteScan.isDigit(t[0])
    }

    /// `(x7 over 3m10s)` or `(x7)` at `i`: the count and the index after the group.
    private static func countGroup(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> (Int32, Int)? {
        guard ByteScan.hasPrefix("(x", p, at: i), let (count, end) = ByteScan.number(p, i + 2), count > 0 else { return nil }
        guard let close = ByteScan.index(of: 0x29, in: p, from: end), close - end < 24 else { return nil }
        return (Int32(clamping: count), close + 1)
    }

    /// The COUNT column of `kubectl get events -o wide`: `... MESSAGE  3m  7  web-1.17a2b3c4d5e6f7a8`.
    private static func wideCount(_ p: UnsafeBufferPointer<UInt8>) -> Int32? {
        var end = p.count
        while end > 0, p[end - 1] == 0x20 { end -= 1 }
        func tokenBefore(_ e: Int) -> (Int, Int)? {
            var s = e
            while s > 0, p[s - 1] != 0x20 { s -= 1 }
            guard s < e, s >= 2, p[s - 1] == 0x20, p[s - 2] == 0x20 else { return nil }  // columns are 2+ spaces apart
            return (s, e)
        }
        guard let name = tokenBefore(end), ByteScan.index(of: 0x2E, in: ByteScan.slice(p, name.0, name.1)) != nil else { return nil }
        var e2 = name.0
        while e2 > 0, p[e2 - 1] == 0x20 { e2 -= 1 }
        guard let count = tokenBefore(e2) else { return nil }
        var e3 = count.0
        while e3 > 0, p[e3 - 1] == 0x20 { e3 -= 1 }
        guard let age = tokenBefore(e3), isAge(p, age.0, age.1) else { return nil }
        guard let (v, after) = ByteScan.number(p, count.0), after == count.1, v > 0 else { return nil }
        return Int32(clamping: v)
    }
}
