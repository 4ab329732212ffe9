/// Several nodes' logs in one triage (a Rancher logs-collector tarball per node): which node
/// each incident is on, and which causes several nodes share.
public struct NodeGroups: Sendable {
    /// One cause and the nodes whose logs show it.
    public struct SharedCause: Sendable {
        public let rule: Rule
        public let title: String
        public let nodes: [String]
    }

    /// Every node read, by name, in order.
    public let nodes: [String]
    /// Causes by how many nodes show them, most first (then by severity).
    public let causes: [SharedCause]
    /// The node of each input name.
    let nodeOfInput: [String: String]

    /// Two or more nodes: the report says which node each cause is on.
    public var isFleet: Bool { nodes.count >= 2 }

    /// The nodes of a finding, by the inputs its matches came from.
    public func nodes(of f: Finding, in results: DiagnosisResults) -> [String] {
        NodeGroups.nodeSet(nodeOfInput, f, results).sorted()
    }

    private static func nodeSet(_ map: [String: String], _ f: Finding, _ r: DiagnosisResults) -> Set<String> {
        let names = f.inputs.compactMap { $0 < r.inputs.count ? r.inputs[$0] : nil } + f.evidence.map(\.input)
        return Set(names.compactMap { map[$0] })
    }

    init(_ report: Report) {
        let results = report.results
        var nodeOfInput: [String: String] = [:]
        var nodes: [String] = []
        for (i, name) in results.inputs.enumerated() where i >= results.linesPerInput.count || results.linesPerInput[i] > 0 {
            let scope = Report.nodeScope(name)
            guard !scope.isEmpty else { continue }
            let node = NodeGroups.nodeName(scope)
            nodeOfInput[name] = node
            if !nodes.contains(node) { nodes.append(node) }
        }
        self.nodeOfInput = nodeOfInput
        self.nodes = nodes.sorted()
        var byRule: [String: (rule: Rule, title: String, nodes: Set<String>)] = [:]
        var order: [String] = []
        for incident in report.incidents {
            let c = incident.cause
            let names = NodeGroups.nodeSet(nodeOfInput, c.finding, results)
            if byRule[c.rule.id] == nil { order.append(c.rule.id); byRule[c.rule.id] = (c.rule, c.title, []) }
            byRule[c.rule.id]!.nodes.formUnion(names)
        }
        causes = order.map { byRule[$0]! }.filter { !$0.nodes.isEmpty }
            .map { SharedCause(rule: $0.rule, title: $0.title, nodes: $0.nodes.sorted()) }
            .enumerated().sorted { a, b in
                if a.element.nodes.count != b.element.nodes.count { return a.element.nodes.count > b.element.nodes.count }
                return a.offset < b.offset  // the report's own ranking
            }.map(\.element)
    }

    /// A node's name from its scope: a logs-collector tarball `node1-2024-05-01_10_20_30.tar.gz`
    /// is `node1`; a folder inside an archive or on disk (`bundle.tgz:node1`, `saved/node1`) is
    /// that folder.
    static func nodeName(_ scope: String) -> String {
        var archive = scope, member = ""
        if let colon = scope.firstIndex(of: ":") {
            archive = String(scope[..<colon])
            member = String(scope[scope.index(after: colon)...])
        }
        let memberParts = member.split(separator: "/").filter { $0 != "." }
        if let last = memberParts.last { return stripDate(String(last)) }
        var name = String(archive.split(separator: "/").last ?? Substring(archive))
        for ext in [".tar.gz", ".tar.xz", ".tar.zst", ".tar.bz2", ".tgz", ".tar", ".zip", ".gz"] where name.hasSuffix(ext) {
            name = String(name.dropLast(ext.count))
            break
        }
        return stripDate(name)
    }

    /// The collector's `-YYYY-MM-DD_HH_MM_SS` suffix.
    static func stripDate(_ name: String) -> String {
        let u = Array(name.utf8)
        guard u.count > 20 else { return name }
        let tail = u.suffix(20)
        let shape = Array("-dddd-dd-dd_dd_dd_dd".utf8)
        for (c, s) in zip(tail, shape) {
            if s == UInt8(ascii: "d") { guard c >= 48 && c <= 57 else { return name } } else if c != s { return name }
        }
        return String(decoding: u.dropLast(20), as: UTF8.self)
    }
}

extension Report {
    /// The nodes of a triage over several nodes' logs, and the causes they share.
    public var nodeGroups: NodeGroups { NodeGroups(self) }
}
