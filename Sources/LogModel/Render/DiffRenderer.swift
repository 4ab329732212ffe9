import Foundation

/// `logdiag diff`: text for people, JSON for scripts (docs/output.md).
public struct DiffRenderer: TerminalText {
    public var color: Bool
    public var width: Int
    public var clipEvidence: Bool
    public var top: Int

    public init(color: Bool = false, width: Int = 100, clipEvidence: Bool = false, top: Int = 10) {
        self.color = color
        self.width = max(40, width)
        self.clipEvidence = clipEvidence
        self.top = top
    }

    func clip(_ s: String, _ n: Int) -> String {
        !clipEvidence || s.count <= n ? s : String(s.prefix(max(1, n - 1))) + "…"
    }

    public func text(_ d: LogDiff) -> String {
        var out = ""
        let n = d.newFindings.count, k = d.novel.count
        if n == 0 && k == 0 {
            out += paint("BAD has nothing that GOOD lacks", "32") + " (\(d.shared) kind\(d.shared == 1 ? "" : "s") of line in both).\n"
        } else {
            out += paint("BAD has \(n) finding\(n == 1 ? "" : "s") and \(k) kind\(k == 1 ? "" : "s") of line that GOOD lacks", "1")
                + " (the first is the most likely cause)\n"
        }
        if !d.newFindings.isEmpty {
            out += "\n" + paint("New findings", "1") + "\n"
            for f in d.newFindings {
                out += "  - \(f.severity.description.uppercased()) \(safe(f.title)) [\(f.rule.id)], \(f.finding.count) line\(f.finding.count == 1 ? "" : "s")\n"
                if let ev = f.finding.evidence.first { out += "      " + paint("\(safe(ev.input)):\(ev.line)", "2") + "  " + clip(safe(ev.text), width - 10) + "\n" }
            }
        }
        if !d.novel.isEmpty {
            out += "\n" + paint("New kinds of line", "1") + " (not in GOOD)\n"
            for (i, g) in d.novel.prefix(top).enumerated() {
                out += "\(String(i + 1).leftPad(3)). \(g.severity.description.uppercased()) ×\(g.count)  \(safe(g.template))\n"
                for ev in g.evidence.prefix(2) {
                    out += "       " + paint("\(safe(ev.input)):\(ev.line)", "2") + "  " + clip(safe(ev.text), width - 10) + "\n"
                }
            }
            if d.novel.count > top { out += "     … and \(d.novel.count - top) more (--top, or -o json for all)\n" }
        }
        out += "\nGOOD: \(d.good.lines) lines from \(d.good.inputs.count) input\(d.good.inputs.count == 1 ? "" : "s"); "
        out += "BAD: \(d.bad.lines) lines from \(d.bad.inputs.count) input\(d.bad.inputs.count == 1 ? "" : "s"); \(d.shared) kind\(d.shared == 1 ? "" : "s") of line in both.\n"
        return out
    }

    struct Document: Encodable {
        let tool = "logdiag"
        let schemaVersion = 2
        let newFindings: [ReportDocument.FindingEntry]
        let novel: [ReportDocument.UnrecognisedEntry]
        let shared: Int
        let goodLines: Int
        let badLines: Int
    }

    public func json(_ d: LogDiff) -> String {
        let doc = Document(newFindings: d.newFindings.map { ReportDocument.entry($0, explained: []) },
                           novel: d.novel.map(ReportDocument.entry), shared: d.shared,
                           goodLines: d.good.lines, badLines: d.bad.lines)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(doc) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
