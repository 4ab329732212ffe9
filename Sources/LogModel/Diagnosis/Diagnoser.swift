/// Runs the rule library over events: one prefilter pass per message selects the few rules whose
/// PCRE2 pattern runs; matches are grouped into findings by rule and key captures.
///
/// One diagnoser per thread: it owns per-pattern match scratch. Results of several diagnosers
/// combine with `merge`.
public final class Diagnoser {
    public let ruleSet: RuleSet
    public let evidenceLimit: Int
    private let scratch: [PCRE2Pattern.Scratch]
    private let versionScratch: PCRE2Pattern.Scratch
    /// Per-rule marker so each rule is tried once per event however many of its literals occur.
    private var seen: [UInt32]
    private var epoch: UInt32 = 0
    private var candidates: [Int] = []

    public private(set) var results = DiagnosisResults()
    /// Called when a finding is reported for the first time or its threshold is met (follow mode).
    public var onNewFinding: ((Finding) -> Void)?

    public init(ruleSet: RuleSet, evidenceLimit: Int = 5) {
        self.ruleSet = ruleSet
        self.evidenceLimit = evidenceLimit
        scratch = ruleSet.patterns.map { $0.makeScratch() }
        versionScratch = ruleSet.versionPattern.makeScratch()
        seen = [UInt32](repeating: 0, count: ruleSet.rules.count + 1)
        candidates.reserveCapacity(ruleSet.rules.count + 1)
    }

    /// Registers an input and returns its index for events.
    public func addInput(_ name: String) -> Int {
        results.inputs.append(name)
        results.linesPerInput.append(0)
        return results.inputs.count - 1
    }

    /// Takes input statistics the event source counted.
    public func finishInput(_ index: Int, lines: Int, bytes: Int, splitLines: Int) {
        results.linesPerInput[index] = lines
        results.lines += lines
        results.bytes += bytes
        results.splitLines += splitLines
    }

    public func consume(_ e: borrowing LogEvent) {
        results.events += 1
        results.severityCounts[Int(e.severity.rawValue)] += 1
        match(e, quoted: false)
        for inner in e.inner { match(inner, quoted: true) }
    }

    private func match(_ e: borrowing LogEvent, quoted: Bool) {
        epoch &+= 1
        if epoch == 0 {
            for i in seen.indices { seen[i] = 0 }
            epoch = 1
        }
        candidates.removeAll(keepingCapacity: true)
        let ep = epoch
        ruleSet.prefilter.scan(e.message) { tag in
            if seen[tag] != ep {
                seen[tag] = ep
                candidates.append(tag)
            }
        }
        if candidates.isEmpty { return }
        for tag in candidates {
            if tag == ruleSet.versionTag { noteVersion(e) } else { tryRule(tag, e, quoted: quoted) }
        }
    }

    private func noteVersion(_ e: borrowing LogEvent) {
        let p = ruleSet.versionPattern
        guard p.matches(e.message, scratch: versionScratch),
              let r = p.range(ofGroup: p.captureNames[0].group, scratch: versionScratch),
              let v = Version(ByteScan.slice(e.message, r.lowerBound, r.upperBound).string)
        else { return }
        if let c = e.component { results.versions[c.name] = v } else { results.inputVersions[e.input] = v }
    }

    private func tryRule(_ i: Int, _ e: borrowing LogEvent, quoted: Bool) {
        let rule = ruleSet.rules[i]
        if let c = e.component, !ruleSet.componentIDs[i].isEmpty, !ruleSet.componentIDs[i].contains(c.id) { return }
        if !rule.severities.isEmpty, !rule.severities.contains(e.severity) { return }
        if !rule.formats.isEmpty, !rule.formats.contains(e.format) { return }
        var subject = e.message
        if let field = rule.field {
            guard let v = FieldLookup.value(field, in: e.message) ?? FieldLookup.value(field, in: e.payload) else { return }
            subject = v
        }
        let pattern = ruleSet.patterns[i]
        guard pattern.matches(subject, scratch: scratch[i]) else { return }

        let input = results.inputs.indices.contains(e.input) ? results.inputs[e.input] : "-"
        if rule.noise {
            results.noiseLines += 1
            if let k = results.noise.firstIndex(where: { $0.ruleIndex == i }) {
                results.noise[k].count += 1
            } else {
                let ev = Evidence(input: input, line: e.lineNumber, text: e.payload.string, time: e.time, quoted: quoted)
                results.noise.append(NoiseCount(ruleIndex: i, count: 1, example: ev))
            }
            return
        }
        var captures = pattern.captures(in: subject, scratch: scratch[i])
        if captures["host"] == nil, let h = e.host { captures["host"] = h.string }
        let keyValues = rule.key.map { captures[$0] ?? "" }
        let groupKey = FindingKey(rule: i, values: keyValues)
        var f = results.findings[groupKey] ?? Finding(ruleIndex: i, keyValues: keyValues, captures: captures)
        let wasMet = f.thresholdMet
        f.count += 1
        if let t = e.time {
            if f.first == nil || t < f.first! { f.first = t }
            if f.last == nil || t > f.last! { f.last = t }
        }
        if f.component == nil { f.component = e.component }
        f.inputs.insert(e.input)
        if f.evidence.count < evidenceLimit {
            let text = e.payload.string
            f.evidence.append(Evidence(input: input, line: e.lineNumber, text: text, time: e.time, quoted: quoted))
        }
        if let th = rule.threshold, !f.thresholdMet {
            if let t = e.time {
                f.window.append(t)
                // Times from corrupt lines can be far apart: compare without overflowing.
                f.window.removeAll {
                    let (d, o) = t.nanos.subtractingReportingOverflow($0.nanos)
                    return o || d > th.within || d < -th.within
                }
                if f.window.count >= th.count { f.thresholdMet = true; f.window = [] }
            } else if f.count >= th.count {
                f.thresholdMet = true
            }
        } else if rule.threshold == nil {
            f.thresholdMet = true
        }
        results.findings[groupKey] = f
        if f.thresholdMet && !wasMet { onNewFinding?(f) }
    }

