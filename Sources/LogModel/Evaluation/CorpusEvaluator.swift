import Foundation
import Yams

/// One Corpus case: its log files and the diagnosis an expert gave (`Corpus/README.md`).
public struct CorpusCase: Sendable {
    public let name: String
    public let directory: String
    public let logFiles: [String]
    /// The rule id an expert names; nil for a noise-only case and for one whose cause no rule knows.
    public let rootCause: String?
    /// `root-cause: unrecognised`: a real failure no rule is written for; the key evidence line
    /// must be what the report shows first (a generic finding or the first unrecognised group).
    public let expectsUnrecognised: Bool
    public let evidence: [String]
    public let noise: [String]
    public let also: [String]
    public let source: String
    public let year: Int?

    /// Every folder under `root` that holds an `expected.yaml`, sorted by name.
    public static func discover(in root: String) throws -> [CorpusCase] {
        let fm = FileManager.default
        guard let walker = fm.enumerator(atPath: root) else {
            throw CorpusError("\(root): cannot read the corpus directory")
        }
        var cases: [CorpusCase] = []
        for case let rel as String in walker where (rel as NSString).lastPathComponent == "expected.yaml" {
            let dir = (root as NSString).appendingPathComponent((rel as NSString).deletingLastPathComponent)
            cases.append(try load(directory: dir, name: (rel as NSString).deletingLastPathComponent))
        }
        if cases.isEmpty { throw CorpusError("\(root): no case folders with an expected.yaml") }
        return cases.sorted { $0.name < $1.name }
    }

    public static func load(directory: String, name: String) throws -> CorpusCase {
        let path = (directory as NSString).appendingPathComponent("expected.yaml")
        guard let data = FileManager.default.contents(atPath: path) else { throw CorpusError("\(path): cannot read") }
        let node: Node?
        do { node = try Yams.compose(yaml: String(decoding: data, as: UTF8.self)) } catch {
            throw CorpusError("\(path): not valid YAML: \(error)")
        }
        guard let map = node?.mapping else { throw CorpusError("\(path): expected a mapping") }
        func list(_ key: String) -> [String] {
            map[key]?.sequence?.compactMap { $0.scalar?.string } ?? map[key]?.scalar.map { [$0.string] } ?? []
        }
        guard let root = map["root-cause"]?.string else { throw CorpusError("\(path): missing `root-cause`") }
        guard let source = map["source"]?.string, !source.isEmpty else { throw CorpusError("\(path): missing `source`") }
        var logs: [String] = []
        if let walker = FileManager.default.enumerator(atPath: directory) {
            // The case's description and the script that recorded a real run are not its logs.
            for case let rel as String in walker where rel != "expected.yaml" && rel != "reproduce.sh" {
                var isDir: ObjCBool = false
                let full = (directory as NSString).appendingPathComponent(rel)
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue { logs.append(rel) }
            }
        }
        if logs.isEmpty { throw CorpusError("\(directory): no log files beside expected.yaml") }
        return CorpusCase(name: name, directory: directory, logFiles: logs.sorted(),
                          rootCause: root == "none" || root == "unrecognised" ? nil : root,
                          expectsUnrecognised: root == "unrecognised", evidence: list("evidence"), noise: list("noise"),
                          also: list("also"), source: source, year: map["year"]?.int)
    }
}

public struct CorpusError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The outcome of one case.
public struct CaseResult: Sendable {
    public let corpusCase: CorpusCase
    /// Rule ids of the incidents' causes, in rank order.
    public let ranking: [String]
    /// Rule ids reported at warning or above that the case does not expect.
    public let unexpected: [String]
    /// Expected evidence lines (FILE:LINE) absent from the top finding's evidence.
    public let missedEvidence: [String]
    /// Lines the case marks as noise that no noise rule recognised... or that a finding claimed.
    public let noiseClaimed: [String]
    /// One of the case's evidence lines is in what the report shows first: the first incident
    /// (its cause or what it explains), or the first unrecognised group.
    public let keyLineFirst: Bool
    /// The case has a cause and the report said nothing at all.
    public let silent: Bool
    /// Templates of the unrecognised groups (for noise-only cases these are false alarms).
    public let unrecognised: [String]
    /// What the report shows first: a rule id, or `unrecognised: TEMPLATE`.
    public let firstShownLabel: String
    /// One of the case's evidence lines is at warning level or above: without a rule for it,
    /// the never-silent fallback must show something. (A cause logged only at info level, as
    /// k3s and etcd do for some failures, needs its rule.)
    public var keyLineAtWarning = false

