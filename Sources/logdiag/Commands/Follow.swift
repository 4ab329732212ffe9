import ArgumentParser
import Dispatch
import Glibc
import LogModel

extension LogDiag {
    /// `logdiag follow TARGET`: watch a container, a pod or files, and report findings as they happen.
    struct Follow: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Watch a running container, a pod or growing files, and print each finding the moment its evidence arrives.",
            discussion: """
                TARGET is a docker container name or id (runs `docker logs --follow --timestamps`), \
                pod/NAME (runs `kubectl logs --follow --timestamps`, with -n and -c), or a file path or glob \
                (followed like `tail -F`: appends, truncation, rotation, new files matching the glob). \
                When the followed process ends (a container restart), logdiag says so and reattaches with \
                backoff. Ctrl-C (SIGINT) or SIGTERM prints a short summary and exits.

                \(ExitStatus.help)
                """
        )

        @Argument(help: ArgumentHelp("A container, pod/NAME, or a file path or glob (quote the glob).", valueName: "target"))
        var target: String

        @Option(name: .shortAndLong, help: "Namespace of the pod (with pod/NAME).") var namespace: String?
        @Option(name: .shortAndLong, help: "Container in the pod (with pod/NAME).") var container: String?
        @Option(help: "Lines of existing log to read first: from the container or pod, and from each file already there (files that appear later are read whole).") var tail: Int = 500

        @OptionGroup var input: InputOptions
        @OptionGroup var rules: RuleOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if tail < 0 { throw ValidationError("--tail must be 0 or more") }
            if (namespace != nil || container != nil) && !target.hasPrefix("pod/") {
                throw ValidationError("-n and -c go with a pod/NAME target")
            }
            if ![.text, .ndjson, .json].contains(output.output) {
                throw ValidationError("follow prints text, ndjson or json (the summary at the end)")
            }
        }

        func run() throws {
            let overrides = try rules.versionOverrides()
            let analyzer = try input.analyzer()
            let ruleSet = try rules.ruleSet()
            let follower = Follower(ruleSet: ruleSet, analyzer: analyzer)
            follower.versionOverrides = overrides
            // Live lines are masked as printed (with the run's redactor, so masks agree with stderr
            // and the final report, which is built from redacted results).
            let redactor = output.redact ? runRedactor : nil
            let color = Terminal.useColor(output.color) && !output.redact
            let renderer = TextRenderer(color: color, width: Terminal.width)
            let format = output.output
            follower.notice = { message in warn(message) }
            follower.found = { f in
                var text: String
                switch format {
                case .ndjson: text = ReportDocument.ndjsonLine(f)
                case .json: return  // one document at the end
                default: text = (Terminal.isTTY(1) && Terminal.isTTY(2) ? "\r\u{1B}[K" : "") + renderer.live(f)
                }
                if let redactor { text = redactor.redact(text) }
                emit(text)
            }
            follower.unrecognised = { g in
                var text: String
                switch format {
                case .ndjson: text = ReportDocument.ndjsonLine(g)
                case .json: return
                default: text = (Terminal.isTTY(1) && Terminal.isTTY(2) ? "\r\u{1B}[K" : "") + renderer.live(g)
                }
                if let redactor { text = redactor.redact(text) }
                emit(text)
            }
            // On a terminal, repeats update a status line on stderr instead of printing again.
            if Terminal.isTTY(2) && format == .text {
                var last = DispatchTime.now()
                follower.tick = {
                    let now = DispatchTime.now()
                    guard now.uptimeNanoseconds - last.uptimeNanoseconds > 500_000_000 else { return }
                    last = now
                    let c = follower.counts
                    var line = "\r\u{1B}[K\(c.events) events"
                    if !c.findings.isEmpty {
                        line += ", " + c.findings.prefix(3).map { "\($0.id) ×\($0.count)" }.joined(separator: ", ")
                    }
                    line = String(line.prefix(max(20, Terminal.width + 4)))
                    line.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
                }
                follower.notice = { message in
                    var clear = "\r\u{1B}[K"
                    clear.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
                    warn(message)
                }
            }
            let signals = Follow.stopOnSignals(follower)

            switch parseTarget() {
            case .files(let pattern, let tail):
                do throws(InputError) { try follower.followFiles(pattern, tail: tail) } catch {
                    warn(error.description)
                    throw ExitCode(ExitStatus.unreadable)
                }
            case .docker(let name, let tail):
                let docker = try Follow.require("docker")
                let (status, err) = Subprocess.run(docker, ["inspect", "--type", "container", "--format", "{{.Id}}", name])
                if status != 0 {
                    warn("docker: \(err.isEmpty ? "cannot inspect container \(name) (exit status \(status))" : err)")
                    throw ExitCode(ExitStatus.unreadable)
                }
                // The container's own end, not `docker logs`' status: exit code and restarts.
                follower.describeEnd = {
                    let (status, out) = Subprocess.outputLine(docker, ["inspect", "--type", "container", "--format",
                                                                       "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", name])
                    let f = out.split(separator: " ")
                    guard status == 0, f.count == 3 else { return nil }
                    let restarts = f[2] == "1" ? "restarted once" : "restarted \(f[2]) times"
                    return f[0] == "running" ? "container running, \(restarts)"
                        : "container \(f[0]) with exit code \(f[1]), \(restarts)"
                }
                try follow(follower, docker, name: name) { since in
                    var args = ["logs", "--follow", "--timestamps"]
                    if let since { args += ["--since", since.rfc3339] } else { args += ["--tail", String(tail)] }
                    return args + [name]
                }
            case .pod(let name, let ns, let c, let tail):
                let kubectl = try Follow.require("kubectl")
                var getArgs = ["get", "pod", name, "-o", "name"]
                if let ns { getArgs += ["-n", ns] }
                let (status, err) = Subprocess.run(kubectl, getArgs)
                if status != 0 {
                    warn("kubectl: \(err.isEmpty ? "cannot find pod \(name) (exit status \(status))" : err)")
                    throw ExitCode(ExitStatus.unreadable)
                }
                follower.describeEnd = {
                    var args = ["get", "pod", name, "-o",
                                "jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.exitCode}"]
                    if let ns { args += ["-n", ns] }
                    let (status, out) = Subprocess.outputLine(kubectl, args)
                    let f = out.split(separator: " ")
                    guard status == 0, let restarts = f.first else { return nil }
                    return "container restarted \(restarts) times" + (f.count > 1 ? ", last exit code \(f[1])" : "")
                }
                try follow(follower, kubectl, name: "pod/\(name)") { since in
                    var args = ["logs", "--follow", "--timestamps"]
                    if let ns { args += ["-n", ns] }
                    if let c { args += ["-c", c] }
                    if let since { args += ["--since-time", since.rfc3339] } else { args += ["--tail", String(tail)] }
                    return args + ["pod/\(name)"]
                }
            }
            withExtendedLifetime(signals) {}

            let report = Report(results: output.prepare(follower.results), ruleSet: ruleSet, versionOverrides: overrides)
            if Terminal.isTTY(2) {
                var clear = "\r\u{1B}[K"
                clear.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
            }
            switch format {
            case .json: emit(output.render(report))
            case .ndjson: break
            default: emit(renderer.summary(report))
            }
            if output.failed(report) { throw ExitCode(ExitStatus.findings) }
        }

        func follow(_ follower: Follower, _ exe: String, name: String,
                    _ args: @escaping (Timestamp?) -> [String]) throws {
            do throws(InputError) { try follower.followCommand(exe, name: name, arguments: args) } catch {
                warn(error.description)
                throw ExitCode(ExitStatus.unreadable)
            }
        }

        func parseTarget() -> FollowTarget {
            if target.hasPrefix("pod/") {
                return .pod(name: String(target.dropFirst(4)), namespace: namespace, container: container, tail: tail)
            }
            if target.contains("/") || target.contains("*") || target.hasSuffix(".log") || access(target, F_OK) == 0 {
                return .files(pattern: target, tail: tail)
            }
            return .docker(container: target, tail: tail)
        }

        static func require(_ tool: String) throws -> String {
            guard let path = Subprocess.which(tool) else {
                warn("\(tool) is not installed (not found on PATH)")
                throw ExitCode(ExitStatus.unreadable)
            }
            return path
        }

        /// SIGINT and SIGTERM end the loop cleanly instead of killing the process.
        static func stopOnSignals(_ follower: Follower) -> [DispatchSourceSignal] {
            [SIGINT, SIGTERM].map { sig in
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: DispatchQueue(label: "logdiag.signal"))
                source.setEventHandler { follower.stop() }
                source.resume()
                return source
            }
        }
    }
}
