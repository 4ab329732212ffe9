import ArgumentParser
import LogArchive
import LogModel

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, ndjson, markdown, sarif, junit, html
}

/// How the answer is printed, and when the exit status says "found".
struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Output: text (default), json, ndjson (one finding per line), markdown, sarif, junit or html (one self-contained page with a timeline).")
    var output: OutputFormat = .text

    @Option(help: "Colour for text output: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorMode = .auto

    @Flag(help: "Mask addresses, hosts, emails, credentials, tokens and keys from the logs in everything printed (stderr too), for sharing.")
    var redact = false

    @Option(help: "Exit with status 1 when a finding or an unrecognised error-level line is at least this severe: debug, info, warning, error (default) or fatal.")
    var failOn: SeverityArgument = SeverityArgument(.error)

    /// Runs when the options are parsed, before any input is read: from then on stderr is masked too.
    func validate() throws {
        if redact { redactStderr = true }
    }

    /// The results to build the report from: with `--redact`, every text from the logs masked,
    /// once, before the report fills it into causes and fixes or a renderer cuts it.
    func prepare(_ results: DiagnosisResults) -> DiagnosisResults {
        redact ? results.redacted(by: runRedactor) : results
    }

    /// Renders `report` (built from `prepare`d results) in the chosen format.
    func render(_ report: Report, inputs: [InputSummary] = [], fileTable: Bool = true) -> String {
        let inputs = redact ? inputs.map { $0.redacted(by: runRedactor) } : inputs
        let text: String
        switch output {
        case .text:
            var renderer = TextRenderer(color: Terminal.useColor(color) && !redact, width: Terminal.width,
                                        clipEvidence: Terminal.isTTY(1))
            renderer.fileTable = fileTable
            text = renderer.render(report, inputs: inputs)
        case .json: text = ReportDocument(report: report, inputs: inputs).json()
        case .ndjson: text = ReportDocument.ndjson(report)
        case .markdown: text = MarkdownRenderer().render(report, inputs: inputs)
        case .sarif: text = SARIFRenderer().render(report)
        case .junit: text = JUnitRenderer(failOn: failOn.value).render(report)
        case .html:
            var context = HTMLRenderer.contextLines(for: report, packed: LibArchiveReader())
            if redact { context = context.mapValues { $0.mapValues(runRedactor.redact) } }
            text = HTMLRenderer(context: context).render(report, inputs: inputs)
        }
        return text
    }

    /// Exit status 1 when the report holds a finding at or above `--fail-on`.
    func failed(_ report: Report) -> Bool {
        guard let worst = report.worstSeverity else { return false }
        return worst >= failOn.value
    }
}
