import LogModel
import Prometheus

/// The Prometheus series of `logdiag watch`, kept in a swift-prometheus registry and moved on
/// from each snapshot the watcher publishes. Counters only grow: each is moved by what its total
/// grew since the last snapshot.
public final class WatchMetrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let node: String
    // Touched only from the watch thread (`update`); the registry itself is thread-safe.
    private var lastTotals: [String: Int] = [:]
    private var lastUnrecognised: [String: Int] = [:]
    private var lastLines: [String: Int] = [:]
    private var findingLabels: Set<[String]> = []

    private let findings = MetricNameDescriptor(namespace: "logdiag", metricName: "findings", unitName: "",
        helpText: "Active findings: rules whose newest evidence is younger than the window.")
    private let matches = MetricNameDescriptor(namespace: "logdiag", metricName: "matches", unitName: "total",
        helpText: "Lines that matched a rule since watch started.")
    private let lastFinding = MetricNameDescriptor(namespace: "logdiag", metricName: "last_finding_timestamp", unitName: "seconds",
        helpText: "Unix time of the newest evidence of the rule.")
    private let unrecognised = MetricNameDescriptor(namespace: "logdiag", metricName: "unrecognised", unitName: "total",
        helpText: "Error- and warning-level lines no rule explained.")
    private let lines = MetricNameDescriptor(namespace: "logdiag", metricName: "lines_read", unitName: "total",
        helpText: "Lines read, by the source given to watch.")
    private let sources = MetricNameDescriptor(namespace: "logdiag", metricName: "sources", unitName: "",
        helpText: "Files, containers and journal readers open now.")

    public init(node: String, version: String) {
        self.node = node
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "logdiag", metricName: "build", unitName: "info",
                                                            helpText: "Always 1: the logdiag version watching this node."),
                           labels: [("version", version), ("node", node)]).set(to: 1)
    }

    private func labels(_ f: WatchSnapshot.FindingState) -> [(String, String)] {
        // A path that names no component: said, not an empty label value.
        [("rule", f.rule), ("severity", f.severity.description), ("component", f.component.isEmpty ? "unknown" : f.component),
         ("node", node)]
    }

    public func update(_ s: WatchSnapshot) {
        var active: [[String]: Int] = [:]
        var last: [[String]: Double] = [:]
        for f in s.findings {
            let l = labels(f)
            let values = l.map(\.1)
            active[values, default: 0] += f.active ? 1 : 0
            last[values] = max(last[values] ?? 0, f.lastSeen)
            // Per finding (rule and key values), so a finding that ends and comes back adds up.
            let id = ([f.rule] + f.key).joined(separator: "\u{0}")
            let grown = f.total - (lastTotals[id] ?? 0)
            if grown > 0 {
                registry.makeCounter(descriptor: matches, labels: l).increment(by: Int64(grown))
            }
            lastTotals[id] = f.total
        }
        // Series of findings no longer in the snapshot stay, at zero: alerts resolve.
        for values in findingLabels where active[values] == nil { active[values] = 0 }
        for (values, n) in active {
            let l = zip(["rule", "severity", "component", "node"], values).map { ($0, $1) }
            registry.makeGauge(descriptor: findings, labels: l).set(to: Double(n))
            findingLabels.insert(values)
            if let t = last[values] {
                registry.makeGauge(descriptor: lastFinding, labels: l).set(to: t)
            }
        }
        let seen = Set(s.findings.map { ([$0.rule] + $0.key).joined(separator: "\u{0}") })
        lastTotals = lastTotals.filter { seen.contains($0.key) }
        for u in s.unrecognised {
            let id = u.severity.description + "\u{0}" + u.component
            let grown = u.total - (lastUnrecognised[id] ?? 0)
            if grown > 0 {
                let l = [("severity", u.severity.description), ("component", u.component.isEmpty ? "unknown" : u.component),
                         ("node", node)]
                registry.makeCounter(descriptor: unrecognised, labels: l).increment(by: Int64(grown))
            }
            lastUnrecognised[id] = u.total
        }
        for (source, read) in s.linesRead {
            let grown = read - (lastLines[source] ?? 0)
            let counter = registry.makeCounter(descriptor: lines, labels: [("source", source), ("node", node)])
            if grown > 0 { counter.increment(by: Int64(grown)) }
            lastLines[source] = read
        }
        registry.makeGauge(descriptor: sources, labels: [("node", node)]).set(to: Double(s.openSources))
    }

    /// The exposition text (version 0.0.4).
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
