/// What `logdiag watch` reads on a node, all at once.
public enum WatchSource: Sendable, Hashable, CustomStringConvertible {
    /// A path or glob (`/var/log/pods/*/*/*.log`), followed like `tail -F`; files that match later
    /// are picked up, files that go away are dropped.
    case files(String)
    /// A docker container by name or id (`docker logs --follow --timestamps`).
    case container(String)
    /// Every running docker container, found again every few seconds.
    case allContainers
    /// journald through `journalctl --follow --output=json`, for these units.
    case journal(units: [String])

    /// The `source` label of `logdiag_lines_read_total`: what the user asked for, not each file
    /// (one series per glob, however many files it matches).
    public var description: String {
        switch self {
        case .files(let p): p
        case .container(let c): "docker:" + c
        case .allContainers: "docker:*"
        case .journal(let units): units.isEmpty ? "journal" : "journal:" + units.joined(separator: ",")
        }
    }

    /// The units `--journal` reads when none is named: the services a Kubernetes node runs.
    public static let defaultUnits = ["kubelet", "containerd", "docker", "k3s", "k3s-agent", "rke2-server", "rke2-agent"]
}

/// How `watch` runs: its sources and the clocks that bound its memory and its output.
public struct WatchConfiguration: Sendable {
    public var sources: [WatchSource]
    /// The node name put on every metric and NDJSON line (`--node`, or `NODE_NAME`).
    public var node: String
    /// A finding is active while its newest evidence is younger than this (seconds). State older
    /// than two windows is dropped.
    public var window: Int
    /// Lines of existing log read first from each file, container and unit.
    public var tail: Int
    /// Passed to journalctl as `--directory` (a journal mounted into a container).
    public var journalDirectory: String?
    /// How often a changed finding may say so again on the NDJSON stream (seconds).
    public var repeatInterval: Int
    /// Paths never opened (fnmatch patterns, `*` crossing `/`): logdiag's own container log above all.
    public var exclude: [String] = []

    public init(sources: [WatchSource], node: String, window: Int = 900, tail: Int = 500,
                journalDirectory: String? = nil, repeatInterval: Int = 60) {
        self.sources = sources
        self.node = node
        self.window = window
        self.tail = tail
        self.journalDirectory = journalDirectory
        self.repeatInterval = repeatInterval
    }
}

/// What `watch` knows at one moment, for the metrics and the `/findings` report: handed to the
/// listener, which runs on other threads.
public struct WatchSnapshot: Sendable {
    /// One finding (a rule with one set of key values) seen in the last two windows.
    public struct FindingState: Sendable, Hashable {
        public let rule: String
        public let severity: Severity
        public let component: String
        public let key: [String]
        /// Matches since watch started: it never goes down, across windows.
        public let total: Int
        /// Unix time (seconds) of the newest evidence: its own time, or when it was read if that
        /// is earlier (a clock ahead of this node's does not keep a finding alive).
        public let lastSeen: Double
        public let active: Bool
    }

    public var findings: [FindingState] = []
    /// Error- and warning-level lines no rule explained, since watch started, by severity and component.
    public var unrecognised: [UnrecognisedTotal] = []
    /// Lines read since watch started, by the source the user named.
    public var linesRead: [(source: String, lines: Int)] = []
    /// Files, containers and journal readers open now.
    public var openSources = 0
    /// The active findings (and the unrecognised lines of the last two windows), made into a
    /// report only when asked for (`/findings`), on the asker's thread.
    var windows: [DiagnosisResults] = []
    var activeKeys: Set<FindingKey> = []
    var ruleSet: RuleSet?
    public var report: Report? {
        guard let ruleSet, !windows.isEmpty else { return nil }
        var merged = windows.count == 1 ? windows[0] : DiagnosisResults.combine(windows, byNode: false)
        merged.findings = merged.findings.filter { activeKeys.contains($0.key) }
        return Report(results: merged, ruleSet: ruleSet)
    }
    /// Unix time this snapshot was taken.
    public var time: Double = 0

    public struct UnrecognisedTotal: Sendable, Hashable {
        public let severity: Severity
        public let component: String
        public let total: Int
    }

    public init() {}
}
