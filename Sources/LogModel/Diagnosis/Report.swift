/// A finding ready to show: the rule's texts filled in with the captures and versions.
public struct ReportedFinding: Sendable {
    public let rule: Rule
    public let finding: Finding
    /// The rule's title with its placeholders filled (generic rules name what they hit).
    public let title: String
    public let cause: String
    public let fix: String
    /// The condition that chose the fix, when one did.
    public let fixCondition: String?
    /// The chosen fix removes data: what to check before running it.
    public var destructive = false
    public var checkFirst: String?
    /// The rule's other fixes, for the situations the evidence did not select.
    public var otherFixes: [(condition: String, fix: String, destructive: Bool, checkFirst: String?)] = []
    /// The rule has a threshold and matched fewer times than it asks: shown, never counted.
    public var belowThreshold = false
    /// For a folded finding: the cause that explains it, by rule id and its first evidence line,
    /// and how far apart in time they are (nil when either has no time).
    public var explainedBy: (rule: String, evidence: Evidence?, gapSeconds: Int?)?
    public var severity: Severity { rule.severity }
}

/// A root cause with the findings it explains.
public struct Incident: Sendable {
    public let cause: ReportedFinding
    public let explained: [ReportedFinding]
}

/// The whole answer: incidents ranked most important first, the noise, and what was read.
public struct Report: Sendable {
    public let incidents: [Incident]
    public let noise: [(rule: Rule, count: Int, example: Evidence?)]
    public let results: DiagnosisResults
    /// Error-level events no rule explained, grouped by template, the most likely cause first.
    public let unrecognised: [UnrecognisedGroup]
    /// Warning-level lines no rule explained, grouped the same way: shown when nothing at error
    /// level is, so that even then the report points at lines.
    public let unrecognisedWarnings: [UnrecognisedGroup]
    /// Unrecognised groups left out because a healthy baseline has the same template.
    public let inBaseline: Int
    /// Threshold rules that matched fewer times than their threshold, one entry per rule.
    public let belowThreshold: [ReportedFinding]
    /// Rules whose pattern ran out of its match budget on some line: such a line may hold a
    /// match that was not seen, so the report says so.
    public let patternLimits: [(rule: Rule, hit: PatternLimitHit)]

