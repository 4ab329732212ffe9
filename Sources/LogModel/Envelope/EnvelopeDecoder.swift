/// What an envelope told about a line, and the payload inside it.
public struct Unwrapped {
    public var payload: UnsafeBufferPointer<UInt8>
    public var envelope: EnvelopeKind?
    public var time: Timestamp?
    public var component: Component?
    public var pid: Int?
    /// First physical line of a payload joined from partial records.
    public var firstLine: Int
}

/// Removes the envelopes a line arrived in (docker `--timestamps`, CRI, docker json-file,
/// kubectl `--prefix`, journald short / short-iso / json), stacked in any order, after stripping
/// ANSI colour escapes. Partial records (CRI `P`, json-file payloads split at 16 KiB) are joined
/// per stream and delivered with their final record.
public final class EnvelopeDecoder {
    /// Unescaped JSON and de-coloured text live here until the line after next: two buffers used
    /// in turn, so the payload of one line stays valid while the next line is unwrapped (the event
    /// source holds an event back until it knows the next line does not continue it). A decoder is
    /// used by one thread and these are never accessed reentrantly, so the per-line paths skip the
    /// runtime exclusivity checks.
    @exclusivity(unchecked) private var scratch: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var scratchCapacity: Int
    @exclusivity(unchecked) private var otherScratch: UnsafeMutablePointer<UInt8>
    @exclusivity(unchecked) private var otherScratchCapacity: Int
    /// Partial records being joined, one buffer per stream (stdout, stderr).
    @exclusivity(unchecked) private var partial: [UnsafeMutablePointer<UInt8>]
    @exclusivity(unchecked) private var partialCount = [0, 0]
    @exclusivity(unchecked) private var partialCapacity = [0, 0]
    @exclusivity(unchecked) private var partialFirstLine = [0, 0]
    private let maxJoined: Int
    /// Set when this line's payload was decoded from JSON or joined from records: the only ways an
    /// ESC byte can appear that the raw line did not show.
    @exclusivity(unchecked) private var decoded = false
    @exclusivity(unchecked) private var years: YearTracker
    @exclusivity(unchecked) private var dayCache = ByteScan.DayCache()

    /// Starts the year of journald's short timestamps over (before the first line is decoded).
    func restartYears(_ tracker: YearTracker) { years = tracker }

    /// A payload stated the year that a journald prefix lacks: later prefixes take it.
    func observeYear(_ t: Timestamp) { years.observe(t) }

    public init(years: YearTracker, maxJoined: Int = 1 << 20) {
        scratchCapacity = 64 << 10
        scratch = .allocate(capacity: scratchCapacity)
        otherScratchCapacity = 64 << 10
        otherScratch = .allocate(capacity: otherScratchCapacity)
        partial = [.allocate(capacity: 1), .allocate(capacity: 1)]
        partialCapacity = [1, 1]
        self.maxJoined = maxJoined
        self.years = years
    }

    deinit {
        scratch.deallocate()
        otherScratch.deallocate()
        partial.forEach { $0.deallocate() }
    }