    /// Adds another diagnoser's results (parallel triage).
    public func merge(_ other: DiagnosisResults) {
        results.merge(other, evidenceLimit: evidenceLimit)
    }
}

struct FindingKey: Hashable, Sendable {
    let rule: Int
    let values: [String]
}

/// What a diagnoser has seen: findings, noise, versions and counts. Plain data, mergeable.
public struct DiagnosisResults: Sendable {
    var findings: [FindingKey: Finding] = [:]
    public var noise: [NoiseCount] = []
    public var inputs: [String] = []
    public var linesPerInput: [Int] = []
    public var lines = 0
    public var bytes = 0
    public var events = 0
    public var splitLines = 0
    public var noiseLines = 0
    public var severityCounts = [Int](repeating: 0, count: Severity.allCases.count)
    /// Versions stated in the logs, by component name.
    public var versions: [String: Version] = [:]
    /// Versions stated by lines whose component is unknown, by input.
    public var inputVersions: [Int: Version] = [:]

    public var allFindings: [Finding] { Array(findings.values) }

    mutating func merge(_ o: DiagnosisResults, evidenceLimit: Int) {
        for (k, f) in o.findings {
            if var mine = findings[k] { mine.merge(f, evidenceLimit: evidenceLimit); findings[k] = mine } else { findings[k] = f }
        }
        for n in o.noise {
            if let k = noise.firstIndex(where: { $0.ruleIndex == n.ruleIndex }) { noise[k].count += n.count } else { noise.append(n) }
        }
        lines += o.lines
        bytes += o.bytes
        events += o.events
        splitLines += o.splitLines
        noiseLines += o.noiseLines
        for i in severityCounts.indices { severityCounts[i] += o.severityCounts[i] }
        versions.merge(o.versions) { a, _ in a }
        inputVersions.merge(o.inputVersions) { a, _ in a }
    }
}

/// Finds a structured field's raw value in a message: klog/logrus `key=value` or `key="..."`,
/// JSON `"key":"..."`.
public enum FieldLookup {
    public static func value(_ name: String, in m: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        var result: UnsafeBufferPointer<UInt8>?
        var nameBytes = Array(name.utf8)
        // JSON first: "name":
        nameBytes.insert(0x22, at: 0)
        nameBytes.append(contentsOf: [0x22, 0x3A])
        nameBytes.withUnsafeBufferPointer { needle in
            if let at = ByteScan.find(needle, in: m) {
                var i = JSONScanner.skipWhite(m, at + needle.count)
                if i < m.count, m[i] == 0x22, let end = JSONScanner.stringEnd(m, i + 1) {
                    result = ByteScan.slice(m, i + 1, end)
                } else {
                    let start = i
                    while i < m.count, m[i] != 0x2C, m[i] != 0x7D { i += 1 }
                    result = ByteScan.slice(m, start, i)
                }
            }
        }
        if result != nil { return result }
        // key=value: the key must start the message or follow a space.
        let kv = Array(name.utf8) + [0x3D]
        kv.withUnsafeBufferPointer { needle in
            var from = 0
            while let at = ByteScan.find(needle, in: m, from: from) {
                if at == 0 || m[at - 1] == 0x20 {
                    let start = at + needle.count
                    if start < m.count, m[start] == 0x22, let end = JSONScanner.stringEnd(m, start + 1) {
                        result = ByteScan.slice(m, start + 1, end)
                    } else {
                        var i = start
                        while i < m.count, m[i] != 0x20 { i += 1 }
                        result = ByteScan.slice(m, start, i)
                    }
                    return
                }
                from = at + 1
            }
        }
        return result
    }
}

extension Diagnoser {
    /// Whether rule `i` matches `e` or its quoted inner event, ignoring the prefilter, with the
    /// captures and whether one of the rule's literals occurs in the matched text. For rule checks.
    public func probe(rule i: Int, _ e: borrowing LogEvent) -> (captures: [String: String], literalSeen: Bool)? {
        if let r = probeOne(i, e) { return r }
        for inner in e.inner { if let r = probeOne(i, inner) { return r } }
        return nil
    }

    private func probeOne(_ i: Int, _ e: borrowing LogEvent) -> (captures: [String: String], literalSeen: Bool)? {
        let rule = ruleSet.rules[i]
        if let c = e.component, !ruleSet.componentIDs[i].isEmpty, !ruleSet.componentIDs[i].contains(c.id) { return nil }
        if !rule.severities.isEmpty, !rule.severities.contains(e.severity) { return nil }
        if !rule.formats.isEmpty, !rule.formats.contains(e.format) { return nil }
        var subject = e.message
        if let field = rule.field {
            guard let v = FieldLookup.value(field, in: e.message) ?? FieldLookup.value(field, in: e.payload) else { return nil }
            subject = v
        }
        let pattern = ruleSet.patterns[i]
        let scratch = pattern.makeScratch()
        guard pattern.matches(subject, scratch: scratch) else { return nil }
        var seenLiteral = false
        ruleSet.prefilter.scan(e.message) { tag in if tag == i { seenLiteral = true } }
        return (pattern.captures(in: subject, scratch: scratch), seenLiteral)
    }
}
