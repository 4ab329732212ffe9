import Synchronization

/// Masks what a report must not carry when it is shared (`--redact`): addresses, hosts, emails,
/// credentials, tokens, keys. It runs once, on the text that came from logs and file names
/// (evidence, captures, templates, input names), before anything is cut, formatted or filled into
/// a cause or fix, so logdiag's own texts and reference links are never touched, and the same
/// value gets the same mask everywhere in one run (`[ip-1]` in the evidence, the fix and on stderr).
public final class Redactor: Sendable {
    private struct Kind: Sendable {
        let label: String
        let pattern: PCRE2Pattern
        /// The capture group holding the secret; 0 is the whole match.
        let group: Int
        /// A second test on the secret, for what a pattern alone cannot say cheaply.
        let accept: (@Sendable (String) -> Bool)?
    }

    private struct State {
        var masks: [String: String] = [:]
        var counters: [String: Int] = [:]
        /// Values the logs name as hosts or nodes (captures), masked wherever they appear.
        var known: [String] = []
    }

    private let kinds: [Kind]
    private let state = Mutex(State())

    public init() {
        func k(_ label: String, _ s: String, group: Int = 0, accept: (@Sendable (String) -> Bool)? = nil) -> Kind {
            Kind(label: label, pattern: try! PCRE2Pattern(s), group: group, accept: accept)
        }
        kinds = [
            // Whole blocks first: a PEM block holds base64 that would otherwise be masked piecemeal.
            k("key", #"-----BEGIN [A-Z0-9 ]{1,40}-----(?:(?!-----END)[\s\S])*+(?:-----END [A-Z0-9 ]{1,40}-----)?"#),
            // Credentials in URLs (`https://admin:pass@host`) before emails, which look alike.
            k("credentials", #"(?i)\b[a-z][a-z0-9+.-]{0,20}://([^\s:/@]{1,256}:[^\s/@]{1,256})@"#, group: 1),
            k("token", #"(?i)\bauthorization:\s*(?:basic|bearer|token)\s+([A-Za-z0-9._~+/=-]{4,})"#, group: 1),
            k("token", #"(?i)\b(?:basic|bearer)\s+([A-Za-z0-9._~+/=-]{8,})"#, group: 1),
            // JSON and YAML values of secret-named keys: `"password": "x"`, `token: x`, `secret=x`.
            k("secret", #"(?i)"(?:[a-z_-]{0,20}(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?))"\s*:\s*"((?:[^"\\]|\\.)++)""#, group: 1),
            k("secret", #"(?i)\b(?:[a-z_-]{0,20}(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|ca[_-]checksum))(?:\s*[:=]\s*|\s+)"?([^\s"',;}\]]{4,4096})"#, group: 1,
              accept: { v in !v.hasPrefix("[") && !v.hasPrefix("<") && !["<nil>", "null", "true", "false", "none", "required", "expired", "invalid"].contains(v.lowercased()) }),
            k("token", #"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#),
            k("aws-key", #"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"#),
            k("email", #"\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b"#),
            // Checksums, registration tokens, hex keys; base64 key data with mixed classes (a path
            // of 40 lower-case letters is not one).
            k("token", #"\b[a-f0-9]{32,}\b|\b[A-Za-z0-9]{40,}\b"#),
            k("key", #"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}"#, accept: { v in
                v.contains { $0.isUppercase } && v.contains { $0.isLowercase } && v.contains { $0.isNumber } && !v.hasPrefix("/")
            }),
            k("ip", #"\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b"#),
            // IPv6 in every form: full, compressed anywhere (`2001:db8::8a2e:370:7334`, `fe80::1`, `::1`).
            k("ip", #"(?<![\w:.])(?=[0-9a-fA-F:]{0,39}::|(?:[0-9a-fA-F]{1,4}:){4})[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?![\w:])"#),
            // Named hosts: where a log names them (`host [x]`, `node="x"`, `hostname=x`), and dotted names.
            k("host", #"(?:on host \[|host=|node=|nodeName=|hostname=|"node":|node \[)"?([A-Za-z0-9][A-Za-z0-9.-]*)"#, group: 1),
            k("host", #"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){2,}(?:[a-z]{2,24})\b"#),
        ]
    }

    /// Teaches the redactor a value the logs name as a host, node or pod (a rule's capture), so
    /// that every other mention of it is masked too, dotted or not.
    public func learn(host value: String) {
        guard value.utf8.count >= 3, !value.hasPrefix("[") else { return }
        state.withLock { s in
            if !s.known.contains(value) {
                s.known.append(value)
                // Longer first, so `node-10` is not masked as `[host-1]0`.
                s.known.sort { $0.utf8.count != $1.utf8.count ? $0.utf8.count > $1.utf8.count : $0 < $1 }
            }
        }
        _ = mask(value, "host")
    }

    private func mask(_ value: String, _ label: String) -> String {
        if value.hasPrefix("[") && value.hasSuffix("]") { return value }
        return state.withLock { s in
            if let m = s.masks[value] { return m }
            let n = (s.counters[label] ?? 0) + 1
            s.counters[label] = n
            // Brackets, not angle brackets: the mask must stay valid in XML (JUnit) and Markdown.
            let m = "[\(label)-\(n)]"
            s.masks[value] = m
            return m
        }
    }

    public func redact(_ text: String) -> String {
        var current = replaceKnown(text)
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
                          let secret = kind.pattern.range(ofGroup: kind.group, scratch: scratch)
                    else { break }
                    let value = String(decoding: rest[secret], as: UTF8.self)
                    if secret.isEmpty || kind.accept?(value) == false {
                        // Not a secret after all: keep it and look further on.
                        let step = max(whole.upperBound, 1)
                        out.append(contentsOf: rest[0..<step])
                        pos += step
                        continue
                    }
                    out.append(contentsOf: rest[0..<secret.lowerBound])
                    // A host the log names as one is masked wherever it appears from now on.
                    if kind.group > 0, kind.label == "host" { learn(host: value) }
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

    /// Masks every learned host value where it stands as a whole word.
    private func replaceKnown(_ text: String) -> String {
        let known = state.withLock { $0.known }
        guard !known.isEmpty else { return text }
        var result = text
        for value in known where result.contains(value) {
            let m = mask(value, "host")
            var out = ""
            var rest = Substring(result)
            while let r = rest.range(of: value) {
                let before = rest[..<r.lowerBound]
                let prev = before.last ?? (out.last ?? " ")
                let next = rest[r.upperBound...].first ?? " "
                func word(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "-" || c == "_" || c == "." }
                out += before
                out += (word(prev) || (word(next) && next != ".")) ? value : m
                rest = rest[r.upperBound...]
            }
            out += rest
            result = out
        }
        return result
    }
}

extension DiagnosisResults {
    /// These results with every text that came from a log or a file name masked, in a fixed order
    /// (so the same input gives the same masks), ready to build a report from.
    public func redacted(by r: Redactor) -> DiagnosisResults {
        var out = self
        // Hosts and nodes the rules captured first: every later mention masks the same way.
        let ordered = findings.keys.sorted { a, b in
            if a.rule != b.rule { return a.rule < b.rule }
            if a.values != b.values { return a.values.lexicographicallyPrecedes(b.values) }
            return a.scope < b.scope
        }
        for key in ordered {
            for (name, value) in findings[key]!.captures.sorted(by: { $0.key < $1.key })
            where ["host", "node", "hostname", "nodename", "pod"].contains(name.lowercased()) {
                r.learn(host: value)
            }
        }
        out.inputs = inputs.map(r.redact)
        func ev(_ e: Evidence) -> Evidence {
            Evidence(input: r.redact(e.input), line: e.line, text: r.redact(e.text), time: e.time, quoted: e.quoted)
        }
        func finding(_ f: Finding) -> Finding {
            var f = f
            f.captures = Dictionary(uniqueKeysWithValues: f.captures.sorted(by: { $0.key < $1.key }).map { ($0.key, r.redact($0.value)) })
            f.keyValues = f.keyValues.map(r.redact)
            f.evidence = f.evidence.map(ev)
            return f
        }
        for key in ordered { out.findings[key] = finding(findings[key]!) }
        for key in belowThreshold.keys.sorted() { out.belowThreshold[key] = finding(belowThreshold[key]!) }
        out.noise = noise.map { n in
            var n = n
            n.example = n.example.map(ev)
            return n
        }
        out.unrecognised.redact { g in g.redacted(evidence: ev, text: r.redact) }
        out.unrecognisedWarnings.redact { g in g.redacted(evidence: ev, text: r.redact) }
        for key in patternLimits.keys.sorted() {
            let h = patternLimits[key]!
            out.patternLimits[key] = PatternLimitHit(ruleIndex: h.ruleIndex, count: h.count, reason: h.reason,
                                                     input: r.redact(h.input), line: h.line)
        }
        return out
    }
}

extension InputSummary {
    /// The summary with its name and problem masked.
    public func redacted(by r: Redactor) -> InputSummary {
        var s = self
        s.name = r.redact(name)
        s.problem = problem.map(r.redact)
        return s
    }
}
