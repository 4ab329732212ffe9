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

    public struct FindingEntry: Codable, Sendable {
        public let rule: String
        public let title: String
        public let severity: String
        public let confidence: String
        public let cause: String
        public let fix: String
        public let fixCondition: String?
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
    }

    public struct Summary: Codable, Sendable {
        public let inputs: Int
        public let lines: Int
        public let events: Int
        public let noiseLines: Int
        public let incidents: Int
        public let findings: Int
        public let worstSeverity: String?
    }

    public let tool: String
    public let schemaVersion: Int
    public let summary: Summary
    public let findings: [FindingEntry]
    public let noise: [NoiseEntry]
    public let inputs: [InputEntry]

    public init(report: Report, inputs: [InputSummary] = []) {
        tool = "logdiag"
        schemaVersion = 1
        findings = report.incidents.map { ReportDocument.entry($0.cause, explained: $0.explained) }
        noise = report.noise.map { NoiseEntry(rule: $0.rule.id, title: $0.rule.title, count: $0.count) }
        self.inputs = inputs.map { i in
            InputEntry(name: i.name, lines: i.lines, bytes: i.bytes, format: i.problem == nil ? i.format : nil,
                       envelope: i.envelope, first: i.first?.rfc3339, last: i.last?.rfc3339,
                       findings: report.findingCount(in: i.name), problem: i.problem)
        }
        let r = report.results
        summary = Summary(inputs: max(r.inputs.count, inputs.count), lines: r.lines, events: r.events,
                          noiseLines: r.noiseLines, incidents: report.incidents.count, findings: report.findingCount,
                          worstSeverity: report.worstSeverity?.description)
    }

    public func json(pretty: Bool = true) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// One finding per line (`--output ndjson`): the entry without what it explains.
    public static func ndjsonLine(_ f: ReportedFinding) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(entry(f, explained: [])) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func entry(_ f: ReportedFinding, explained: [ReportedFinding]) -> FindingEntry {
        var key: [String: String] = [:]
        for (k, v) in zip(f.rule.key, f.finding.keyValues) where !v.isEmpty { key[k] = v }
        return FindingEntry(
            rule: f.rule.id, title: f.rule.title, severity: f.severity.description, confidence: f.rule.confidence.rawValue,
            cause: f.cause, fix: f.fix, fixCondition: f.fixCondition, count: f.finding.count,
            first: f.finding.first?.rfc3339, last: f.finding.last?.rfc3339, key: key, captures: f.finding.captures,
            component: f.finding.component?.name,
            evidence: f.finding.evidence.map {
                EvidenceLine(input: $0.input, line: $0.line, text: $0.text, time: $0.time?.rfc3339, quoted: $0.quoted)
            },
            references: f.rule.references, explains: explained.map { entry($0, explained: []) })
    }
}

extension Report {
    /// Findings (folded ones included) with evidence from the input named `name`.
    public func findingCount(in name: String) -> Int {
        incidents.flatMap { [$0.cause] + $0.explained }.filter { f in f.finding.evidence.contains { $0.input == name } }.count
    }

    /// Every finding with its incident's rank, cause first.
    public var allReported: [ReportedFinding] { incidents.flatMap { [$0.cause] + $0.explained } }
}
