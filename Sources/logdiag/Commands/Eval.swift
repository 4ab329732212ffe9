import ArgumentParser
import LogModel

extension LogDiag {
    /// `logdiag eval DIR`: accuracy of the rule library on the labelled Corpus.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every Corpus case and print expected vs found, the rank of the right cause, and totals.",
            discussion: """
                Columns: result; rank of the expected rule; first = a key evidence line is in what the \
                report shows first (the first incident or the first unrecognised group); silent = the case \
                has a cause and the report said nothing; held-out (with --hold-out-rules) = the same, with \
                the expected rule and what it explains taken out of the library.

                Exit status 1 when top-1 accuracy is below --min-top1, a case is silent, or a noise-only case \
                reports a finding or an unrecognised error.
                """)

        @Argument(help: ArgumentHelp("The corpus directory.", valueName: "dir")) var directory: String = "Corpus"
        @OptionGroup var rules: RuleOptions
        @Option(help: "Lowest acceptable top-1 accuracy, in percent.") var minTop1: Double = 95
        @Flag(help: "Print only failing cases and the totals.") var failuresOnly = false
        @Flag(help: "Also run each case with its expected rule (and what that rule explains) taken out: does the fallback still point at a key line first?")
        var holdOutRules = false

        func run() throws {
            let set = try rules.ruleSet()
            let cases: [CorpusCase]
            do { cases = try CorpusCase.discover(in: directory) } catch {
                warn("\(error)")
                throw ExitCode(ExitStatus.unreadable)
            }
            let evaluator = CorpusEvaluator(ruleSet: set)
            let results = cases.map { evaluator.evaluate($0) }
            let heldOut = holdOutRules ? cases.map { evaluator.evaluateHoldingOut($0) } : []
            let nameWidth = min(48, results.map(\.corpusCase.name.count).max() ?? 10)
            var out = "case".padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                + "  result  rank  first  silent" + (holdOutRules ? "  held-out" : "") + "  expected -> found\n"
            for (k, r) in results.enumerated() where !failuresOnly || !r.passed || r.silent {
                let name = r.corpusCase.name.count > nameWidth ? String(r.corpusCase.name.suffix(nameWidth)) : r.corpusCase.name
                out += name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                out += (r.passed ? "ok    " : "FAIL  ") + "  "
                out += (r.rank.map(String.init) ?? "-").padding(toLength: 4, withPad: " ", startingAt: 0) + "  "
                out += (r.hasCause ? (r.keyLineFirst ? "yes" : "no") : "-").padding(toLength: 5, withPad: " ", startingAt: 0) + "  "
                out += (r.silent ? "SILENT" : "-").padding(toLength: 6, withPad: " ", startingAt: 0) + "  "
                if holdOutRules {
                    let h = heldOut[k].map { $0.keyLineFirst ? "yes" : ($0.silent ? "silent" : "no") } ?? "-"
                    out += h.padding(toLength: 8, withPad: " ", startingAt: 0) + "  "
                }
                let expected = r.corpusCase.rootCause ?? (r.corpusCase.expectsUnrecognised ? "unrecognised" : "none")
                let found = r.ranking.first ?? (r.unrecognised.isEmpty ? "none" : "unrecognised")
                out += "\(expected) -> \(found)"
                if !r.unexpected.isEmpty { out += "; unexpected: \(r.unexpected.joined(separator: ", "))" }
                if !r.missedEvidence.isEmpty { out += "; missed evidence: \(r.missedEvidence.joined(separator: ", "))" }
                if !r.hasCause, !r.unrecognised.isEmpty { out += "; unrecognised: \(r.unrecognised.joined(separator: " | "))" }
                if holdOutRules, let h = heldOut[k], !h.keyLineFirst { out += "; held out, first shown: \(h.firstShownLabel.prefix(140))" }
                out += "\n"
            }
            let t = CorpusTotals(results)
            func pct(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : format1(Double(a) * 100 / Double(b)) + "%" }
            out += "\n\(t.cases) cases (\(t.withCause) with a rule as root cause, \(t.unrecognisedCases) with a cause no rule knows, \(t.noiseOnly) noise-only)\n"
            out += "top-1 accuracy: \(t.top1)/\(t.withCause) = \(pct(t.top1, t.withCause))\n"
            out += "top-3 accuracy: \(t.top3)/\(t.withCause) = \(pct(t.top3, t.withCause))\n"
            out += "key line shown first: \(t.keyLineFirst)/\(t.withAnyCause) = \(pct(t.keyLineFirst, t.withAnyCause))"
            out += " (cases no rule knows: \(t.unrecognisedKeyLineFirst)/\(t.unrecognisedCases))\n"
            out += "silent cases (a cause, nothing reported): \(t.silent)\n"
            out += "false findings at warning or above on noise-only cases: \(t.noiseOnlyFalseFindings); unrecognised errors there: \(t.noiseOnlyUnrecognised)\n"
            out += "evidence lines missed: \(t.evidenceMissed) of \(t.evidenceExpected)\n"
            if holdOutRules {
                let ran = heldOut.compactMap { $0 }
                let first = ran.filter(\.keyLineFirst).count
                out += "leave-one-rule-out, key line shown first: \(first)/\(ran.count) = \(pct(first, ran.count)); silent: \(ran.filter(\.silent).count)\n"
            }
            out += "cases passing every check: \(results.filter(\.passed).count)/\(t.cases)\n"
            emit(out)
            if t.top1Accuracy * 100 < minTop1 || t.noiseOnlyFalseFindings > 0 || t.noiseOnlyUnrecognised > 0 || t.silent > 0 {
                throw ExitCode(ExitStatus.findings)
            }
        }

        func format1(_ x: Double) -> String {
            let r = (x * 10).rounded() / 10
            return r == r.rounded() ? String(Int(r)) : String(r)
        }
    }
}
