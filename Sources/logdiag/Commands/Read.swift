import ArgumentParser
import LogModel

extension LogDiag {
    /// `logdiag [FILE...]`: diagnose logs from files or standard input.
    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Diagnose logs from files, or from standard input when none is given (the default command).",
            discussion: ExitStatus.help
        )

        @Argument(help: ArgumentHelp("Log files; `-` or nothing reads standard input.", valueName: "file"))
        var files: [String] = []

        @OptionGroup var input: InputOptions
        @OptionGroup var rules: RuleOptions

        @OptionGroup var output: OutputOptions
        @OptionGroup var baseline: BaselineOptions

        /// Option errors here, not in `run`, so the message comes with this command's usage.
        func validate() throws {
            _ = try rules.versionOverrides()
            _ = try input.analyzer()
        }

        func run() throws {
            let overrides = try rules.versionOverrides()
            let paths = files.isEmpty ? ["-"] : files
            let analyzer = try input.analyzer().withDatesBeside(paths)
            let ruleSet = try rules.ruleSet()
            let diagnoser = Diagnoser(ruleSet: ruleSet)
            var failed = false
            var readAny = false
            var summaries: [InputSummary] = []
            if paths.contains("-"), Terminal.isTTY(0) {
                // A bare `logdiag` in a terminal waits for input; say so instead of seeming to hang.
                warn("reading logs from the terminal; end with Ctrl-D, or pipe them in: docker logs kube-proxy 2>&1 | logdiag")
            }
            for path in paths {
                do throws(InputError) {
                    let read = try analyzer.run(path: path, into: diagnoser)
                    // Members skipped or damaged data: said on stderr, since this report has no file table.
                    for s in read where s.problem != nil {
                        warn("\(s.name): \(s.problem!)")
                        if s.unreadable { failed = true }
                    }
                    summaries.append(contentsOf: read)
                    if read.contains(where: { $0.problem == nil || $0.lines > 0 }) { readAny = true }
                } catch {
                    warn(error.description)
                    failed = true
                }
            }
            // Nothing could be read: the error lines say it all, a report of nothing would mislead.
            if !readAny { throw ExitCode(ExitStatus.unreadable) }
            let report = Report(results: output.prepare(diagnoser.results), ruleSet: ruleSet, versionOverrides: overrides,
                                baseline: try baseline.templates(ruleSet: ruleSet, analyzer: analyzer))
            for (rule, hit) in report.patternLimits {
                warn("rule \(rule.id) ran out of its match budget on \(hit.count) line\(hit.count == 1 ? "" : "s") (first \(hit.input):\(hit.line)); a match there may have been missed")
            }
            warnSplit(diagnoser.results.splitLines, limit: input.maxLineBytes)
            emit(output.render(report, inputs: summaries, fileTable: false))
            if failed { throw ExitCode(ExitStatus.unreadable) }
            if output.failed(report) { throw ExitCode(ExitStatus.findings) }
        }
    }
}

struct SeverityArgument: ExpressibleByArgument {
    let value: Severity
    init(_ v: Severity) { value = v }
    init?(argument: String) {
        guard let s = Severity(name: argument) else { return nil }
        value = s
    }
    var defaultValueDescription: String { value.description }
    static var allValueStrings: [String] { Severity.allCases.map(\.description) }
}
