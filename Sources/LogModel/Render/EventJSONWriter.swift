/// Writes events as NDJSON for `logdiag parse`, with the keys documented in the README:
/// input, lineNumber, envelope, format, severity, time, pid, file, line, component, message,
/// fields, and inner when the line quotes another.
public struct EventJSONWriter {
    private var out: [UInt8] = []
    /// `parse --redact`: input names, messages and field values are masked before encoding.
    public var redactor: Redactor?

    public init(redactor: Redactor? = nil) {
        self.redactor = redactor
        out.reserveCapacity(1 << 17)
    }

    public var buffered: Int { out.count }

    public mutating func take() -> String {
        defer { out.removeAll(keepingCapacity: true) }
        return String(decoding: out, as: UTF8.self)
    }

    public mutating func write(_ e: borrowing LogEvent, input: String) {
        object(e, input: input)
        out.append(0x0A)
    }

    private mutating func object(_ e: borrowing LogEvent, input: String) {
        raw("{\"input\":"); text(input)
        raw(",\"lineNumber\":"); raw(String(e.lineNumber))
        raw(",\"envelope\":"); if let env = e.envelope { string(env.description) } else { raw("null") }
        raw(",\"format\":"); string(e.format.description)
        raw(",\"severity\":"); string(e.severity.description)
        raw(",\"time\":"); if let t = e.time { string(t.rfc3339) } else { raw("null") }
        raw(",\"pid\":"); if let p = e.pid { raw(String(p)) } else { raw("null") }
        raw(",\"file\":"); if let f = e.sourceFile { bytes(f) } else { raw("null") }
        raw(",\"line\":"); if let l = e.sourceLine { raw(String(l)) } else { raw("null") }
        raw(",\"component\":"); if let c = e.component { string(c.name) } else { raw("null") }
        raw(",\"message\":"); text(String(decoding: EventFields.messageText(e), as: UTF8.self))
        raw(",\"fields\":{")
        for (k, (key, value)) in EventFields.extract(e).enumerated() {
            if k > 0 { raw(",") }
            string(key); raw(":"); text(value)
        }
        raw("}")
        if let inner = e.inner.first {
            raw(",\"inner\":")
            object(inner, input: input)
        }
        raw("}")
    }

    private mutating func raw(_ s: String) { out.append(contentsOf: s.utf8) }

    private mutating func string(_ s: String) { quote(s.utf8) }

    /// Text from a log: masked first when redacting.
    private mutating func text(_ s: String) { quote((redactor?.redact(s) ?? s).utf8) }

    private mutating func bytes(_ b: UnsafeBufferPointer<UInt8>) {
        // Invalid UTF-8 is repaired to U+FFFD so the output is always valid JSON.
        quote(String(decoding: b, as: UTF8.self).utf8)
    }

    private mutating func quote<C: Collection>(_ s: C) where C.Element == UInt8 {
        out.append(0x22)
        for b in s {
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(0x22)
    }
}

/// Structured key/values of an event, decoded for display (`logdiag parse`), never on the hot path.
public enum EventFields {
    /// The message without the structured pairs that follow it: klog `"msg" k=v` → msg,
    /// logrus and JSON → the `msg` value, unquoted.
    public static func messageText(_ e: borrowing LogEvent) -> UnsafeBufferPointer<UInt8> {
        let m = e.message
        switch e.format {
        case .klog:
            if m.first == 0x22, let end = JSONScanner.stringEnd(m, 1) { return ByteScan.slice(m, 1, end) }
            return m
        case .logrus, .etcdJSON, .kubeJSON:
            // The message view starts inside the quoted msg value: it ends at the closing quote.
            if let end = JSONScanner.stringEnd(m, 0) { return ByteScan.slice(m, 0, end) }
            return m
        default:
            return m
        }
    }