    /// Whether the case names a failure (a rule, or an unrecognised one).
    public var hasCause: Bool { corpusCase.rootCause != nil || corpusCase.expectsUnrecognised }

    /// 1-based rank of the expected cause, nil when it is absent.
    public var rank: Int? {
        guard let rc = corpusCase.rootCause else { return nil }
        return ranking.firstIndex(of: rc).map { $0 + 1 }
    }

    public var passed: Bool {
        if corpusCase.expectsUnrecognised { return keyLineFirst && unexpected.isEmpty }
        if corpusCase.rootCause == nil { return unexpected.isEmpty && unrecognised.isEmpty }
        return rank == 1 && unexpected.isEmpty && missedEvidence.isEmpty
    }
}

/// Runs Corpus cases through the engine and scores them.
public struct CorpusEvaluator {
    public let ruleSet: RuleSet

    public init(ruleSet: RuleSet) { self.ruleSet = ruleSet }

    /// Leave-one-rule-out: the case run with its expected rule, and the rules that rule explains,
    /// taken out of the library. Does the fallback still show a key line first? Nil for cases
    /// without a rule to take out.
    public func evaluateHoldingOut(_ c: CorpusCase) -> CaseResult? {
        guard let rc = c.rootCause, let rule = ruleSet.rule(id: rc) else { return nil }
        let out = Set([rc] + rule.explains)
        guard let reduced = try? RuleSet(rules: ruleSet.rules.filter { !out.contains($0.id) }, tables: ruleSet.tables)
        else { return nil }
        return CorpusEvaluator(ruleSet: reduced).evaluate(c)
    }

    public func evaluate(_ c: CorpusCase) -> CaseResult {
        let diagnoser = Diagnoser(ruleSet: ruleSet, evidenceLimit: 50)
        let keys = Set(c.evidence)
        var keyAtWarning = false
        let analyzer = Analyzer(year: c.year)
            .withDatesBeside(c.logFiles.map { (c.directory as NSString).appendingPathComponent($0) })
        for rel in c.logFiles {
            let full = (c.directory as NSString).appendingPathComponent(rel)
            guard let source = try? FileDescriptorSource.open(path: full) else { continue }
            defer { close(source.fd) }
            // The name a user would see; its path also tells the component (journald/kubelet, ...).
            _ = try? analyzer.run(source: source, name: rel, mtime: nil, into: diagnoser) { e in
                if e.severity >= .warning, keys.contains("\(rel):\(e.lineNumber)") { keyAtWarning = true }
            }
        }
        let report = Report(results: diagnoser.results, ruleSet: ruleSet)
        let ranking = report.incidents.map(\.cause.rule.id)
        var allowed = Set(c.also)
        if let rc = c.rootCause { allowed.insert(rc) }
        // A failure no rule knows may be named by a generic rule (an error class).
        if c.expectsUnrecognised { allowed.formUnion(ruleSet.rules.filter(\.generic).map(\.id)) }
        var unexpected: [String] = []
        for (k, incident) in report.incidents.enumerated() where incident.cause.severity >= .warning {
            // Consequences folded under the expected cause are explained, not unexpected.
            if !allowed.contains(incident.cause.rule.id) { unexpected.append(incident.cause.rule.id) }
            if k > 0 || incident.cause.rule.id != c.rootCause {
                for e in incident.explained where e.severity >= .warning && !allowed.contains(e.rule.id) {
                    unexpected.append(e.rule.id)
                }
            }
        }
        var missed: [String] = []
        if let top = report.incidents.first, top.cause.rule.id == c.rootCause {
            let lines = Set(top.cause.finding.evidence.map { "\($0.input):\($0.line)" }
                + top.explained.flatMap { $0.finding.evidence.map { "\($0.input):\($0.line)" } })
            missed = c.evidence.filter { !lines.contains($0) }
        } else {
            missed = c.evidence
        }
        let findingLines = Set(report.incidents.flatMap { i in
            ([i.cause] + i.explained).filter { $0.severity >= .warning }
                .flatMap { $0.finding.evidence.map { "\($0.input):\($0.line)" } }
        })
        let firstShown: Set<String>
        let label: String
        if report.unrecognisedFirst, let g = report.unrecognised.first {
            firstShown = Set(g.evidence.map { "\($0.input):\($0.line)" })
            label = "unrecognised \(g.severity): \(g.template)"
        } else if let top = report.incidents.first {
            firstShown = Set(([top.cause] + top.explained).flatMap { $0.finding.evidence.map { "\($0.input):\($0.line)" } })
            label = top.cause.rule.id
        } else if let g = report.unrecognisedShown.first {
            firstShown = Set(g.evidence.map { "\($0.input):\($0.line)" })
            label = "unrecognised \(g.severity): \(g.template)"
        } else {
            firstShown = []
            label = "nothing"
        }
        let keyLineFirst = c.evidence.contains { firstShown.contains($0) }
        if c.expectsUnrecognised { missed = c.evidence.filter { !firstShown.contains($0) } }
        let hasCause = c.rootCause != nil || c.expectsUnrecognised
        var result = CaseResult(corpusCase: c, ranking: ranking, unexpected: unexpected, missedEvidence: missed,
                                noiseClaimed: c.noise.filter { findingLines.contains($0) }, keyLineFirst: keyLineFirst,
                                silent: hasCause && report.isSilent, unrecognised: report.unrecognisedErrors.map(\.template),
                                firstShownLabel: label)
        result.keyLineAtWarning = keyAtWarning
        return result
    }
}

