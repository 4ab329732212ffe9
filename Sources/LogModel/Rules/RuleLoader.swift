import Yams

/// Reads rule files (the built-in library and users' files share one schema) into `Rule`s,
/// collecting every error with its file and line rather than stopping at the first.
public enum RuleLoader {
    static let idShape = try! PCRE2Pattern(#"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$"#)
    static let ruleKeys: Set<String> = [
        "id", "title", "severity", "confidence", "noise", "match", "key", "threshold", "explains", "explains-within", "overlaps",
        "cause", "fix", "fixes", "references", "samples", "generic", "lookup",
    ]
    static let matchKeys: Set<String> = ["literals", "pattern", "component", "severity", "format", "field"]

    /// A YAML 1.1 boolean scalar (`true`, `yes`, `on`, ...), as Yams' default resolver reads it.
    static func flag(_ n: Node) -> Bool? {
        guard let s = n.scalar, s.style == .plain else { return nil }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    /// A plain decimal integer scalar.
    static func integer(_ n: Node) -> Int? {
        guard let s = n.scalar, s.style == .plain else { return nil }
        return Int(s.string)
    }

    /// Parses `text` (the contents of `file`). Rules that have errors are left out of `rules`.
    public static func load(text: String, file: String) -> (rules: [Rule], errors: [RuleFileError]) {
        var errors: [RuleFileError] = []
        let root: Node
        do {
            // The basic resolver reads every plain scalar as a string: Yams' default one runs a
            // Foundation regular expression per scalar to guess its type, over half of start-up.
            // The two typed keys (`noise`, `threshold.count`) are read by `flag` and `integer`.
            guard let node = try compose(text) else {
                return ([], [RuleFileError(file: file, line: 1, ruleID: nil, message: "the file holds no rules")])
            }
            root = node
        } catch let e as RuleFileError.Reason {
            return ([], [RuleFileError(file: file, line: 1, ruleID: nil, message: e.message)])
        } catch let e as YamlError {
            return ([], [RuleFileError(file: file, line: yamlLine(e), ruleID: nil, message: "YAML: \(yamlMessage(e))")])
        } catch {
            return ([], [RuleFileError(file: file, line: 1, ruleID: nil, message: "YAML: \(error)")])
        }
        guard let list = root.mapping?["rules"]?.sequence else {
            return ([], [RuleFileError(file: file, line: line(root), ruleID: nil,
                                       message: "expected a top-level `rules:` list")])
        }
        var rules: [Rule] = []
        for node in list {
            var ruleErrors: [RuleFileError] = []
            if let rule = parseRule(node, file: file, errors: &ruleErrors), ruleErrors.isEmpty {
                rules.append(rule)
            }
            errors += ruleErrors
        }
        return (rules, errors)
    }

    /// Composes a rule or table file. Anchors and aliases are refused before parsing: a few
    /// hundred bytes of nested aliases expand to billions of nodes, and rule files do not need them.
    static func compose(_ text: String) throws -> Node? {
        if let line = anchorLine(text) {
            throw RuleFileError.Reason("YAML anchors and aliases (&name, *name) are not allowed in rule files (line \(line))")
        }
        if text.utf8.count > 16 << 20 { throw RuleFileError.Reason("the file is larger than 16 MiB") }
        if nestsDeeperThan(256, Array(text.utf8)) {
            throw RuleFileError.Reason("YAML nested more than 256 levels deep ([[[... or {{{...)")
        }
        return try Yams.compose(yaml: text, Resolver.basic)
    }

    /// True when `[`/`{` outrun `]`/`}` by more than `limit` anywhere: the YAML composer recurses
    /// once per flow level, and a few megabytes of `[` would exhaust the stack. Quotes are not
    /// tracked, so no quoting can hide a level (text needs hundreds of open brackets to trip it).
    static func nestsDeeperThan(_ limit: Int, _ bytes: [UInt8]) -> Bool {
        var depth = 0
        for b in bytes {
            switch b {
            case 0x5B, 0x7B:
                depth += 1
                if depth > limit { return true }
            case 0x5D, 0x7D: depth = max(0, depth - 1)
            default: break
            }
        }
        return false
    }

    /// The first line with a YAML anchor or alias where a node may start: after `key: `, `- `,
    /// `[`, `{`, `,` or at the start of a line. Quoted text is skipped.
    static func anchorLine(_ text: String) -> Int? {
        var t = text
        return t.withUTF8 { bytes -> Int? in
            var lineNumber = 1
            var quote: UInt8 = 0
            var previous: UInt8 = 0x20
            var atNodeStart = true
            var comment = false
            for c in bytes {
                defer { previous = c }
                if c == 0x0A {
                    lineNumber += 1
                    quote = 0
                    atNodeStart = true
                    comment = false
                    continue
                }
                if comment { continue }
                if quote != 0 {
                    if c == quote { quote = 0 }
                    continue
                }
                if c == 0x23, previous == 0x20 || previous == 0x0A { comment = true; continue }  // #
                if atNodeStart {
                    if c == 0x20 { continue }
                    if c == 0x26 || c == 0x2A { return lineNumber }  // & *
                    if c == 0x27 || c == 0x22 { quote = c; atNodeStart = false; continue }
                    if c == 0x5B || c == 0x7B { continue }
                }
                if c == 0x20 {
                    atNodeStart = previous == 0x3A || previous == 0x2D || previous == 0x2C  // : - ,
                } else {
                    atNodeStart = c == 0x5B || c == 0x7B
                }
            }
            return nil
        }
    }

    static func line(_ node: Node?) -> Int { (node?.mark?.line).map { $0 } ?? 1 }

    static func yamlLine(_ e: YamlError) -> Int {
        switch e {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 1
        }
    }

    static func yamlMessage(_ e: YamlError) -> String {
        switch e {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            return [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
        default: return "\(e)"
        }
    }

    private static func parseRule(_ node: Node, file: String, errors: inout [RuleFileError]) -> Rule? {
        guard let map = node.mapping else {
            errors.append(RuleFileError(file: file, line: line(node), ruleID: nil, message: "a rule must be a mapping"))
            return nil
        }
        let id = map["id"]?.string
        let errorsBefore = errors.count
        func fail(_ at: Node?, _ message: String) {
            errors.append(RuleFileError(file: file, line: line(at ?? node), ruleID: id, message: message))
        }
        for (k, _) in map where !ruleKeys.contains(k.string ?? "") {
            fail(k, "unknown key `\(k.string ?? "?")`")
        }
        guard let id else { fail(node, "missing `id`"); return nil }
        if !id.utf8CString.withUnsafeBufferPointer({ p in
            let bytes = UnsafeRawBufferPointer(start: p.baseAddress, count: p.count - 1).bindMemory(to: UInt8.self)
            return idShape.matches(bytes, scratch: idShape.makeScratch())
        }) {
            fail(map["id"], "id must look like `area.kebab-name` (lowercase, digits, dashes, dot-separated)")
        }
        func text(_ key: String, required: Bool = true) -> String? {
            guard let v = map[key] else {
                if required { fail(node, "missing `\(key)`") }
                return nil
            }
            guard let s = v.string, !s.isEmpty else { fail(v, "`\(key)` must be a non-empty string"); return nil }
            return s
        }
        func strings(_ n: Node?, _ key: String) -> [String] {
            guard let n else { return [] }
            if let s = n.scalar?.string { return [s] }
            guard let seq = n.sequence else { fail(n, "`\(key)` must be a list of strings"); return [] }
            return seq.compactMap { item in
                if let s = item.scalar?.string { return s }
                fail(item, "`\(key)` must be a list of strings")
                return nil
            }
        }
        let title = text("title") ?? ""
        var severity = Severity.error
        if let s = text("severity") {
            if let v = Severity(name: s) { severity = v } else { fail(map["severity"], "unknown severity `\(s)`") }
        }
        var confidence = Rule.Confidence.high
        if let c = map["confidence"]?.string {
            if let v = Rule.Confidence(rawValue: c) { confidence = v } else { fail(map["confidence"], "confidence must be high, medium or low") }
        }
        var noise = false
        if let n = map["noise"] {
            guard let b = flag(n) else { fail(n, "`noise` must be true or false"); return nil }
            noise = b
        }

        guard let matchNode = map["match"], let match = matchNode.mapping else {
            fail(map["match"], "missing `match` mapping with `pattern` and `literals`")
            return nil
        }
        for (k, _) in match where !matchKeys.contains(k.string ?? "") { fail(k, "unknown key `match.\(k.string ?? "?")`") }
        let pattern = match["pattern"]?.string ?? ""
        if pattern.isEmpty { fail(matchNode, "missing `match.pattern`") }
        let literals = strings(match["literals"], "match.literals")
        if literals.isEmpty { fail(matchNode, "missing `match.literals`: the prefilter needs at least one") }
        for l in literals where l.isEmpty { fail(match["literals"], "an empty literal would match every line") }
        let components = strings(match["component"], "match.component")
        for c in components where Component(name: c) == nil {
            fail(match["component"], "unknown component `\(c)` (known: \(Component.names.joined(separator: ", ")))")
        }
        var severities: [Severity] = []
        for s in strings(match["severity"], "match.severity") {
            if let v = Severity(name: s) { severities.append(v) } else { fail(match["severity"], "unknown severity `\(s)`") }
        }
        var formats: [PayloadFormat] = []
        for f in strings(match["format"], "match.format") {
            if let v = PayloadFormat(name: f) { formats.append(v) } else {
                fail(match["format"], "unknown format `\(f)` (known: \(PayloadFormat.allCases.map(\.description).joined(separator: ", ")))")
            }
        }
        let field = match["field"]?.string
        var generic = false
        if let g = map["generic"] {
            if let b = flag(g) { generic = b } else { fail(g, "`generic` must be true or false") }
        }
        var lookup: [String: KnowledgeTable.Kind] = [:]
        if let l = map["lookup"] {
            if let m = l.mapping {
                for (k, v) in m {
                    guard let name = k.string, let kind = v.string.flatMap(KnowledgeTable.Kind.init(rawValue:)) else {
                        fail(v, "`lookup` maps a capture to a table: port or path")
                        continue
                    }
                    lookup[name] = kind
                }
            } else {
                fail(l, "`lookup` must be a mapping of capture names to tables (port, path)")
            }
        }

        var threshold: Rule.Threshold?
        if let t = map["threshold"] {
            if let m = t.mapping, let count = m["count"].flatMap(integer), count >= 1, count <= 1_000_000, let within = m["within"]?.string,
               let nanos = parseDuration(within) {
                threshold = Rule.Threshold(count: count, within: nanos, text: "at least \(count) within \(within)")
            } else {
                fail(t, "`threshold` needs `count` (1 to 1000000) and `within` (like 30s, 5m, 1h; at most 720h)")
            }
        }

        var fixes: [Rule.VersionedFix] = []
        if let f = map["fixes"] {
            for item in f.sequence ?? [] {
                guard let m = item.mapping, let fix = m["fix"]?.string,
                      m["when"] != nil || m["when-capture"] != nil || m["when-finding"] != nil else {
                    fail(item, "each of `fixes` needs `fix` and a condition: `when` (versions), `when-capture` or `when-finding`")
                    continue
                }
                for (k, _) in m where !["when", "when-capture", "when-finding", "fix", "cause", "destructive", "check-first"].contains(k.string ?? "") {
                    fail(k, "unknown key `\(k.string ?? "")` in a fix (known: when, when-capture, when-finding, fix, cause, destructive, check-first)")
                }
                var condition: VersionCondition?
                if let when = m["when"]?.string {
                    do throws(RuleFileError.Reason) { condition = try VersionCondition(when) } catch {
                        fail(m["when"], error.message)
                        continue
                    }
                }
                var entry = Rule.VersionedFix(condition: condition, fix: fix)
                if let c = m["when-capture"] {
                    guard let cm = c.mapping, !cm.isEmpty else { fail(c, "`when-capture` maps a capture name to words it must contain"); continue }
                    for (k, v) in cm {
                        let words = v.sequence?.compactMap(\.string) ?? v.string.map { [$0] } ?? []
                        if words.isEmpty || words.contains(where: \.isEmpty) { fail(v, "`when-capture` values are words or a list of them") }
                        entry.captures[k.string ?? ""] = words
                    }
                }
                if let w = m["when-finding"] {
                    entry.findings = w.sequence?.compactMap(\.string) ?? w.string.map { [$0] } ?? []
                    if entry.findings.isEmpty { fail(w, "`when-finding` is a rule id or a list of them") }
                }
                if let d = m["destructive"] {
                    guard let text = d.string, ["true", "false"].contains(text) else { fail(d, "`destructive` is true or false"); continue }
                    entry.destructive = text == "true"
                }
                entry.checkFirst = m["check-first"]?.string
                entry.cause = m["cause"]?.string
                if entry.destructive {
                    if entry.checkFirst == nil { fail(item, "a destructive fix needs `check-first`: what to confirm before running it") }
                    if !entry.evidenceConditions { fail(item, "a destructive fix needs `when-capture` or `when-finding`: the evidence that proves it applies") }
                }
                fixes.append(entry)
            }
            if f.sequence == nil { fail(f, "`fixes` must be a list") }
        }

        var samples: [Rule.Sample] = []
        if let s = map["samples"]?.mapping {
            for (key, shouldMatch) in [("match", true), ("no-match", false)] {
                for item in s[key]?.sequence ?? [] {
                    if let lineText = item.scalar?.string {
                        samples.append(.init(line: lineText, shouldMatch: shouldMatch, captures: nil, file: file,
                                             lineNumber: line(item)))
                    } else if let m = item.mapping, let lineText = m["line"]?.string {
                        var caps: [String: String]?
                        if let c = m["captures"]?.mapping {
                            caps = [:]
                            for (k, v) in c { caps![k.string ?? ""] = v.string ?? "" }
                        }
                        samples.append(.init(line: lineText, shouldMatch: shouldMatch, captures: caps, file: file,
                                             lineNumber: line(m["line"])))
                    } else {
                        fail(item, "a sample is a line, or a mapping with `line` and `captures`")
                    }
                }
            }
        }
        if !samples.contains(where: \.shouldMatch) { fail(map["samples"], "needs at least one `samples.match` line") }
        if !samples.contains(where: { !$0.shouldMatch }) { fail(map["samples"], "needs at least one `samples.no-match` line") }

        let cause = text("cause") ?? ""
        let fix = text("fix") ?? ""
        let references = strings(map["references"], "references")
        if references.isEmpty { fail(node, "needs at least one entry in `references`") }

        var explainsWithin = Rule.defaultExplainsWithin
        if let w = map["explains-within"] {
            if let text = w.scalar?.string, let d = parseDuration(text) { explainsWithin = d } else {
                fail(w, "`explains-within` is a duration such as 30m or 6h (at most 30 days)")
            }
        }
        // A rule with other errors is not compiled later: say now if its pattern is broken too,
        // so one pass of `rules check` lists everything wrong with the file.
        if errors.count > errorsBefore, !pattern.isEmpty {
            do throws(PCRE2Pattern.CompileError) { _ = try PCRE2Pattern(pattern) } catch {
                fail(match["pattern"], "pattern does not compile: \(error)")
            }
        }
        var rule = Rule(id: id, title: title, severity: severity, confidence: confidence, noise: noise, literals: literals,
                    pattern: pattern, components: components, severities: severities, formats: formats, field: field,
                    key: strings(map["key"], "key"), threshold: threshold, explains: strings(map["explains"], "explains"),
                    overlaps: strings(map["overlaps"], "overlaps"), cause: cause, fix: fix, fixes: fixes,
                    references: references, samples: samples, file: file, line: line(node), generic: generic,
                    lookup: lookup)
        rule.explainsWithin = explainsWithin
        return rule
    }

    /// `30s`, `5m`, `1h` as nanoseconds; at most 30 days (a longer window is a mistake, and a huge
    /// one would overflow).
    static func parseDuration(_ s: String) -> Int64? {
        guard let unit = s.last, let n = Int64(s.dropLast()), n > 0 else { return nil }
        let scale: Int64
        switch unit {
        case "s": scale = 1_000_000_000
        case "m": scale = 60_000_000_000
        case "h": scale = 3_600_000_000_000
        default: return nil
        }
        let (v, overflow) = n.multipliedReportingOverflow(by: scale)
        guard !overflow, v <= 30 * 24 * 3_600_000_000_000 else { return nil }
        return v
    }
}
