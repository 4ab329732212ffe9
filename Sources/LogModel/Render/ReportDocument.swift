import Foundation

/// The JSON form of a report (`--output json`), documented in docs/output.md. Keys are stable.
public struct ReportDocument: Codable, Sendable {
    public struct EvidenceLine: Codable, Sendable {
        public let input: String
        public let line: Int
        public let text: String
        public let time: String?
        public let quoted: Bool
    }

    public struct OtherFix: Codable, Sendable {
        public let condition: String
        public let fix: String
        public let destructive: Bool
        public let checkFirst: String?
    }

    public struct ExplainedBy: Codable, Sendable {
        public let rule: String
        public let input: String?
        public let line: Int?
        public let gapSeconds: Int?
    }

    public struct FindingEntry: Codable, Sendable {
        public let rule: String
        public let title: String
        public let severity: String
        public let confidence: String
        public let cause: String
        public let fix: String
        public let fixCondition: String?
        /// The fix removes data; `checkFirst` says what to confirm before it.
        public let destructive: Bool
        public let checkFirst: String?
        /// The rule's fixes for situations the evidence did not select.
        public let otherFixes: [OtherFix]
        public let count: Int
        public let first: String?
        public let last: String?
        public let key: [String: String]
        public let captures: [String: String]
        public let component: String?
        public let evidence: [EvidenceLine]
        public let references: [String]
        /// Findings this one causes, folded into it (empty for those nested here).
        public let explains: [FindingEntry]
        /// For a finding folded into a cause: which one, by which of its lines, how far apart.
        public let explainedBy: ExplainedBy?
        /// The rule has a threshold and matched fewer times: listed after the findings, never
        /// counted for `--fail-on`.
        public let belowThreshold: Bool
        /// A generic rule (an error class with what it hit), at lower confidence than specific ones.
        public let generic: Bool
    }

    /// Error-level lines no rule explained, grouped by template (docs/unrecognised.md).
    public struct UnrecognisedEntry: Codable, Sendable {
        public let template: String
        public let severity: String
        public let component: String?
        public let count: Int
        public let first: String?
        public let last: String?
        /// Rank score and what it is made of: higher is more likely the cause.
        public let score: Int
        public let beforeExit: Bool
        public let endOfInput: Bool
        public let firstInInput: Bool
        public let earliest: Bool
        public let relayed: Bool
        public let namesCause: Bool
        public let summary: Bool
        public let evidence: [EvidenceLine]

        enum CodingKeys: String, CodingKey {
            case template, severity, component, count, first, last, score, beforeExit, endOfInput, firstInInput, earliest,
                 relayed, namesCause, summary, evidence
        }

