import ArgumentParser
import LogModel

extension LogDiag {
    /// `logdiag diff GOOD BAD`: what a failing run's logs have that a healthy run's lack.
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what BAD's logs have that GOOD's lack: new findings, then new kinds of lines, the most likely cause first.",
            discussion: """
                GOOD and BAD are files, directories or bundles, e.g. the logs of a node that works and \
                of one that does not, or of yesterday's and today's run. Every line is grouped by its \
                template (numbers, addresses, ids and names masked), so the same message with other \
                values is not new.

                \(ExitStatus.help)
                """)

        @Argument(help: ArgumentHelp("Logs of the healthy run.", valueName: "good")) var good: String
        @Argument(help: ArgumentHelp("Logs of the failing run.", valueName: "bad")) var bad: String
        @Option(help: "Kinds of new lines to show in text output (all in JSON).") var top = 10
        @OptionGroup var input: InputOptions
        @OptionGroup var rules: RuleOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if top < 1 { throw ValidationError("--top must be at least 1") }
            if ![OutputFormat.text, .json, .html].contains(output.output) {
                throw ValidationError("diff prints text, json or html (-o text|json|html)")
            }
        }

        func run() throws {
            let analyzer = try input.analyzer()
            let ruleSet = try rules.ruleSet()
            let (goodResults, _) = try readEverything([good], ruleSet: ruleSet, analyzer: analyzer, what: "good")
            let (badResults, _) = try readEverything([bad], ruleSet: ruleSet, analyzer: analyzer, what: "bad")
            let diff = LogDiff(good: output.prepare(goodResults), bad: output.prepare(badResults), ruleSet: ruleSet)
            var text: String
            switch output.output {
            case .json: text = DiffRenderer().json(diff)
            case .html: text = HTMLRenderer().render(diff, top: top)
            default: text = DiffRenderer(color: Terminal.useColor(output.color) && !output.redact, width: Terminal.width,
                                         clipEvidence: Terminal.isTTY(1), top: top).text(diff)
            }
            emit(text)
            let worst = (diff.newFindings.map(\.severity) + diff.novel.map(\.severity)).max()
            if let worst, worst >= output.failOn.value { throw ExitCode(ExitStatus.findings) }
        }
    }
}
