import ArgumentParser
import Dispatch
import Glibc
import LogModel

extension LogDiag {
    /// `logdiag triage PATH...`: saved logs and support bundles, in parallel.
    struct Triage: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Diagnose saved logs: files, directories (recursively), compressed files and bundles such as a Rancher logs-collector archive.",
            discussion: """
                Files are read in parallel on every core. Each file's component comes from its path \
                (rke/containerlogs/kube-proxy, journald/kubelet, /var/log/pods/...). One report ranks the \
                incidents across all files, then lists the noise and every file with its format, lines, time \
                range and findings; unreadable and binary files are listed, never skipped silently.

                Bundles (.tar, .tar.gz/.tgz, .tar.xz, .tar.zst, .tar.bz2, .zip) and compressed files \
                (.gz, .xz, .zst, .bz2) are read in memory, member by member: nothing is unpacked to disk. \
                Only regular members are read; links are not followed (a link to a member is read under \
                the member's name), devices and FIFOs are listed as skipped. --max-bytes bounds what one \
                input may decompress to.

                \(ExitStatus.help)
                """
        )

        @Argument(help: ArgumentHelp("Files, directories, compressed files or bundles; `-` for standard input.", valueName: "path"))
        var paths: [String]

        @Option(name: .shortAndLong, help: "Files read at once (default: the number of cores).")
        var jobs: Int?

        @Flag(help: "Never show the progress line (it is shown only on a terminal anyway).")
        var noProgress = false

        @OptionGroup var input: InputOptions
        @OptionGroup var rules: RuleOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var baseline: BaselineOptions

        func validate() throws {
            if paths.isEmpty { throw ValidationError("give at least one file, directory or bundle to triage") }
            if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
            _ = try rules.versionOverrides()
            _ = try input.analyzer()
        }

        func run() throws {
            let overrides = try rules.versionOverrides()
            let analyzer = try input.analyzer()
            let ruleSet = try rules.ruleSet()
            let runner = TriageRunner(ruleSet: ruleSet, analyzer: analyzer)
            let (items, problems) = runner.expand(paths)
            let total = items.reduce(0) { $0 + $1.size }
            let progress = (!noProgress && Terminal.isTTY(2)) ? ProgressLine(total: total, counter: runner.progress) : nil
            progress?.start()
            let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            let (results, inputs) = runner.run(items, jobs: jobs ?? max(1, cores))
            progress?.stop()
            let report = Report(results: output.prepare(results), ruleSet: ruleSet, versionOverrides: overrides,
                                baseline: try baseline.templates(ruleSet: ruleSet, analyzer: analyzer))
            for (rule, hit) in report.patternLimits {
                warn("rule \(rule.id) ran out of its match budget on \(hit.count) line\(hit.count == 1 ? "" : "s") (first \(hit.input):\(hit.line)); a match there may have been missed")
            }
            warnSplit(results.splitLines, limit: input.maxLineBytes)
            let all = inputs + problems
            // Listed in the report's file table, and said on stderr too, one line each.
            let unreadable = all.filter(\.unreadable)
            for i in unreadable { warn("\(i.name): \(i.problem ?? "")") }
            // Nothing could be read: the lines on stderr say it all; a report of nothing would read
            // like an all-clear.
            if items.isEmpty || !all.contains(where: { $0.problem == nil || $0.lines > 0 }) {
                if all.isEmpty { warn("no files to read in \(paths.joined(separator: " "))") }
                for s in all where !s.unreadable { warn("\(s.name): \(s.problem ?? "")") }
                throw ExitCode(ExitStatus.unreadable)
            }
            emit(output.render(report, inputs: all))
            // As for `logdiag FILE...`: an input that could not be read wins over findings.
            if !unreadable.isEmpty { throw ExitCode(ExitStatus.unreadable) }
            if output.failed(report) { throw ExitCode(ExitStatus.findings) }
        }
    }
}

/// `12.3 MB of 256.0 MB, 410 MB/s, 1s left` on stderr, redrawn in place; only on a terminal.
final class ProgressLine: @unchecked Sendable {
    let total: Int
    let counter: ProgressCounter
    private var timer: DispatchSourceTimer?
    private let began = DispatchTime.now()

    init(total: Int, counter: ProgressCounter) {
        self.total = total
        self.counter = counter
    }

    func start() {
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "logdiag.progress"))
        t.schedule(deadline: .now() + .milliseconds(300), repeating: .milliseconds(250))
        t.setEventHandler { [weak self] in self?.draw() }
        t.resume()
        timer = t
    }

    func draw() {
        let done = counter.count
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - began.uptimeNanoseconds) / 1e9
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let left = rate > 0 ? Double(max(0, total - done)) / rate : 0
        func mb(_ b: Double) -> String { String(Int((b / 1e5).rounded())).withDecimal }
        let line = "\r\u{1B}[K\(mb(Double(done))) MB of \(mb(Double(total))) MB, \(mb(rate)) MB/s, \(Int(left.rounded()))s left"
        var text = line
        text.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
    }

    func stop() {
        timer?.cancel()
        timer = nil
        var clear = "\r\u{1B}[K"
        clear.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
    }
}

extension String {
    /// "123" (tenths) as "12.3".
    var withDecimal: String {
        let padded = count < 2 ? String(repeating: "0", count: 2 - count) + self : self
        return String(padded.dropLast()) + "." + String(padded.last!)
    }
}
