import ArgumentParser
import Dispatch
import Glibc
import LogModel
import LogServe

extension LogDiag {
    /// `logdiag watch`: a node's logs, all of them, for as long as it runs (the DaemonSet).
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Watch every log of a node at once, for as long as it runs: findings as NDJSON or text, Prometheus metrics on --listen.",
            discussion: """
                Sources: file paths and globs (quote them: '/var/log/pods/*/*/*.log'), docker containers \
                (--container NAME, --all-containers), journald units (--journal, --unit NAME; through \
                journalctl). Files are followed through rotation, truncation, deletion and return; files \
                that match a glob later are picked up. Each source's component comes from its path, \
                container name or unit.

                A finding is active while its newest evidence is younger than --window; older state is \
                dropped after two windows, so memory stays bounded however long it runs. With \
                --listen ADDR:PORT it serves /metrics (Prometheus text format), /findings (the JSON \
                report of what is active, as `-o json`) and /healthz. SIGINT or SIGTERM stops it.

                \(ExitStatus.help)
                """
        )

        @Argument(help: ArgumentHelp("Files or globs to follow (quote the globs).", valueName: "path"))
        var paths: [String] = []

        @Option(name: .customLong("container"), help: ArgumentHelp("A docker container to follow, by name or id (repeat for more).", valueName: "name"))
        var containers: [String] = []

        @Flag(help: "Follow every running docker container, and those that start later.")
        var allContainers = false

        @Flag(help: "Read journald (journalctl --follow --output=json) for --unit units, or the node's usual ones (\(WatchSource.defaultUnits.joined(separator: ", "))).")
        var journal = false

        @Option(name: .customLong("unit"), help: ArgumentHelp("A systemd unit to read from journald (repeat for more; implies --journal).", valueName: "unit"))
        var units: [String] = []

        @Option(help: ArgumentHelp("Journal directory for journalctl --directory (a journal mounted into a container).", valueName: "dir"))
        var journalDirectory: String?

        @Option(help: ArgumentHelp("Never open paths matching this pattern (`*` also matches `/`; repeat for more): logdiag's own container log, above all.", valueName: "pattern"))
        var exclude: [String] = []

        @Option(help: ArgumentHelp("Node name on every metric and NDJSON line (default: $NODE_NAME, else the host name).", valueName: "name"))
        var node: String?

        @Option(help: ArgumentHelp("How long a finding stays active after its newest evidence: 90s, 15m, 1h.", valueName: "duration"))
        var window: String = "15m"

        @Option(help: ArgumentHelp("Serve /metrics, /findings and /healthz on this address (127.0.0.1:9910; :9910 for every interface).", valueName: "addr:port"))
        var listen: String?

        @Option(help: "Lines of existing log read first from each file, container and unit.")
        var tail: Int = 500

        @Option(name: [.short, .long], help: "What goes to standard output: text (each finding as it becomes active) or ndjson (one object per new, changed or resolved finding, for a log shipper).")
        var output: WatchOutput = .text

        @Option(help: ArgumentHelp("With -o ndjson: a finding that keeps matching says so again at most this often.", valueName: "duration"))
        var repeatEvery: String = "1m"

        @OptionGroup var input: InputOptions
        @OptionGroup var rules: RuleOptions

        enum WatchOutput: String, ExpressibleByArgument, CaseIterable { case text, ndjson }

        func validate() throws {
            if tail < 0 { throw ValidationError("--tail must be 0 or more") }
            guard let w = Watch.seconds(window), w >= 1 else {
                throw ValidationError("--window takes a duration such as 90s, 15m or 1h (got '\(window)')")
            }
            _ = w
            guard Watch.seconds(repeatEvery) != nil else {
                throw ValidationError("--repeat-every takes a duration such as 30s or 5m (got '\(repeatEvery)')")
            }
            if paths.isEmpty && containers.isEmpty && !allContainers && !journal && units.isEmpty {
                throw ValidationError("nothing to watch: give file paths or globs, --container, --all-containers or --journal")
            }
            if let listen, Watch.hostPort(listen) == nil {
                throw ValidationError("--listen takes ADDR:PORT, e.g. 127.0.0.1:9910 or :9910 (got '\(listen)')")
            }
            if let node, node.isEmpty || node.utf8.count > 253 || node.contains(where: { $0.isNewline }) {
                throw ValidationError("--node takes a node name of 1 to 253 characters on one line")
            }
        }

        /// `90s`, `15m`, `1h`, or plain seconds.
        static func seconds(_ text: String) -> Int? {
            let unit: Int
            var digits = Substring(text)
            switch text.last {
            case "s": unit = 1; digits = digits.dropLast()
            case "m": unit = 60; digits = digits.dropLast()
            case "h": unit = 3600; digits = digits.dropLast()
            default: unit = 1
            }
            guard let n = Int(digits), n >= 0, n <= 7 * 86_400 / unit else { return nil }
            return n * unit
        }

        static func hostPort(_ text: String) -> (host: String, port: Int)? {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                  (0...65535).contains(port) else { return nil }
            var host = String(text[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            return (host.isEmpty ? "0.0.0.0" : host, port)
        }

        static func nodeName(_ given: String?) -> String {
            if let given { return given }
            if let env = getenv("NODE_NAME").map({ String(cString: $0) }), !env.isEmpty { return String(env.prefix(253)) }
            var buf = [CChar](repeating: 0, count: 256)
            if gethostname(&buf, 255) == 0 {
                let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !name.isEmpty { return name }
            }
            return "unknown"
        }

        func run() throws {
            var sources = paths.map(WatchSource.files)
            sources += containers.map(WatchSource.container)
            if allContainers { sources.append(.allContainers) }
            if journal || !units.isEmpty { sources.append(.journal(units: units)) }
            let node = Watch.nodeName(self.node)
            var config = WatchConfiguration(sources: sources, node: node, window: Watch.seconds(window)!, tail: tail,
                                            journalDirectory: journalDirectory, repeatInterval: Watch.seconds(repeatEvery)!)
            config.exclude = exclude
            let watcher = Watcher(ruleSet: try rules.ruleSet(), analyzer: try input.analyzer(), configuration: config)
            watcher.notice = { warn($0) }
            let renderer = TextRenderer(color: Terminal.useColor(.auto), width: Terminal.width)
            let format = output
            watcher.became = { f, change in
                switch format {
                case .ndjson: emit(ReportDocument.ndjsonLine(f, extra: [("node", node), ("state", change.rawValue)]))
                case .text:
                    if change == .resolved {
                        emit("Resolved: \(TerminalSafe.escape(f.title)) [\(f.rule.id)] (no evidence for \(self.window))\n")
                    } else if change == .new {
                        emit(renderer.live(f))
                    }
                }
            }
            watcher.unrecognised = { g in
                switch format {
                case .ndjson: emit(ReportDocument.ndjsonLine(g, extra: [("node", node)]))
                case .text: emit(renderer.live(g))
                }
            }
            var listener: WatchListener?
            if let listen, let (host, port) = Watch.hostPort(listen) {
                let metrics = WatchMetrics(node: node, version: LogDiagVersion.current)
                let endpoints = WatchEndpoints(metrics: metrics) { [watcher] in watcher.heartbeat.load(ordering: .relaxed) }
                do {
                    listener = try WatchListener(host: host, port: port, endpoints: endpoints)
                } catch {
                    warn("cannot listen on \(listen): \(error)")
                    throw ExitCode(ExitStatus.unreadable)
                }
                warn("serving /metrics, /findings and /healthz on http://\(listener!.boundAddress)")
                watcher.published = { endpoints.publish($0) }
            }
            let signals = [SIGINT, SIGTERM].map { sig in
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: DispatchQueue(label: "logdiag.signal"))
                source.setEventHandler { watcher.stop() }
                source.resume()
                return source
            }
            do throws(InputError) { try watcher.run() } catch {
                warn(error.description)
                listener?.shutdown()
                throw ExitCode(ExitStatus.unreadable)
            }
            withExtendedLifetime(signals) {}
            listener?.shutdown()
        }
    }
}
