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

        @Option(help: "Exit with status 1 when a finding is at least this severe (info, warning, error, fatal).")
        var failOn: SeverityArgument = SeverityArgument(.error)

        @Option(help: "Colour: auto (on a terminal, unless NO_COLOR is set), always or never.")
        var color: ColorMode = .auto

        func run() throws {
            let overrides = try rules.versionOverrides()
            let analyzer = try input.analyzer()
            let ruleSet = try rules.ruleSet()
            let diagnoser = Diagnoser(ruleSet: ruleSet)
            var failed = false
            for path in files.isEmpty ? ["-"] : files {
                do throws(InputError) {
                    try analyzer.run(path: path, into: diagnoser)
                } catch {
                    warn(error.description)
                    failed = true
                }
            }
            let report = Report(results: diagnoser.results, ruleSet: ruleSet, versionOverrides: overrides)
            emit(TextRenderer(color: Terminal.useColor(color), width: Terminal.width).render(report))
            if failed { throw ExitCode(ExitStatus.unreadable) }
            if let worst = report.worstSeverity, worst >= failOn.value { throw ExitCode(ExitStatus.findings) }
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
