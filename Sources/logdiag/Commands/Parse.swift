import ArgumentParser
import LogModel

extension LogDiag {
    /// `logdiag parse [FILE...]`: one JSON object per event.
    struct Parse: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one JSON object per event (NDJSON), for pipelines; --stats counts formats instead.")

        @Argument(help: ArgumentHelp("Log files; `-` or nothing reads standard input.", valueName: "file"))
        var files: [String] = []
        @OptionGroup var input: InputOptions
        @Flag(help: "Print counts per envelope, format and severity, and the share of lines in no known format.")
        var stats = false
        @Flag(help: "Mask addresses, hosts, emails, credentials, tokens and keys in the events (and on stderr), for sharing.")
        var redact = false

        func run() throws {
            let analyzer = try input.analyzer()
            let set = try RuleSet(rules: [])
            let diagnoser = Diagnoser(ruleSet: set)
            var failed = false
            if redact { redactStderr = true }
            var writer = EventJSONWriter(redactor: redact ? runRedactor : nil)
            var counter = FormatStats()
            for path in files.isEmpty ? ["-"] : files {
                do throws(InputError) {
                    let read = try analyzer.run(path: path, into: diagnoser) { e in
                        if stats { counter.add(e) } else {
                            writer.write(e, input: diagnoser.results.inputs[e.input])
                            if writer.buffered > 1 << 16 { emit(writer.take()) }
                        }
                    }
                    for s in read where s.problem != nil {
                        warn("\(s.name): \(s.problem!)")
                        if s.unreadable { failed = true }
                    }
                } catch {
                    warn(error.description)
                    failed = true
                }
            }
            emit(stats ? counter.render(lines: diagnoser.results.lines) : writer.take())
            if failed { throw ExitCode(ExitStatus.unreadable) }
        }
    }
}