    private func ensureScratch(_ n: Int) {
        if n > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = max(n, scratchCapacity * 2)
            scratch = .allocate(capacity: scratchCapacity)
        }
    }

    /// Switches to the other scratch buffer: the previous line's payload stays where it is.
    @inline(__always)
    private func swapScratch() {
        swap(&scratch, &otherScratch)
        swap(&scratchCapacity, &otherScratchCapacity)
    }

    /// Unwraps one physical line; nil when it was a partial record kept for joining.
    /// `mayContainEscape: false` (from `LineReader`) says the line has no ESC byte to look for.
    public func unwrap(_ line: UnsafeBufferPointer<UInt8>, lineNumber: Int,
                       mayContainEscape: Bool = true) -> Unwrapped? {
        swapScratch()
        decoded = false
        var p = line
        if mayContainEscape, ByteScan.index(of: 0x1B, in: p) != nil { p = stripANSI(p) }
        var out = Unwrapped(payload: p, envelope: nil, time: nil, component: nil, pid: nil, firstLine: lineNumber)
        // Up to three stacked envelopes (kubectl --prefix over --timestamps over CRI is the worst seen).
        for _ in 0..<3 {
            guard let first = out.payload.first else { break }
            let before = out.payload.count
            switch first {
            case 0x7B:  // {
                if ByteScan.hasPrefix("{\"log\":", out.payload) {
                    if !dockerJSON(&out, lineNumber: lineNumber) { return nil }
                } else if ByteScan.find("\"__REALTIME_TIMESTAMP\"", in: out.payload) != nil
                    || ByteScan.find("\"MESSAGE\"", in: out.payload) != nil {
                    journaldJSON(&out)
                }
            case 0x5B:  // [pod/NAME/CONTAINER]
                kubectlPrefix(&out)
            case 0x30...0x39:
                if let (t, end) = ByteScan.rfc3339(out.payload, 0, cache: &dayCache), end < out.payload.count,
                   out.payload[end] == 0x20, out.payload[10] == 0x54 {
                    if let r = cri(&out, time: t, after: end + 1, lineNumber: lineNumber) {
                        if !r { return nil }
                    } else if journaldISO(&out, time: t, after: end + 1) {
                    } else {
                        setEnvelope(&out, .dockerTS)
                        out.time = out.time ?? t
                        out.payload = ByteScan.slice(out.payload, end + 1, out.payload.count)
                    }
                }
            case 0x41...0x5A:  // Jul 23 07:30:08 host ident[pid]:
                journaldShort(&out)
            default:
                break
            }
            if out.payload.count == before { break }
        }
        // Escapes that were JSON-encoded (\u001b) appear only now.
        if out.envelope != nil, decoded || mayContainEscape, ByteScan.index(of: 0x1B, in: out.payload) != nil {
            out.payload = stripANSI(out.payload)
        }
        return out
    }

    private func setEnvelope(_ out: inout Unwrapped, _ kind: EnvelopeKind) {
        if out.envelope == nil { out.envelope = kind }
    }

    // MARK: docker json-file

    /// Returns false when the record is partial (its `log` does not end in a newline).
    private func dockerJSON(_ out: inout Unwrapped, lineNumber: Int) -> Bool {
        var log: UnsafeBufferPointer<UInt8>?
        var stream = 0
        var time: Timestamp?
        let complete: Bool
        if let fast = dockerJSONLayout(out.payload) {
            (log, stream, time, complete) = (fast.log, fast.stream, fast.time, true)
        } else {
            complete = JSONScanner.members(out.payload) { key, value, kind, _ in
                if key.count == 3, ByteScan.hasPrefix("log", key), kind == .string { log = value }
                else if key.count == 6, ByteScan.hasPrefix("stream", key) { stream = ByteScan.hasPrefix("stdout", value) ? 0 : 1 }
                else if key.count == 4, ByteScan.hasPrefix("time", key) { time = ByteScan.rfc3339(value, 0)?.0 }
            }
        }
        guard let log else { return true }  // not a json-file record after all: leave the line as it is
        setEnvelope(&out, .dockerJSON)
        out.time = out.time ?? time
        decoded = true
        ensureScratch(log.count)
        var n = JSONScanner.unescape(log, into: scratch)
        let ended = n > 0 && scratch[n - 1] == 0x0A
        if ended { n -= 1 }
        if n > 0, scratch[n - 1] == 0x0D { n -= 1 }
        let text = UnsafeBufferPointer(start: UnsafePointer(scratch), count: n)
        if !complete || ended {
            out.payload = joined(stream: stream, text, lineNumber: lineNumber, first: &out.firstLine)
            return true
        }
        appendPartial(stream: stream, text, lineNumber: lineNumber)
        return false
    }

    /// The record exactly as dockerd writes it, `{"log":"...","stream":"stderr","time":"..."}`,
    /// read by offset; nil for any other layout (the general JSON scanner reads those).
    private func dockerJSONLayout(_ p: UnsafeBufferPointer<UInt8>)
        -> (log: UnsafeBufferPointer<UInt8>, stream: Int, time: Timestamp?, complete: Bool)? {
        guard ByteScan.hasPrefix("{\"log\":\"", p), let logEnd = JSONScanner.stringEnd(p, 8) else { return nil }
        var i = logEnd + 1
        guard ByteScan.hasPrefix(",\"stream\":\"", p, at: i) else { return nil }
        i += 11
        let stream: Int
        if ByteScan.hasPrefix("stdout\"", p, at: i) { stream = 0 }
        else if ByteScan.hasPrefix("stderr\"", p, at: i) { stream = 1 }
        else { return nil }
        i += 7
        guard ByteScan.hasPrefix(",\"time\":\"", p, at: i), let timeEnd = JSONScanner.stringEnd(p, i + 9),
              timeEnd + 1 < p.count, p[timeEnd + 1] == 0x7D
        else { return nil }
        let time = ByteScan.rfc3339(ByteScan.slice(p, i + 9, timeEnd), 0, cache: &dayCache)?.0
        return (ByteScan.slice(p, 8, logEnd), stream, time, true)
    }

    // MARK: CRI

    /// `TIME stdout|stderr F|P payload`. nil when the line is not CRI; false when it was a partial record.
    private func cri(_ out: inout Unwrapped, time: Timestamp, after i: Int, lineNumber: Int) -> Bool? {
        let p = out.payload
        let stream: Int
        if ByteScan.hasPrefix("stdout ", p, at: i) { stream = 0 }
        else if ByteScan.hasPrefix("stderr ", p, at: i) { stream = 1 }
        else { return nil }
        let tag = i + 7
        guard tag + 1 <= p.count, p[tag] == 0x46 || p[tag] == 0x50, tag + 1 == p.count || p[tag + 1] == 0x20 else {
            return nil
        }
        setEnvelope(&out, .cri)
        out.time = out.time ?? time
        let text = ByteScan.slice(p, min(tag + 2, p.count), p.count)
        if p[tag] == 0x50 {
            appendPartial(stream: stream, text, lineNumber: lineNumber)
            return false
        }
        out.payload = joined(stream: stream, text, lineNumber: lineNumber, first: &out.firstLine)
        return true
    }

    // MARK: partial records

    private func appendPartial(stream: Int, _ text: UnsafeBufferPointer<UInt8>, lineNumber: Int) {
        let have = partialCount[stream]
        if have == 0 { partialFirstLine[stream] = lineNumber }
        let n = min(text.count, maxJoined - have)
        guard n > 0 else { return }
        if have + n > partialCapacity[stream] {
            let cap = max(have + n, partialCapacity[stream] * 2, 4096)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
            grown.update(from: partial[stream], count: have)
            partial[stream].deallocate()
            partial[stream] = grown
            partialCapacity[stream] = cap
        }
        (partial[stream] + have).update(from: text.baseAddress!, count: n)
        partialCount[stream] = have + n
    }

    /// The final record of a stream: on its own, or appended to the partial records before it.
    private func joined(stream: Int, _ text: UnsafeBufferPointer<UInt8>, lineNumber: Int,
                        first: inout Int) -> UnsafeBufferPointer<UInt8> {
        guard partialCount[stream] > 0 else { return text }
        decoded = true
        appendPartial(stream: stream, text, lineNumber: lineNumber)
        first = partialFirstLine[stream]
        let n = partialCount[stream]
        partialCount[stream] = 0
        ensureScratch(n)
        scratch.update(from: partial[stream], count: n)
        return UnsafeBufferPointer(start: UnsafePointer(scratch), count: n)
    }

    /// Records still waiting for their final part at the end of input: delivered as they are.
    public func flushPartial() -> (UnsafeBufferPointer<UInt8>, Int)? {
        for s in 0..<2 where partialCount[s] > 0 {
            swapScratch()
            let n = partialCount[s]
            partialCount[s] = 0
            ensureScratch(n)
            scratch.update(from: partial[s], count: n)
            return (UnsafeBufferPointer(start: UnsafePointer(scratch), count: n), partialFirstLine[s])
        }
        return nil
    }

    // MARK: kubectl --prefix

    private func kubectlPrefix(_ out: inout Unwrapped) {
        let p = out.payload
        guard ByteScan.hasPrefix("[pod/", p), let close = ByteScan.index(of: 0x5D, in: p), close + 1 < p.count,
              p[close + 1] == 0x20, let slash = ByteScan.lastIndex(of: 0x2F, in: p, before: close), slash > 5
        else { return }
        setEnvelope(&out, .kubectlPrefix)
        out.component = out.component ?? Component(bytes: ByteScan.slice(p, slash + 1, close))
            ?? Component.fromPodBytes(ByteScan.slice(p, 5, slash))
        out.payload = ByteScan.slice(p, close + 2, p.count)
    }

    // MARK: journald

    private static let months: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                                 "Oct", "Nov", "Dec"]

    /// `Jul 23 07:30:08 node1 kubelet[1234]: message`
    private func journaldShort(_ out: inout Unwrapped) {
        let p = out.payload
        guard p.count > 16, p[3] == 0x20 else { return }
        var month = 0
        for (i, m) in EnvelopeDecoder.months.enumerated() where ByteScan.hasPrefix(m, p) { month = i + 1; break }
        guard month > 0 else { return }
        var i = 4
        if p[i] == 0x20 { i += 1 }
        guard let (day, afterDay) = ByteScan.number(p, i), afterDay < p.count, p[afterDay] == 0x20,
              let h = ByteScan.digits(p, afterDay + 1, 2), let mi = ByteScan.digits(p, afterDay + 4, 2),
              let s = ByteScan.digits(p, afterDay + 7, 2), p[afterDay + 3] == 0x3A, p[afterDay + 6] == 0x3A
        else { return }
        var j = afterDay + 9
        var nanos = 0
        if j < p.count, p[j] == 0x2E { (nanos, j) = ByteScan.fraction(p, j + 1) }
        guard j < p.count, p[j] == 0x20, syslogTail(&out, from: j + 1) else { return }
        let year = years.year(forMonth: month)
        out.time = out.time ?? Timestamp(year: year, month: month, day: day, hour: h, minute: mi, second: s,
                                         nanosecond: nanos)
        setEnvelope(&out, .journaldShort)
    }

    /// `2021-07-23T07:30:08+0000 node1 k3s[811]: message`
    private func journaldISO(_ out: inout Unwrapped, time: Timestamp, after: Int) -> Bool {
        guard syslogTail(&out, from: after) else { return false }
        out.time = out.time ?? time
        setEnvelope(&out, .journaldISO)
        return true
    }

    /// `host ident[pid]: message` after a syslog time; sets component, pid and payload.
    private func syslogTail(_ out: inout Unwrapped, from: Int) -> Bool {
        let p = out.payload
        guard let hostEnd = ByteScan.index(of: 0x20, in: p, from: from), hostEnd > from,
              let colon = ByteScan.find(": ", in: p, from: hostEnd + 1), colon - hostEnd < 64
        else { return false }
        var identEnd = colon
        var pid: Int?
        if p[colon - 1] == 0x5D, let open = ByteScan.lastIndex(of: 0x5B, in: p, before: colon), open > hostEnd {
            pid = ByteScan.number(p, open + 1)?.value
            identEnd = open
        }
        let ident = ByteScan.slice(p, hostEnd + 1, identEnd)
        // Hostnames and syslog tags are plain words: `[FATAL] plugin/loop: ...` or `\t[WARNING Swap]: ...`
        // after a docker timestamp are payloads, not a syslog host and tag.
        func word(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F
        }
        guard !ident.isEmpty else { return false }
        for b in ByteScan.slice(p, from, hostEnd) where !word(b) { return false }
        for b in ident where !word(b) && b != 0x40 { return false }
        out.component = out.component ?? Component(bytes: ident)
        out.pid = out.pid ?? pid
        out.payload = ByteScan.slice(p, colon + 2, p.count)
        return true
    }

    /// `journalctl -o json`: MESSAGE (a string, or an array of byte values when not UTF-8),
    /// __REALTIME_TIMESTAMP in microseconds, SYSLOG_IDENTIFIER, _PID.
    private func journaldJSON(_ out: inout Unwrapped) {
        var message: UnsafeBufferPointer<UInt8>?
        var isArray = false
        var micros: Int?
        var ident: UnsafeBufferPointer<UInt8>?
        var pid: Int?
        JSONScanner.members(out.payload) { key, value, kind, _ in
            if key.count == 7, ByteScan.hasPrefix("MESSAGE", key) { message = value; isArray = kind == .other }
            else if key.count == 20, ByteScan.hasPrefix("__REALTIME_TIMESTAMP", key) { micros = ByteScan.number(value, 0)?.value }
            else if key.count == 17, ByteScan.hasPrefix("SYSLOG_IDENTIFIER", key) { ident = value }
            else if key.count == 4, ByteScan.hasPrefix("_PID", key) { pid = ByteScan.number(value, 0)?.value }
            else if key.count == 5, ByteScan.hasPrefix("_COMM", key), ident == nil { ident = value }
        }
        guard let message else { return }
        setEnvelope(&out, .journaldJSON)
        decoded = true
        if let micros { out.time = out.time ?? Timestamp(nanos: Int64(min(micros, Int.max / 1000)) * 1000) }
        if let ident { out.component = out.component ?? Component(bytes: ident) }
        out.pid = out.pid ?? pid
        ensureScratch(message.count)
        var n: Int
        if isArray {
            // [104,101,...]: byte values of a message that is not valid UTF-8.
            n = 0
            var i = 0
            while i < message.count {
                if let (v, end) = ByteScan.number(message, i) { scratch[n] = UInt8(truncatingIfNeeded: v); n += 1; i = end }
                else { i += 1 }
            }
        } else {
            n = JSONScanner.unescape(message, into: scratch)
        }
        while n > 0, scratch[n - 1] == 0x0A { n -= 1 }
        out.payload = UnsafeBufferPointer(start: UnsafePointer(scratch), count: n)
    }

    // MARK: ANSI

    /// Removes CSI (`ESC [ ... letter`) and OSC sequences, into the scratch buffer.
    private func stripANSI(_ p: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        ensureScratch(p.count)
        var i = 0, n = 0
        while i < p.count {
            let b = p[i]
            if b == 0x1B, i + 1 < p.count {
                if p[i + 1] == 0x5B {
                    i += 2
                    while i < p.count, !(p[i] >= 0x40 && p[i] <= 0x7E) { i += 1 }
                    i += 1
                    continue
                } else if p[i + 1] == 0x5D {
                    i += 2
                    while i < p.count, p[i] != 0x07, !(p[i] == 0x1B && i + 1 < p.count && p[i + 1] == 0x5C) { i += 1 }
                    i += p.count > i && p[i] == 0x07 ? 1 : 2
                    continue
                }
                i += 2
                continue
            }
            scratch[n] = b
            n += 1
            i += 1
        }
        return UnsafeBufferPointer(start: UnsafePointer(scratch), count: n)
    }
}
