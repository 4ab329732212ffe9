/// Renders a report for people on a terminal: most important incident first, each with its
/// cause, fix, evidence lines and what it explains; then the noise and what was read.
public struct TextRenderer: TerminalText {
    public var color: Bool
    public var width: Int

    public init(color: Bool = false, width: Int = 100) {
        self.color = color
        self.width = max(40, width)
    }

    func badge(_ s: Severity) -> String {
        let label = s.description.uppercased()
        switch s {
        case .fatal: return paint(label, "1;31")
        case .error: return paint(label, "31")
        case .warning: return paint(label, "33")
        default: return paint(label, "36")
        }
    }


    func clip(_ s: String, _ n: Int) -> String {
        s.count <= n ? s : String(s.prefix(max(1, n - 1))) + "…"
    }

    public func render(_ report: Report, inputs: [InputSummary] = []) -> String {
        var out = ""
        let r = report.results
        if report.incidents.isEmpty {
            out += paint("No known failure found.", "32") + "\n"
        } else {
            let n = report.incidents.count
            out += paint("\(n) incident\(n == 1 ? "" : "s") found", "1") + " (most important first)\n"
        }
        for (k, incident) in report.incidents.enumerated() {
            out += "\n"
            out += finding(incident.cause, number: k + 1)
            if !incident.explained.isEmpty {
                out += "   " + paint("Explains:", "1") + "\n"
                for e in incident.explained {
                    out += "     - \(badge(e.severity)) \(e.rule.title) [\(e.rule.id)], \(times(e.finding.count))\n"
                    for ev in e.finding.evidence.prefix(2) {
                        out += "         " + paint("\(ev.input):\(ev.line)", "2") + "  " + clip(ev.text, width - 12) + "\n"
                    }
                }
            }
        }
        out += "\n"
        if !report.noise.isEmpty {
            out += paint("Known noise", "1") + " (harmless, not causes): \(r.noiseLines) line\(r.noiseLines == 1 ? "" : "s")\n"
            for n in report.noise {
                out += "  \(String(n.count).leftPad(6))  \(n.rule.title) [\(n.rule.id)]\n"
            }
        }
        if inputs.count > 1 || inputs.contains(where: { $0.problem != nil }) { out += fileTable(report, inputs) }
        out += "Read \(r.lines) line\(r.lines == 1 ? "" : "s") from \(r.inputs.count) input\(r.inputs.count == 1 ? "" : "s")"
        out += ", \(r.events) event\(r.events == 1 ? "" : "s")"
        if r.noiseLines > 0 { out += ", \(r.noiseLines) known noise" }
        if r.splitLines > 0 { out += ", \(r.splitLines) over-long line\(r.splitLines == 1 ? "" : "s") split" }
        out += ".\n"
        return out
    }

    /// Triage's per-file table: format, lines, time range and findings of every input.
    func fileTable(_ report: Report, _ inputs: [InputSummary]) -> String {
        var out = paint("Files", "1") + "\n"
        let nameWidth = min(60, inputs.map(\.name.count).max() ?? 4)
        out += "  " + "file".padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            + "  format       lines  from                  to                    findings\n"
        for i in inputs {
            let name = i.name.count > nameWidth ? "…" + i.name.suffix(nameWidth - 1) : i.name
            out += "  " + name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
            if let problem = i.problem {
                out += paint(problem, "33") + "\n"
                continue
            }
            let fmt = i.unknownFormat ? "unknown" : i.format
            out += fmt.padding(toLength: 11, withPad: " ", startingAt: 0) + String(i.lines).leftPad(7) + "  "
            out += (i.first.map { String($0.rfc3339.prefix(19)) } ?? "-").padding(toLength: 20, withPad: " ", startingAt: 0) + "  "
            out += (i.last.map { String($0.rfc3339.prefix(19)) } ?? "-").padding(toLength: 20, withPad: " ", startingAt: 0) + "  "
            out += String(report.findingCount(in: i.name)).leftPad(8) + "\n"
        }
        return out
    }

    /// A finding as it arrives in follow mode: short, with its first evidence line.
    public func live(_ f: ReportedFinding) -> String {
        var out = "\(badge(f.severity)) " + paint(f.rule.title, "1") + "  " + paint("[\(f.rule.id)]", "2") + "\n"
        if let ev = f.finding.evidence.first {
            out += "  " + paint("\(ev.input):\(ev.line)", "2") + "  " + clip(ev.text, width - 6) + "\n"
        }
        out += "  " + paint("Cause:", "1") + " " + wrap(f.cause, indent: 9, first: 9) + "\n"
        out += "  " + paint("Fix:", "1;32") + " " + wrap(f.fix, indent: 7, first: 7) + "\n"
        return out
    }

    /// The short summary follow prints when it stops: each incident with its count.
    public func summary(_ report: Report) -> String {
        var out = "\n" + paint("Stopped.", "1") + " "
        let r = report.results
        out += "\(r.lines) line\(r.lines == 1 ? "" : "s") read, \(r.noiseLines) known noise, "
        out += report.incidents.isEmpty ? "no known failure found.\n" : "\(report.incidents.count) incident\(report.incidents.count == 1 ? "" : "s"):\n"
        for (k, i) in report.incidents.enumerated() {
            out += "  \(k + 1). \(badge(i.cause.severity)) \(i.cause.rule.title) [\(i.cause.rule.id)] ×\(i.cause.finding.count)"
            if !i.explained.isEmpty { out += ", explains \(i.explained.map(\.rule.id).joined(separator: ", "))" }
            out += "\n"
        }
        return out
    }

    func times(_ n: Int) -> String { n == 1 ? "1 line" : "\(n) lines" }

    func finding(_ f: ReportedFinding, number: Int) -> String {
        var out = "\(number). \(badge(f.severity)) " + paint(f.rule.title, "1") + "  " + paint("[\(f.rule.id)]", "2") + "\n"
        out += "   " + paint("Cause:", "1") + " " + wrap(f.cause, indent: 10, first: 10) + "\n"
        let fixLabel = f.fixCondition.map { "Fix (\($0)):" } ?? "Fix:"
        out += "   " + paint(fixLabel, "1;32") + " " + wrap(f.fix, indent: 8, first: fixLabel.count + 4) + "\n"
        var span = "\(times(f.finding.count))"
        if let a = f.finding.first, let b = f.finding.last {
            span += a == b ? ", at \(a.rfc3339)" : ", \(a.rfc3339) to \(b.rfc3339)"
        }
        if f.rule.confidence != .high { span += ", confidence \(f.rule.confidence.rawValue)" }
        out += "   " + paint("Evidence", "1") + " (\(span)):\n"
        for ev in f.finding.evidence {
            let quoted = ev.quoted ? " (quoted)" : ""
            out += "     " + paint("\(ev.input):\(ev.line)\(quoted)", "2") + "  " + clip(ev.text, width - 8) + "\n"
        }
        if f.finding.count > f.finding.evidence.count {
            out += "     … and \(f.finding.count - f.finding.evidence.count) more\n"
        }
        if !f.rule.references.isEmpty {
            out += "   " + paint("See:", "1") + " " + f.rule.references.joined(separator: "\n        ") + "\n"
        }
        return out
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