    /// Ranks findings and folds consequences into their causes (`explains`).
    /// `versionOverrides` (from `--version COMPONENT=VERSION`) win over versions read from the logs.
    public init(results: DiagnosisResults, ruleSet: RuleSet, versionOverrides: [String: Version] = [:],
                baseline: TemplateMiner? = nil) {
        self.results = results
        patternLimits = results.patternLimits.keys.sorted().map { (ruleSet.rules[$0], results.patternLimits[$0]!) }
        let findings = Report.mergeUnkeyed(results.allFindings.filter(\.thresholdMet))
        let foundRules = Set(findings.map { ruleSet.rules[$0.ruleIndex].id })
        func version(_ component: String, _ f: Finding) -> Version? {
            if let v = versionOverrides[component] ?? results.versions[component] { return v }
            // A version line with no component, from the same input as the finding.
            for i in f.inputs.sorted() { if let v = results.inputVersions[i] { return v } }
            return nil
        }
        func render(_ f: Finding) -> ReportedFinding {
            let rule = ruleSet.rules[f.ruleIndex]
            var fix = rule.fix
            var condition: String?
            var usedVersion: Version?
            var chosen: Int?
            // The first fix whose every condition holds; a destructive one only when a capture or
            // another finding proves it, never on a version alone.
            for (n, vf) in rule.fixes.enumerated() {
                if let c = vf.condition, c.holds({ version($0, f) }) != true { continue }
                var said: [String] = []
                let capturesHold = vf.captures.sorted(by: { $0.key < $1.key }).allSatisfy { name, words in
                    guard let value = f.captures[name]?.lowercased(),
                          let word = words.first(where: { value.contains($0.lowercased()) }) else { return false }
                    said.append("\(name) says \"\(word)\"")
                    return true
                }
                guard capturesHold, vf.findings.isEmpty || vf.findings.contains(where: foundRules.contains) else { continue }
                if vf.destructive && !vf.evidenceConditions { continue }
                fix = vf.fix
                // The label names what the evidence said, not every word the rule knows.
                let found = vf.findings.filter(foundRules.contains)
                condition = ([vf.condition?.description].compactMap { $0 } + said
                             + (found.isEmpty ? [] : ["with " + found.joined(separator: ", ")])).joined(separator: ", ")
                usedVersion = vf.condition?.clauses.first.flatMap { version($0.component, f) }
                chosen = n
                break
            }
            let componentName = f.component?.name ?? rule.components.first ?? ""
            let v = usedVersion ?? version(componentName, f)
            var values = f.captures
            values["component"] = values["component"] ?? (componentName.isEmpty ? "the component" : componentName)
            values["version"] = values["version"] ?? v?.description ?? "unknown version"
            for (capture, kind) in rule.lookup.sorted(by: { $0.key < $1.key }) {
                guard let table = ruleSet.tables[kind] else { continue }
                if let value = values[capture], !value.isEmpty {
                    values.merge(table.values(for: capture, value: value)) { a, _ in a }
                } else {
                    values["\(capture)_label"] = "the \(kind.rawValue) it names"
                    values["\(capture)_owner"] = "an unknown owner"
                    values["\(capture)_what"] = ""
                }
            }
            let cause = chosen.flatMap { rule.fixes[$0].cause } ?? rule.cause
            var r = ReportedFinding(rule: rule, finding: f, title: Template.fill(rule.title, values).capitalisedFirst,
                                    cause: Template.fill(cause, values).capitalisedFirst,
                                    fix: Template.fill(fix, values).capitalisedFirst, fixCondition: condition)
            if let chosen {
                r.destructive = rule.fixes[chosen].destructive
                r.checkFirst = rule.fixes[chosen].checkFirst.map { Template.fill($0, values).capitalisedFirst }
            }
            // What the evidence did not select: version-only alternatives are not "other causes"
            // (the version decides), the evidence-conditioned ones and the default are.
            if !rule.fixes.contains(where: \.evidenceConditions) { return r }
            if chosen != nil { r.otherFixes.append(("otherwise", Template.fill(rule.fix, values).capitalisedFirst, false, nil)) }
            for (n, vf) in rule.fixes.enumerated() where n != chosen && vf.evidenceConditions {
                r.otherFixes.append((vf.description, Template.fill(vf.fix, values).capitalisedFirst, vf.destructive,
                                     vf.checkFirst.map { Template.fill($0, values).capitalisedFirst }))
            }
            return r
        }

        // Which finding explains which: the explaining rule lists the other's id, and key values they
        // share (host, pod) agree.
        var parent = [Int?](repeating: nil, count: findings.count)
        for (gi, g) in findings.enumerated() {
            let gid = ruleSet.rules[g.ruleIndex].id
            var best: Int?
            for (fi, f) in findings.enumerated() where fi != gi {
                let fr = ruleSet.rules[f.ruleIndex]
                guard fr.explains.contains(gid), Report.compatible(f, g, ruleSet),
                      Report.sameNode(f, g, results), Report.close(f, g, within: fr.explainsWithin, results) else { continue }
                if best == nil || fr.severity > ruleSet.rules[findings[best!].ruleIndex].severity { best = fi }
            }
            parent[gi] = best
        }
        func root(_ i: Int) -> Int {
            var r = i
            var steps = 0
            while let p = parent[r], steps < findings.count { r = p; steps += 1 }
            return steps >= findings.count ? i : r  // a cycle: leave it on its own
        }
        var groups: [Int: [Int]] = [:]
        for i in findings.indices {
            let r = root(i)
            if r != i { groups[r, default: []].append(i) }
        }
        var incidents: [Incident] = []
        for i in findings.indices where root(i) == i {
            let causeRule = ruleSet.rules[findings[i].ruleIndex].id
            let explained = (groups[i] ?? []).map { j -> ReportedFinding in
                var r = render(findings[j])
                var gap: Int?
                if let af = findings[i].first, let al = findings[i].last ?? findings[i].first,
                   let bf = findings[j].first, let bl = findings[j].last ?? findings[j].first {
                    gap = Int(max(0, max(af.nanos, bf.nanos) - min(al.nanos, bl.nanos)) / 1_000_000_000)
                }
                r.explainedBy = (causeRule, findings[i].evidence.first, gap)
                return r
            }
                .sorted { ($0.severity, $0.finding.count) > ($1.severity, $1.finding.count) }
            incidents.append(Incident(cause: render(findings[i]), explained: explained))
        }
        incidents.sort { a, b in
            if a.cause.severity != b.cause.severity { return a.cause.severity > b.cause.severity }
            let ca = Report.confidenceRank(a.cause.rule.confidence), cb = Report.confidenceRank(b.cause.rule.confidence)
            if ca != cb { return ca > cb }
            if a.explained.count != b.explained.count { return a.explained.count > b.explained.count }
            let fa = a.cause.finding.first?.nanos ?? .max, fb = b.cause.finding.first?.nanos ?? .max
            if fa != fb { return fa < fb }
            return a.cause.rule.id < b.cause.rule.id
        }
        self.incidents = incidents
        noise = results.noise.map { (ruleSet.rules[$0.ruleIndex], $0.count, $0.example) }
            .sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0.id < $1.0.id) }

        // Below the threshold: one entry per rule that never met it anywhere.
        let reportedRules = Set(findings.map(\.ruleIndex))
        var below: [Int: Finding] = [:]
        for f in results.belowThresholdFindings where !reportedRules.contains(f.ruleIndex) {
            if var old = below[f.ruleIndex] { old.merge(f, evidenceLimit: 5); below[f.ruleIndex] = old } else { below[f.ruleIndex] = f }
        }
        belowThreshold = below.keys.sorted().map { k in
            var r = render(below[k]!)
            r.belowThreshold = true
            return r
        }.sorted { ($0.severity, $1.rule.id) > ($1.severity, $0.rule.id) }

        var known = 0
        func unknown(_ groups: [UnrecognisedGroup]) -> [UnrecognisedGroup] {
            guard let baseline else { return groups }
            return groups.filter { g in
                if baseline.knows(g.tokens) { known += 1; return false }
                return true
            }
        }
        // Errors, and the warnings that say what is wrong, are ranked together: a cascade often
        // starts with a warning ("already using the IPv4 address") and ends in an error summary.
        let warnings = unknown(results.unrecognisedWarnings.groups)
        unrecognised = UnrecognisedGroup.rankedTogether(unknown(results.unrecognised.groups) + warnings.filter(\.isTellingWarning))
        unrecognisedWarnings = UnrecognisedGroup.rankedTogether(warnings.filter { !$0.isTellingWarning })
        inBaseline = known
    }

    /// A finding whose key captures are all missing (the line named no host) joins the finding of
    /// the same rule that has them, when there is exactly one: the same failure seen from two sides.
    static func mergeUnkeyed(_ findings: [Finding]) -> [Finding] {
        var out = findings
        var removed = Set<Int>()
        for (i, f) in findings.enumerated() where !f.keyValues.isEmpty && f.keyValues.allSatisfy(\.isEmpty) {
            let keyed = findings.indices.filter { j in
                j != i && findings[j].ruleIndex == f.ruleIndex && !findings[j].keyValues.allSatisfy(\.isEmpty)
            }
            guard keyed.count == 1 else { continue }
            out[keyed[0]].merge(f, evidenceLimit: max(5, f.evidence.count + out[keyed[0]].evidence.count))
            removed.insert(i)
        }
        return out.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }

    static func confidenceRank(_ c: Rule.Confidence) -> Int {
        switch c { case .high: 2; case .medium: 1; case .low: 0 }
    }

    static let hostKeys: Set<String> = ["host", "node", "hostname", "nodename", "pod"]

    /// A cause explains a symptom on the same node: their host captures agree (`compatible`), or,
    /// when one of them names no host, they come from the same node's inputs (`nodeScope`), or the
    /// cause's inputs are named after the host the symptom names (a bundle's `node1-...` folder).
    static func sameNode(_ cause: Finding, _ symptom: Finding, _ results: DiagnosisResults) -> Bool {
        let ch = cause.captures.filter { hostKeys.contains($0.key) && !$0.value.isEmpty }
        let sh = symptom.captures.filter { hostKeys.contains($0.key) && !$0.value.isEmpty }
        if !ch.isEmpty, !sh.isEmpty, ch.contains(where: { sh[$0.key] != nil }) { return true }  // compared by `compatible`
        func scopes(_ f: Finding) -> Set<String> {
            Set(f.inputs.compactMap { $0 < results.inputs.count ? nodeScope(results.inputs[$0]) : nil }
                + f.evidence.map { nodeScope($0.input) })
        }
        if !scopes(cause).isDisjoint(with: scopes(symptom)) { return true }
        let causeInputs = cause.inputs.compactMap { $0 < results.inputs.count ? results.inputs[$0] : nil }
        return sh.values.contains { host in host.count >= 3 && causeInputs.contains { $0.contains(host) } }
    }

    /// Folders of a node's log layout: what lies below one of them belongs to the node above it.
    static let layoutFolders: Set<String> = ["rke", "rke2", "k3s", "journald", "containerlogs", "systeminfo",
                                             "networking", "var", "pods", "containers", "kubelet",
                                             "docker", "k8s", "kubernetes", "rancher", "etcd", "journal"]

    /// The node an input belongs to, by its name: its folder, cut before the first layout folder
    /// (`b.tgz:node1/rke/containerlogs/kube-proxy` and `saved/node1/journald/kubelet` are
    /// `...node1`; `/var/log/pods/...` is the machine's own; a logs-collector tarball with its
    /// layout folders at the top is the tarball). Standard input is its own node.
    static func nodeScope(_ name: String) -> String {
        // An archive member (`bundle.tgz:member/path`): the archive, then the member's own folders.
        if let colon = name.firstIndex(of: ":") {
            return String(name[...colon]) + folderScope(String(name[name.index(after: colon)...]))
        }
        return folderScope(name)
    }

    /// A path's folders up to the first layout folder (`node1/rke/containerlogs/x` is `node1`).
    private static func folderScope(_ path: String) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return "" }
        parts.removeLast()
        var kept: [String] = []
        for p in parts {
            if layoutFolders.contains(p.lowercased()) { break }
            if p == "." && kept.isEmpty { continue }
            kept.append(p)
        }
        return kept.joined(separator: "/")
    }

    /// The two findings' time ranges are at most `within` apart. Inputs with a guessed year are
    /// compared by time of year: a guess may be whole years off. Findings without times pass.
    static func close(_ a: Finding, _ b: Finding, within: Int64, _ results: DiagnosisResults) -> Bool {
        guard let af = a.first, let al = a.last ?? a.first, let bf = b.first, let bl = b.last ?? b.first else { return true }
        let gap = max(0, max(af.nanos, bf.nanos) - min(al.nanos, bl.nanos))
        if gap <= within { return true }
        let guessed = !results.guessedYearInputs.isDisjoint(with: a.inputs) || !results.guessedYearInputs.isDisjoint(with: b.inputs)
        guard guessed else { return false }
        let year: Int64 = 31_557_600_000_000_000  // 365.25 days
        let d = abs(af.nanos - bf.nanos) % year
        return min(d, year - d) <= within + (al.nanos - af.nanos) + (bl.nanos - bf.nanos)
    }

    static func compatible(_ a: Finding, _ b: Finding, _ rs: RuleSet) -> Bool {
        for (k, v) in a.captures where ["host", "pod", "node"].contains(k) {
            if let w = b.captures[k], w != v { return false }
        }
        return true
    }

    /// The most severe finding, folded ones included.
    public var worstSeverity: Severity? {
        (incidents.flatMap { [$0.cause.severity] + $0.explained.map(\.severity) }
            + unrecognised.map(\.severity).filter { $0 >= .error }).max()
    }

    /// True when nothing at all was reported: no incident, no unrecognised error, nothing below a threshold.
    public var isSilent: Bool { incidents.isEmpty && unrecognised.isEmpty && belowThreshold.isEmpty && unrecognisedWarnings.isEmpty }

    /// The unrecognised groups a person is shown: the error-level ones, or when there are none and
    /// no incident, the warnings.
    public var unrecognisedShown: [UnrecognisedGroup] {
        if !unrecognised.isEmpty || !incidents.isEmpty { return unrecognised }
        return unrecognisedWarnings
    }

    /// Error-level unrecognised groups (the ones that count for `--fail-on` and for noise-only cases).
    public var unrecognisedErrors: [UnrecognisedGroup] { unrecognised.filter { $0.severity >= .error } }

    /// An unrecognised group more severe than every incident is what the report shows first.
    /// So does an unrecognised error as severe as an incident that is only a generic symptom
    /// (a refused connection, a time-out: low-confidence generic rules).
    public var unrecognisedFirst: Bool {
        guard let u = unrecognised.first else { return false }
        guard let i = incidents.first else { return true }
        if u.severity > i.cause.severity { return true }
        return u.severity == i.cause.severity && i.cause.rule.generic && i.cause.rule.confidence == .low
            && u.severity >= .error
    }

    public var findingCount: Int { incidents.reduce(0) { $0 + 1 + $1.explained.count } }
}

