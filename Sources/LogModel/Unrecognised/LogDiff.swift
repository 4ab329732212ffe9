/// What a failing run has that a healthy one lacks (`logdiag diff GOOD BAD`, `--baseline`):
/// findings of rules the good run never triggered, and templates of lines the good run never
/// printed, ranked like unrecognised errors (docs/unrecognised.md).
public struct LogDiff: Sendable {
    /// Findings in BAD whose rule found nothing in GOOD, in the report's order.
    public let newFindings: [ReportedFinding]
    /// Templates in BAD that GOOD does not have, the most likely cause first.
    public let novel: [UnrecognisedGroup]
    /// Templates of BAD that GOOD has too (left out).
    public let shared: Int
    public let good: DiagnosisResults
    public let bad: DiagnosisResults

    public init(good: DiagnosisResults, bad: DiagnosisResults, ruleSet: RuleSet) {
        self.good = good
        self.bad = bad
        let goodRules = Set(good.allFindings.filter(\.thresholdMet).map(\.ruleIndex))
        let report = Report(results: bad, ruleSet: ruleSet)
        newFindings = report.allReported.filter { !goodRules.contains($0.finding.ruleIndex) }
        let known = LogDiff.templates(of: good)
        var shared = 0
        var novel: [UnrecognisedGroup] = []
        for g in bad.unrecognised.groups + bad.unrecognisedWarnings.groups {
            if known.knows(g.tokens) { shared += 1 } else { novel.append(g) }
        }
        self.shared = shared
        self.novel = UnrecognisedGroup.ranked(novel)
    }

    /// Every template a run saw, whatever its severity, in one miner (for `knows`).
    public static func templates(of r: DiagnosisResults) -> TemplateMiner {
        var all = TemplateMiner(capacity: r.unrecognised.groups.count + r.unrecognisedWarnings.groups.count + 8)
        all.merge(r.unrecognised)
        all.merge(r.unrecognisedWarnings)
        return all
    }
}
