import ArgumentParser
import LogModel

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, ndjson, markdown, sarif, junit
}

/// How the answer is printed, and when the exit status says "found".
struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Output: text (default), json, ndjson (one finding per line), markdown, sarif or junit.")
    var output: OutputFormat = .text

    @Option(help: "Colour for text output: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorMode = .auto

    @Flag(help: "Mask IP addresses, hostnames and tokens in everything printed, for sharing.")
    var redact = false

    @Option(help: "Exit with status 1 when a finding or an unrecognised error-level line is at least this severe: debug, info, warning, error (default) or fatal.")
    var failOn: SeverityArgument = SeverityArgument(.error)

    /// Renders `report` in the chosen format (redacted when asked).
    func render(_ report: Report, inputs: [InputSummary] = [], redactor: Redactor? = nil, fileTable: Bool = true) -> String {
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
        }
        return redact ? (redactor ?? Redactor()).redact(text) : text
    }

    /// Exit status 1 when the report holds a finding at or above `--fail-on`.
    func failed(_ report: Report) -> Bool {
        guard let worst = report.worstSeverity else { return false }
        return worst >= failOn.value
    }
}