extension String {
    /// A sentence that starts with a placeholder filled by a common word ("{component} could not"
    /// as "the component could not", "{port_label}" as "port 8080") starts with a capital;
    /// component names ("kube-proxy") stay as they are spelt.
    var capitalisedFirst: String {
        guard let f = first, f.isLowercase else { return self }
        let word = prefix { $0.isLetter }
        guard ["the", "a", "an", "port", "nothing", "no"].contains(String(word)) else { return self }
        return f.uppercased() + dropFirst()
    }
}

/// `{name}` placeholders in cause and fix texts.
public enum Template {
    public static func fill(_ text: String, _ values: [String: String]) -> String {
        var out = ""
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == "{", let close = text[i...].firstIndex(of: "}") {
                let name = String(text[text.index(after: i)..<close])
                if let v = values[name] {
                    out += v
                    i = text.index(after: close)
                    continue
                }
            }
            out.append(text[i])
            i = text.index(after: i)
        }
        return out
    }

    /// Placeholder names used in `text`.
    public static func names(in text: String) -> [String] {
        var names: [String] = []
        var i = text.startIndex
        while let open = text[i...].firstIndex(of: "{"), let close = text[open...].firstIndex(of: "}") {
            let name = String(text[text.index(after: open)..<close])
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { names.append(name) }
            i = text.index(after: close)
        }
        return names
    }
}