/// Totals over a corpus run.
public struct CorpusTotals: Sendable {
    public let cases: Int
    public let withCause: Int
    public let top1: Int
    public let top3: Int
    public let noiseOnly: Int
    public let noiseOnlyFalseFindings: Int
    public let evidenceExpected: Int
    public let evidenceMissed: Int
    /// Cases whose cause no rule knows, and how many of those show a key line first.
    public let unrecognisedCases: Int
    public let unrecognisedKeyLineFirst: Int
    /// Cases with a cause (a rule or an unrecognised one) where a key line is shown first.
    public let keyLineFirst: Int
    public let withAnyCause: Int
    /// Cases with a cause where the report said nothing.
    public let silent: Int
    /// False alarms on noise-only cases: unrecognised groups.
    public let noiseOnlyUnrecognised: Int

    public init(_ results: [CaseResult]) {
        cases = results.count
        let anyCause = results.filter(\.hasCause)
        withAnyCause = anyCause.count
        keyLineFirst = anyCause.filter(\.keyLineFirst).count
        silent = anyCause.filter(\.silent).count
        let unknown = results.filter(\.corpusCase.expectsUnrecognised)
        unrecognisedCases = unknown.count
        unrecognisedKeyLineFirst = unknown.filter(\.keyLineFirst).count
        noiseOnlyUnrecognised = results.filter { !$0.hasCause }.reduce(0) { $0 + $1.unrecognised.count }
        let caused = results.filter { $0.corpusCase.rootCause != nil }
        withCause = caused.count
        top1 = caused.filter { $0.rank == 1 }.count
        top3 = caused.filter { ($0.rank ?? 99) <= 3 }.count
        let noiseCases = results.filter { !$0.hasCause }
        noiseOnly = noiseCases.count
        noiseOnlyFalseFindings = noiseCases.reduce(0) { $0 + $1.unexpected.count }
        evidenceExpected = results.reduce(0) { $0 + $1.corpusCase.evidence.count }
        evidenceMissed = results.reduce(0) { $0 + $1.missedEvidence.count }
    }

    public var top1Accuracy: Double { withCause == 0 ? 1 : Double(top1) / Double(withCause) }
    public var top3Accuracy: Double { withCause == 0 ? 1 : Double(top3) / Double(withCause) }
}
