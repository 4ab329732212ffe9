/// Masks IP addresses, hostnames and tokens in everything logdiag prints (`--redact`), so a
/// report can be shared. The same value always gets the same mask, so lines still correlate.
public final class Redactor {
    private struct Kind {
        let label: String
        let pattern: PCRE2Pattern
        /// The capture group holding the secret; 0 is the whole match.
        let group: Int
    }

    private let kinds: [Kind]
    private var masks: [String: String] = [:]
    private var counters: [String: Int] = [:]

    public init() {
        func p(_ s: String) -> PCRE2Pattern { try! PCRE2Pattern(s) }
        kinds = [
            // Tokens first: they may contain dots or digits that look like the others.
            Kind(label: "token", pattern: p(#"(?i)(?:--token[ =]|token[=:]\s*"?|bearer\s+|password[=:]\s*"?|secret[=:]\s*"?|--ca-checksum[ =])([A-Za-z0-9._~+/=-]{6,})"#), group: 1),
            Kind(label: "token", pattern: p(#"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#), group: 0),
            Kind(label: "token", pattern: p(#"\b[a-f0-9]{32,}\b|\b[A-Za-z0-9]{40,}\b"#), group: 0),
            Kind(label: "ip", pattern: p(#"\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b"#), group: 0),
            // IPv6 in every form: full, compressed anywhere (`2001:db8::8a2e:370:7334`, `fe80::1`, `::1`).
            Kind(label: "ip", pattern: p(#"(?<![\w:.])(?=[0-9a-fA-F:]*::|(?:[0-9a-fA-F]{1,4}:){4})[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])"#), group: 0),
            // Named hosts: where a log names them (`host [x]`, `node="x"`, `hostname=x`), and dotted names.
            Kind(label: "host", pattern: p(#"(?:on host \[|host=|node=|nodeName=|hostname=|"node":|node \[)"?([A-Za-z0-9][A-Za-z0-9.-]*)"#), group: 1),
            Kind(label: "host", pattern: p(#"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){2,}(?:[a-z]{2,24})\b"#), group: 0),
        ]
    }

    private func mask(_ value: String, _ label: String) -> String {
        if value.hasPrefix("[") && value.hasSuffix("]") { return value }
        if let m = masks[value] { return m }
        let n = (counters[label] ?? 0) + 1
        counters[label] = n
        // Brackets, not angle brackets: the mask must stay valid in XML (JUnit) and Markdown.
        let m = "[\(label)-\(n)]"
        masks[value] = m
        return m
    }

    public func redact(_ text: String) -> String {
        var current = text
        for kind in kinds {
            var bytes = Array(current.utf8)
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            let scratch = kind.pattern.makeScratch()
            var pos = 0
            bytes.append(0)  // keeps the buffer non-empty; not part of the subject
            let count = bytes.count - 1
            bytes.withUnsafeBufferPointer { all in
                while pos <= count {
                    let rest = UnsafeBufferPointer(rebasing: all[pos..<count])
                    guard kind.pattern.matches(rest, scratch: scratch),
                          let whole = kind.pattern.range(ofGroup: 0, scratch: scratch),
                          let secret = kind.pattern.range(ofGroup: kind.group, scratch: scratch), !secret.isEmpty
                    else { break }
                    out.append(contentsOf: rest[0..<secret.lowerBound])
                    let value = String(decoding: rest[secret], as: UTF8.self)
                    out.append(contentsOf: mask(value, kind.label).utf8)
                    out.append(contentsOf: rest[secret.upperBound..<whole.upperBound])
                    pos += max(whole.upperBound, secret.upperBound, 1)
                }
                if pos < count { out.append(contentsOf: all[pos..<count]) }
            }
            current = String(decoding: out, as: UTF8.self)
        }
        return current
    }
}