        /// Every key is always there, `null` when unknown (a group may have no component or time).
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(template, forKey: .template)
            try c.encode(severity, forKey: .severity)
            try c.encode(component, forKey: .component)
            try c.encode(count, forKey: .count)
            try c.encode(first, forKey: .first)
            try c.encode(last, forKey: .last)
            try c.encode(score, forKey: .score)
            try c.encode(beforeExit, forKey: .beforeExit)
            try c.encode(endOfInput, forKey: .endOfInput)
            try c.encode(firstInInput, forKey: .firstInInput)
            try c.encode(earliest, forKey: .earliest)
            try c.encode(relayed, forKey: .relayed)
            try c.encode(namesCause, forKey: .namesCause)
            try c.encode(summary, forKey: .summary)
            try c.encode(evidence, forKey: .evidence)
        }
    }

    public struct NoiseEntry: Codable, Sendable {
        public let rule: String
        public let title: String
        public let count: Int
    }

    public struct InputEntry: Codable, Sendable {
        public let name: String
        public let lines: Int
        public let bytes: Int
        public let format: String?
        public let envelope: String?
        public let first: String?
        public let last: String?
        public let findings: Int
        public let problem: String?
        /// "2026, from the file's modification time" when the input states no year of its own.
        public let yearGuessed: String?
    }

    public struct Summary: Codable, Sendable {
        public let inputs: Int
        public let lines: Int
        public let events: Int
        public let noiseLines: Int
        public let incidents: Int
        public let findings: Int
        public let unrecognised: Int
        public let belowThreshold: Int
        public let worstSeverity: String?
    }

    public let tool: String
    public let schemaVersion: Int
    public let summary: Summary
    public let findings: [FindingEntry]
    public let unrecognised: [UnrecognisedEntry]
    /// Warning-level lines no rule explained (shown by the text report when nothing at error level is).
    public let unrecognisedWarnings: [UnrecognisedEntry]
    /// Rules whose pattern ran out of its match budget: `{rule, count, reason, input, line}`.
    public let patternLimits: [PatternLimitEntry]
    public let noise: [NoiseEntry]

    public struct PatternLimitEntry: Codable, Sendable {
        public let rule: String
        public let count: Int
        public let reason: String
        public let input: String
        public let line: Int
    }
    public let inputs: [InputEntry]

    /// Several nodes' logs (triage over one bundle per node): the nodes, and each cause with the
    /// nodes that show it, most nodes first. Absent for one node.
    public let acrossNodes: AcrossNodes?

    public struct AcrossNodes: Codable, Sendable {
        public struct Cause: Codable, Sendable {
            public let rule: String
            public let title: String
            public let severity: String
            public let nodes: [String]
        }
        public let nodes: [String]
        public let causes: [Cause]
    }

    public init(report: Report, inputs: [InputSummary] = []) {
        tool = "logdiag"
        schemaVersion = 2
        findings = report.incidents.map { ReportDocument.entry($0.cause, explained: $0.explained) }
            + report.belowThreshold.map { ReportDocument.entry($0, explained: []) }
        unrecognised = report.unrecognised.map(ReportDocument.entry)
        unrecognisedWarnings = report.unrecognisedWarnings.map(ReportDocument.entry)
        patternLimits = report.patternLimits.map {
            PatternLimitEntry(rule: $0.rule.id, count: $0.hit.count, reason: $0.hit.reason, input: $0.hit.input, line: $0.hit.line)
        }
        noise = report.noise.map { NoiseEntry(rule: $0.rule.id, title: $0.rule.title, count: $0.count) }
        self.inputs = inputs.map { i in
            InputEntry(name: i.name, lines: i.lines, bytes: i.bytes, format: i.problem == nil ? i.format : nil,
                       envelope: i.envelope, first: i.first?.rfc3339, last: i.last?.rfc3339,
                       findings: report.findingCount(in: i.name), problem: i.problem, yearGuessed: i.yearGuess)
        }
        let groups = report.nodeGroups
        acrossNodes = groups.isFleet
            ? AcrossNodes(nodes: groups.nodes, causes: groups.causes.map {
                AcrossNodes.Cause(rule: $0.rule.id, title: $0.title, severity: $0.rule.severity.description, nodes: $0.nodes)
            }) : nil
        let r = report.results
        summary = Summary(inputs: max(r.inputs.count, inputs.count), lines: r.lines, events: r.events,
                          noiseLines: r.noiseLines, incidents: report.incidents.count, findings: report.findingCount,
                          unrecognised: report.unrecognised.count, belowThreshold: report.belowThreshold.count,
                          worstSeverity: report.worstSeverity?.description)
    }

    public func json(pretty: Bool = true) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// One finding per line (`--output ndjson`): the entry without what it explains.
    /// `extra`: string fields added beside `kind` (`watch` adds `node` and `state`).
    public static func ndjsonLine(_ f: ReportedFinding, extra: [(String, String)] = []) -> String {
        encodeLine(Tagged(kind: "finding", value: entry(f, explained: []), extra: extra))
    }

    /// One unrecognised group as an NDJSON line.
    public static func ndjsonLine(_ g: UnrecognisedGroup, extra: [(String, String)] = []) -> String {
        encodeLine(Tagged(kind: "unrecognised", value: entry(g), extra: extra))
    }

    /// The whole report as NDJSON: findings (below-threshold ones last), then unrecognised groups;
    /// every line says which it is in `kind`.
    public static func ndjson(_ report: Report) -> String {
        (report.allReported + report.belowThreshold).map { ndjsonLine($0) }.joined()
            + report.unrecognised.map { ndjsonLine($0) }.joined()
    }

    private struct Tagged<T: Encodable>: Encodable {
        let kind: String
        let value: T
        var extra: [(String, String)] = []
        func encode(to encoder: Encoder) throws {
            try value.encode(to: encoder)
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(kind, forKey: Key(stringValue: "kind")!)
            for (k, v) in extra { try c.encode(v, forKey: Key(stringValue: k)!) }
        }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
    }

    private static func line(_ f: FindingEntry) -> String { encodeLine(Tagged(kind: "finding", value: f)) }
    private static func line(_ u: UnrecognisedEntry) -> String { encodeLine(Tagged(kind: "unrecognised", value: u)) }

    private static func encodeLine<T: Encodable>(_ v: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(v) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func entry(_ g: UnrecognisedGroup) -> UnrecognisedEntry {
        UnrecognisedEntry(template: g.template, severity: g.severity.description, component: g.component?.name,
                          count: g.count, first: g.first?.rfc3339, last: g.last?.rfc3339, score: g.score,
                          beforeExit: g.beforeExit, endOfInput: g.endOfInput, firstInInput: g.firstInInput,
                          earliest: g.earliest, relayed: g.relayed,
                          namesCause: g.namesCause, summary: g.summary,
                          evidence: g.evidence.map {
                              EvidenceLine(input: $0.input, line: $0.line, text: $0.text, time: $0.time?.rfc3339, quoted: $0.quoted)
                          })
    }

    static func entry(_ f: ReportedFinding, explained: [ReportedFinding]) -> FindingEntry {
        var key: [String: String] = [:]
        for (k, v) in zip(f.rule.key, f.finding.keyValues) where !v.isEmpty { key[k] = v }
        return FindingEntry(
            rule: f.rule.id, title: f.title, severity: f.severity.description, confidence: f.rule.confidence.rawValue,
            cause: f.cause, fix: f.fix, fixCondition: f.fixCondition, destructive: f.destructive, checkFirst: f.checkFirst,
            otherFixes: f.otherFixes.map { OtherFix(condition: $0.condition, fix: $0.fix, destructive: $0.destructive, checkFirst: $0.checkFirst) },
            count: f.finding.count,
            first: f.finding.first?.rfc3339, last: f.finding.last?.rfc3339, key: key, captures: f.finding.captures,
            component: f.finding.component?.name,
            evidence: f.finding.evidence.map {
                EvidenceLine(input: $0.input, line: $0.line, text: $0.text, time: $0.time?.rfc3339, quoted: $0.quoted)
            },
            references: f.rule.references, explains: explained.map { entry($0, explained: []) },
            explainedBy: f.explainedBy.map { ExplainedBy(rule: $0.rule, input: $0.evidence?.input, line: $0.evidence?.line, gapSeconds: $0.gapSeconds) },
            belowThreshold: f.belowThreshold, generic: f.rule.generic)
    }
}

extension Report {
    /// Findings (folded ones included) with evidence from the input named `name`.
    /// Counted by the inputs each finding's matches came from, not by the evidence lines it kept
    /// (at most five, which may all be from another file).
    public func findingCount(in name: String) -> Int {
        let indexes = Set(results.inputs.indices.filter { results.inputs[$0] == name })
        return incidents.flatMap { [$0.cause] + $0.explained }.filter { f in
            !f.finding.inputs.isDisjoint(with: indexes) || f.finding.evidence.contains { $0.input == name }
        }.count
    }

    /// Every finding with its incident's rank, cause first.
    public var allReported: [ReportedFinding] { incidents.flatMap { [$0.cause] + $0.explained } }
}
