import Foundation

/// Renders a report for people on a terminal: most important incident first, each with its
/// cause, fix, evidence lines and what it explains; then the noise and what was read.
public struct TextRenderer: TerminalText {
    public var color: Bool
    public var width: Int
    /// Cut evidence lines to the width (a terminal); in a pipe or file every line is whole.
    public var clipEvidence: Bool
    /// Unrecognised groups shown in full; the rest are counted.
    public var unrecognisedShown = 5
    /// The per-file table for several inputs (triage); `logdiag FILE...` leaves it out.
    public var fileTable = true

    public init(color: Bool = false, width: Int = 100, clipEvidence: Bool = true) {
        self.color = color
        self.width = max(40, width)
        self.clipEvidence = clipEvidence
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


    /// A line shortened to `n` characters on a terminal (never in a pipe or file). When the part
    /// that matters (`focus`: the rule's literals and captured values) lies beyond the cut, the
    /// line is cut around it instead, so the match stays visible: `…words before MATCH words…`.
    func clip(_ s: String, _ n: Int, focus: [String] = []) -> String {
        guard clipEvidence, s.count > n else { return s }
        let n = max(8, n)
        var start: String.Index?
        var end: String.Index?
        for f in focus where f.count >= 3 {
            guard let r = s.range(of: f, options: .caseInsensitive) else { continue }
            if start == nil || r.lowerBound < start! { start = r.lowerBound }
            if end == nil || r.upperBound > end! { end = r.upperBound }
        }
        guard let start, let end else { return String(s.prefix(n - 1)) + "…" }
        let lo = s.distance(from: s.startIndex, to: start), hi = s.distance(from: s.startIndex, to: end)
        if hi <= n - 1 { return String(s.prefix(n - 1)) + "…" }
        // The match and a third of the room after it (the words that say why), then what fits
        // before it; the match itself wins over its context.
        let room = n - 2
        let trailing = min(room / 3, s.count - hi)
        var begin = max(0, min(lo, hi + trailing - room))
        if hi - lo > room { begin = lo }
        let from = s.index(s.startIndex, offsetBy: begin)
        let rest = s[from...]
        return "…" + (rest.count > room ? String(rest.prefix(room - 1)) + "…" : String(rest))
    }

    /// What must stay visible of a finding's evidence line.
    func focus(_ f: ReportedFinding) -> [String] {
        f.rule.literals + f.finding.captures.sorted { $0.key < $1.key }.map(\.value).filter { !$0.isEmpty }
    }

    public func render(_ report: Report, inputs: [InputSummary] = []) -> String {
        var out = ""
        let r = report.results
        // What could not be read comes first: the verdict below covers only what was read.
        let unreadable = inputs.filter(\.unreadable)
        if !unreadable.isEmpty {
            out += paint("\(unreadable.count) input\(unreadable.count == 1 ? "" : "s") could not be read", "1;33")
                + " (the report covers only the others):\n"
            for i in unreadable { out += "  \(safe(i.name)): \(safe(i.problem ?? ""))\n" }
            out += "\n"
        }
        out += headline(report) + "\n"
        let groups = report.nodeGroups
        if groups.isFleet { out += acrossNodes(groups) }
        // An unrecognised line more severe than every incident comes first.
        if report.unrecognisedFirst { out += unrecognised(report) }
        for (k, incident) in report.incidents.enumerated() {
            out += "\n"
            out += finding(incident.cause, number: k + 1,
                           nodes: groups.isFleet ? groups.nodes(of: incident.cause.finding, in: r) : [])
            if !incident.explained.isEmpty {
                out += "   " + paint("Explains:", "1") + "\n"
                for e in incident.explained {
                    out += "     - \(badge(e.severity)) \(safe(e.title)) [\(e.rule.id)], \(times(e.finding.count))\n"
                    for ev in e.finding.evidence.prefix(2) {
                        out += "         " + paint("\(safe(ev.input)):\(ev.line)", "2") + "  " + clip(safe(ev.text), width - 12, focus: focus(e)) + "\n"
                    }
                }
            }
        }
        if !report.unrecognisedFirst { out += unrecognised(report) }
        out += belowThreshold(report)
        out += "\n"
        if !report.noise.isEmpty {
            out += paint("Known noise", "1") + " (harmless, not causes): \(r.noiseLines) line\(r.noiseLines == 1 ? "" : "s")\n"
            for n in report.noise {
                out += "  \(String(n.count).leftPad(6))  \(n.rule.title) [\(n.rule.id)]\n"
            }
        }
        for (rule, hit) in report.patternLimits {
            out += paint("Pattern limit", "1;33") + ": rule [\(rule.id)] ran out of its match budget (\(safe(hit.reason))) on "
                + "\(hit.count) line\(hit.count == 1 ? "" : "s"), first \(safe(hit.input)):\(hit.line); such a line may hold a match that was not seen.\n"
        }
        for i in inputs.prefix(5) where i.yearGuess != nil {
            out += paint("Year guessed", "1") + ": \(safe(i.name)) states no year; its lines are dated \(i.yearGuess!) (set it with --year).\n"
        }
        if fileTable, inputs.count > 1 || inputs.contains(where: { $0.problem != nil }) { out += fileTable(report, inputs) }
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
            let shown = safe(i.name)
            let name = shown.count > nameWidth ? "…" + shown.suffix(nameWidth - 1) : shown
            out += "  " + name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
            if let problem = i.problem {
                out += paint(safe(problem), "33") + "\n"
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
        var out = "\(badge(f.severity)) " + paint(safe(f.title), "1") + "  " + paint("[\(f.rule.id)]", "2") + "\n"
        if let ev = f.finding.evidence.first {
            out += "  " + paint("\(safe(ev.input)):\(ev.line)", "2") + "  " + clip(safe(ev.text), width - 6, focus: focus(f)) + "\n"
        }
        out += "  " + paint("Cause:", "1") + " " + wrap(safe(f.cause), indent: 9, first: 9) + "\n"
        out += "  " + paint("Fix:", "1;32") + " " + wrap(safe(f.fix), indent: 7, first: 7) + "\n"
        return out
    }

    /// An unrecognised error as it arrives in follow mode: its first line and template.
    public func live(_ g: UnrecognisedGroup) -> String {
        var out = "\(badge(g.severity)) " + paint("Not recognised", "1") + (g.component.map { "  (\($0.name))" } ?? "") + "\n"
        if let ev = g.evidence.first {
            out += "  " + paint("\(safe(ev.input)):\(ev.line)", "2") + "  " + clip(safe(ev.text), width - 6) + "\n"
        }
        out += "  " + paint("Template:", "1") + " " + safe(g.template) + "\n"
        return out
    }

    /// The short summary follow prints when it stops: each incident with its count.
    public func summary(_ report: Report) -> String {
        var out = "\n" + paint("Stopped.", "1") + " "
        let r = report.results
        out += "\(r.lines) line\(r.lines == 1 ? "" : "s") read, \(r.noiseLines) known noise, "
        out += report.incidents.isEmpty ? "no known failure found" : "\(report.incidents.count) incident\(report.incidents.count == 1 ? "" : "s")"
        if !report.unrecognised.isEmpty { out += ", \(report.unrecognised.count) kind\(report.unrecognised.count == 1 ? "" : "s") of unrecognised error" }
        out += report.incidents.isEmpty ? ".\n" : ":\n"
        for (k, i) in report.incidents.enumerated() {
            out += "  \(k + 1). \(badge(i.cause.severity)) \(safe(i.cause.title)) [\(i.cause.rule.id)] ×\(i.cause.finding.count)"
            if !i.explained.isEmpty { out += ", explains \(i.explained.map(\.rule.id).joined(separator: ", "))" }
            out += "\n"
        }
        return out
    }

    func times(_ n: Int) -> String { n == 1 ? "1 line" : "\(n) lines" }

    /// `s` as one shell word that runs nothing when pasted: single quotes, each `'` as `'\''`.
    static func shellQuoted(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The first line: what was found, never an all-clear while an error went unexplained.
    func headline(_ report: Report) -> String {
        let u = report.unrecognisedErrors.count
        let kinds = "\(u) kind\(u == 1 ? "" : "s") of error no rule recognises"
        if !report.incidents.isEmpty {
            let n = report.incidents.count
            var line = paint("\(n) incident\(n == 1 ? "" : "s") found", "1") + " (most important first)"
            if u > 0 { line += ", and \(kinds)" }
            return line
        }
        if u > 0 {
            return paint("No known failure found, but \(kinds)", "1;33") + " (the first is the most likely cause)"
        }
        if !report.belowThreshold.isEmpty {
            let b = report.belowThreshold.count
            return paint("No failure found at its threshold", "1") + "; \(b) seen fewer times than \(b == 1 ? "its rule needs" : "their rules need")"
        }
        if !report.unrecognisedShown.isEmpty {
            let w = report.unrecognisedShown.count
            return paint("No known failure found", "32") + ", and no error-level line went unexplained; "
                + "\(w) kind\(w == 1 ? "" : "s") of warning no rule knows, below"
        }
        return paint("No known failure found", "32") + ", and no error-level line went unexplained."
    }

    /// Error-level lines no rule knows, grouped by template, the most likely cause first.
    func unrecognised(_ report: Report) -> String {
        let shown = report.unrecognisedShown
        guard !shown.isEmpty else { return "" }
        let warningsOnly = report.unrecognisedErrors.isEmpty
        var out = "\n" + paint(warningsOnly ? "Warnings not recognised" : "Not recognised", "1")
            + (warningsOnly ? " (no error-level line went unexplained; these warnings no rule knows, the first is the most likely to matter)\n"
                : " (no rule knows these; the first is the most likely cause)\n")
        for (k, g) in shown.prefix(unrecognisedShown).enumerated() {
            var head = "\(k + 1). \(badge(g.severity)) "
            if let c = g.component { head += "\(c.name), " }
            head += times(g.count)
            if let a = g.first, let b = g.last { head += a == b ? ", at \(a.rfc3339)" : ", \(a.rfc3339) to \(b.rfc3339)" }
            var why: [String] = []
            let kind = g.severity >= .error ? "error" : "warning"
            if g.beforeExit { why.append("the last \(kind) before its process exited") } else if g.endOfInput {
                why.append("the last \(kind) of its log")
            }
            if g.firstInInput { why.append("the first unexplained line of its log") }
            if g.relayed { why.append("reported by another component") }
            if !why.isEmpty { head += " (" + why.joined(separator: "; ") + ")" }
            out += head + "\n"
            out += "   " + paint("Template:", "1") + " " + safe(g.template) + "\n"
            for ev in g.evidence.prefix(3) {
                out += "     " + paint("\(safe(ev.input)):\(ev.line)\(ev.quoted ? " (quoted)" : "")", "2") + "  " + clip(safe(ev.text), width - 8) + "\n"
            }
            if g.count > min(3, g.evidence.count) { out += "     … and \(g.count - min(3, g.evidence.count)) more\n" }
        }
        let rest = shown.count - unrecognisedShown
        if rest > 0 { out += "   … and \(rest) more kind\(rest == 1 ? "" : "s") (-o json lists them all)\n" }
        if report.inBaseline > 0 { out += "   (\(report.inBaseline) more seen in the baseline too, left out)\n" }
        if report.results.unrecognised.droppedGroups > 0 {
            let d = report.results.unrecognised
            out += "   (\(d.droppedGroups) rarely seen kinds, \(d.droppedLines) lines, were dropped to keep memory bounded)\n"
        }
        if let ev = shown.first?.evidence.first {
            out += "   Turn one into a rule: logdiag rules new --from \(TextRenderer.shellQuoted(safe(ev.input) + ":\(ev.line)"))\n"
        }
        return out
    }

    /// Threshold rules that matched, but fewer times than they ask.
    func belowThreshold(_ report: Report) -> String {
        guard !report.belowThreshold.isEmpty else { return "" }
        var out = "\n" + paint("Below threshold", "1") + " (seen, but fewer times than the rule needs to call it a failure)\n"
        for f in report.belowThreshold {
            let th = f.rule.threshold?.text ?? ""
            out += "   - \(badge(f.severity)) \(safe(f.title)) [\(f.rule.id)]: seen \(f.finding.count == 1 ? "once" : "\(f.finding.count) times")"
            out += " (the rule asks for \(th)); normal in the first minutes after start-up, a problem if it persists\n"
            for ev in f.finding.evidence.prefix(2) {
                out += "       " + paint("\(safe(ev.input)):\(ev.line)", "2") + "  " + clip(safe(ev.text), width - 10, focus: focus(f)) + "\n"
            }
        }
        return out
    }

    /// Several nodes' logs: each cause with how many of the nodes show it, most first.
    func acrossNodes(_ g: NodeGroups) -> String {
        var out = "\n" + paint("Across \(g.nodes.count) nodes", "1") + " (\(safe(g.nodes.joined(separator: ", ")))):\n"
        for c in g.causes {
            let share = "\(c.nodes.count) of \(g.nodes.count) nodes"
            out += "  " + paint(share, "1") + ": \(badge(c.rule.severity)) \(safe(c.title)) [\(c.rule.id)]"
                + (c.nodes.count == g.nodes.count ? "" : " (\(safe(c.nodes.joined(separator: ", "))))") + "\n"
        }
        return out
    }

    func finding(_ f: ReportedFinding, number: Int, nodes: [String] = []) -> String {
        var out = "\(number). \(badge(f.severity)) " + paint(safe(f.title), "1") + "  " + paint("[\(f.rule.id)]", "2")
            + (nodes.isEmpty ? "" : "  " + paint("on " + safe(nodes.joined(separator: ", ")), "1")) + "\n"
        out += "   " + paint("Cause:", "1") + " " + wrap(safe(f.cause), indent: 10, first: 10) + "\n"
        let fixLabel = f.fixCondition.map { "Fix (\($0)):" } ?? "Fix:"
        out += "   " + paint(fixLabel, "1;32") + " " + wrap(safe(f.fix), indent: 8, first: fixLabel.count + 4) + "\n"
        if f.destructive {
            let text = "This removes data. Check first: " + safe(f.checkFirst ?? "")
            out += "   " + paint("Destructive:", "1;31") + " " + wrap(text, indent: 8, first: 16) + "\n"
        }
        if !f.otherFixes.isEmpty {
            out += "   " + paint("Other possible fixes", "1") + " (when the evidence says otherwise):\n"
            for o in f.otherFixes {
                let head = "- \(o.condition == "otherwise" ? "Otherwise" : "If " + safe(o.condition))\(o.destructive ? " (destructive)" : ""): "
                out += "     " + wrap(head + safe(o.fix), indent: 7, first: 5) + "\n"
                if o.destructive, let c = o.checkFirst { out += "       " + wrap("Check first: " + safe(c), indent: 7, first: 7) + "\n" }
            }
        }
        var span = "\(times(f.finding.count))"
        if let a = f.finding.first, let b = f.finding.last {
            span += a == b ? ", at \(a.rfc3339)" : ", \(a.rfc3339) to \(b.rfc3339)"
        }
        if f.rule.confidence != .high { span += ", confidence \(f.rule.confidence.rawValue)" }
        out += "   " + paint("Evidence", "1") + " (\(span)):\n"
        for ev in f.finding.evidence {
            let quoted = ev.quoted ? " (quoted)" : ""
            out += "     " + paint("\(safe(ev.input)):\(ev.line)\(quoted)", "2") + "  " + clip(safe(ev.text), width - 8, focus: focus(f)) + "\n"
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
