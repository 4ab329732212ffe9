import Foundation
import Testing
@testable import LogModel

let corpusRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Corpus").path

let corpusCases: [CorpusCase] = (try? CorpusCase.discover(in: corpusRoot)) ?? []

@Suite struct CorpusTests {
    @Test func theCorpusHasCases() {
        #expect(!corpusCases.isEmpty)
    }

    /// The seed case (kube-proxy in LXD) must always name the conntrack cause first and fold the
    /// Rancher healthz refusal into it.
    @Test func seedCaseFoldsRancherIntoConntrackCause() throws {
        let c = try #require(corpusCases.first { $0.name == "kube-proxy/lxd-conntrack-max" })
        let result = CorpusEvaluator(ruleSet: librarySet).evaluate(c)
        #expect(result.ranking == ["kube-proxy.conntrack-max-permission"])
        #expect(result.passed)
    }

    @Test(arguments: corpusCases.map(\.name))
    func caseNamesItsRootCauseFirst(_ name: String) throws {
        let c = try #require(corpusCases.first { $0.name == name })
        let r = CorpusEvaluator(ruleSet: librarySet).evaluate(c)
        #expect(r.unexpected.isEmpty, "unexpected findings at warning or above: \(r.unexpected)")
        if let rc = c.rootCause {
            #expect(r.rank == 1, "expected \(rc) first, found \(r.ranking)")
            #expect(r.missedEvidence.isEmpty, "evidence not reported: \(r.missedEvidence)")
        }
    }

    @Test func top1AccuracyStaysAtLeast95Percent() {
        let results = corpusCases.map { CorpusEvaluator(ruleSet: librarySet).evaluate($0) }
        let totals = CorpusTotals(results)
        #expect(totals.top1Accuracy >= 0.95, "top-1 accuracy \(totals.top1)/\(totals.withCause)")
        #expect(totals.noiseOnlyFalseFindings == 0)
    }
}

@Suite struct VersionedFixTests {
    func fix(for version: String?) throws -> String {
        let c = try #require(corpusCases.first { $0.name == "kube-proxy/lxd-conntrack-max" })
        let d = Diagnoser(ruleSet: librarySet)
        let a = Analyzer(year: 2021)
        let path = (c.directory as NSString).appendingPathComponent("kube-proxy.log")
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "Version: v1.20.8", with: "Version: \(version ?? "unknown")")
        try a.run(source: MemorySource(text), name: "kube-proxy.log", mtime: nil, into: d)
        let report = Report(results: d.results, ruleSet: librarySet)
        return try #require(report.incidents.first?.cause.fix)
    }

    @Test func theConntrackFixDependsOnTheKubeProxyVersion() throws {
        let old = try fix(for: "v1.20.8")
        let new = try fix(for: "v1.24.3")
        let unknown = try fix(for: nil)
        #expect(old.contains("--conntrack-max-per-core=0"))
        #expect(old != new)
        #expect(unknown != old && unknown != new)
    }
}
