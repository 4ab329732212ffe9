import ArgumentParser
import LogModel

extension LogDiag {
    /// `logdiag eval DIR`: accuracy of the rule library on the labelled Corpus.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every Corpus case and print expected vs found, the rank of the right cause, and totals.",
            discussion: "Exit status 1 when top-1 accuracy is below --min-top1 or a noise-only case reports a finding.")

        @Argument(help: ArgumentHelp("The corpus directory.", valueName: "dir")) var directory: String = "Corpus"
        @OptionGroup var rules: RuleOptions
        @Option(help: "Lowest acceptable top-1 accuracy, in percent.") var minTop1: Double = 95
        @Flag(help: "Print only failing cases and the totals.") var failuresOnly = false

        func run() throws {
            let set = try rules.ruleSet()
            let cases: [CorpusCase]
            do { cases = try CorpusCase.discover(in: directory) } catch {
                warn("\(error)")
                throw ExitCode(ExitStatus.unreadable)
            }
            let evaluator = CorpusEvaluator(ruleSet: set)
            let results = cases.map { evaluator.evaluate($0) }
            let nameWidth = min(48, results.map(\.corpusCase.name.count).max() ?? 10)
            var out = "case".padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                + "  result  rank  expected -> found\n"
            for r in results where !failuresOnly || !r.passed {
                let name = r.corpusCase.name.count > nameWidth ? String(r.corpusCase.name.suffix(nameWidth)) : r.corpusCase.name
                out += name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                out += (r.passed ? "ok    " : "FAIL  ") + "  "
                out += (r.rank.map(String.init) ?? "-").padding(toLength: 4, withPad: " ", startingAt: 0) + "  "
                out += "\(r.corpusCase.rootCause ?? "none") -> \(r.ranking.first ?? "none")"
                if !r.unexpected.isEmpty { out += "; unexpected: \(r.unexpected.joined(separator: ", "))" }
                if !r.missedEvidence.isEmpty { out += "; missed evidence: \(r.missedEvidence.joined(separator: ", "))" }
                out += "\n"
            }
            let t = CorpusTotals(results)
            func pct(_ x: Double) -> String { String(format1(x * 100)) + "%" }
            out += "\n\(t.cases) cases (\(t.withCause) with a root cause, \(t.noiseOnly) noise-only)\n"
            out += "top-1 accuracy: \(t.top1)/\(t.withCause) = \(pct(t.top1Accuracy))\n"
            out += "top-3 accuracy: \(t.top3)/\(t.withCause) = \(pct(t.top3Accuracy))\n"
            out += "false findings at warning or above on noise-only cases: \(t.noiseOnlyFalseFindings)\n"
            out += "evidence lines missed: \(t.evidenceMissed) of \(t.evidenceExpected)\n"
            out += "cases passing every check: \(results.filter(\.passed).count)/\(t.cases)\n"
            emit(out)
            if t.top1Accuracy * 100 < minTop1 || t.noiseOnlyFalseFindings > 0 { throw ExitCode(ExitStatus.findings) }
        }

        func format1(_ x: Double) -> String {
            let r = (x * 10).rounded() / 10
            return r == r.rounded() ? String(Int(r)) : String(r)
        }
    }
}