    public static func extract(_ e: borrowing LogEvent) -> [(String, String)] {
        var fields: [(String, String)] = []
        switch e.format {
        case .klog:
            let m = e.message
            guard m.first == 0x22, let end = JSONScanner.stringEnd(m, 1) else { return [] }
            klogPairs(m, from: end + 1, into: &fields)
        case .logrus:
            KeyValueScanner.scan(e.payload, from: 0) { k, v, _, quoted in
                let key = k.string
                if !["time", "level", "msg"].contains(key) { fields.append((key, quoted ? unquote(v) : v.string)) }
                return true
            }
        case .etcdJSON, .kubeJSON:
            JSONScanner.members(e.payload) { k, v, kind, _ in
                let key = k.string
                if !["msg", "level", "ts"].contains(key) { fields.append((key, kind == .string ? unquote(v) : v.string)) }
            }
        case .kubeEvent:
            guard let r = KubeEventFormat.row(e.payload) else { break }
            let p = e.payload
            func text(_ range: Range<Int>) -> String { ByteScan.slice(p, range.lowerBound, range.upperBound).string }
            fields.append(("type", r.warning ? "Warning" : "Normal"))
            fields.append(("reason", text(r.reason)))
            if let o = r.object { fields.append(("object", text(o))) }
            if let f = r.from { fields.append(("from", text(f))) }
            fields.append(("count", String(r.repeats)))
            fields.append(("text", text(r.text..<p.count)))
        default:
            break
        }
        return fields
    }

    /// klog pairs, including multi-line `key=<` blocks (tab-indented lines up to ` >`).
    static func klogPairs(_ m: UnsafeBufferPointer<UInt8>, from: Int, into fields: inout [(String, String)]) {
        var i = from
        while i < m.count {
            while i < m.count, m[i] == 0x20 || m[i] == 0x0A { i += 1 }
            let ks = i
            while i < m.count, m[i] != 0x3D, m[i] != 0x20 { i += 1 }
            guard i < m.count, m[i] == 0x3D else { break }
            let key = ByteScan.slice(m, ks, i).string
            i += 1
            if i < m.count, m[i] == 0x22, let end = JSONScanner.stringEnd(m, i + 1) {
                fields.append((key, unquote(ByteScan.slice(m, i + 1, end))))
                i = end + 1
            } else if i < m.count, m[i] == 0x3C, i + 1 >= m.count || m[i + 1] == 0x0A {
                // key=<\n\tline\n\tline\n >
                var lines: [String] = []
                var j = i + 2
                while j < m.count {
                    var e = j
                    while e < m.count, m[e] != 0x0A { e += 1 }
                    let line = ByteScan.slice(m, j, e)
                    if line.count >= 2, line[0] == 0x20, line[1] == 0x3E { j = e; break }
                    lines.append(String(ByteScan.slice(line, line.first == 0x09 ? 1 : 0, line.count).string))
                    j = e + 1
                }
                fields.append((key, lines.joined(separator: "\n")))
                i = j + 2
            } else {
                let vs = i
                while i < m.count, m[i] != 0x20, m[i] != 0x0A { i += 1 }
                fields.append((key, ByteScan.slice(m, vs, i).string))
            }
        }
    }

    /// A Go- or JSON-quoted string's content with its escapes undone.
    static func unquote(_ v: UnsafeBufferPointer<UInt8>) -> String {
        var buf = [UInt8](repeating: 0, count: v.count)
        let n = buf.withUnsafeMutableBufferPointer { JSONScanner.unescape(v, into: $0.baseAddress!) }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }
}

/// Counts for `logdiag parse --stats`.
public struct FormatStats {
    var envelopes: [String: Int] = [:]
    var formats: [String: Int] = [:]
    var severities: [String: Int] = [:]
    var events = 0
    var plain = 0

    public init() {}

    public mutating func add(_ e: borrowing LogEvent) {
        events += 1
        envelopes[e.envelope?.description ?? "none", default: 0] += 1
        formats[e.format.description, default: 0] += 1
        severities[e.severity.description, default: 0] += 1
        if e.format == .plain { plain += 1 }
    }

    public func render(lines: Int) -> String {
        func table(_ title: String, _ d: [String: Int]) -> String {
            "\(title):\n" + d.sorted { $0.value > $1.value }.map { "  \($0.key.padding(toLength: 16, withPad: " ", startingAt: 0)) \($0.value)\n" }.joined()
        }
        var out = "\(lines) lines, \(events) events\n"
        out += table("envelope", envelopes) + table("format", formats) + table("severity", severities)
        let share = events == 0 ? 0 : Double(plain) * 100 / Double(events)
        out += "no known format: \(plain) events (\(Int(share.rounded()))%)\n"
        return out
    }
}
