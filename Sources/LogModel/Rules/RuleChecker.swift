/// The load-time checks every rule file must pass (the built-in library in `make test`, users'
/// files in `logdiag rules check`): patterns compile and JIT-compile, every sample behaves, the
/// prefilter never hides a match, templates name real captures, and rules do not claim each
/// other's samples unless they say so.
public enum RuleChecker {
    /// Names a template may use besides the pattern's captures.
    public static let implicitNames: Set<String> = ["component", "version", "host"]

    /// Words of a fix that destroys data or state: removing files recursively or certificates,
    /// wiping a data dir, removing an etcd member, resetting or uninstalling a node.
    static let destroysData = try! PCRE2Pattern(
        #"(?i)\brm\s+-[a-z]*r|\brm\s+(?:-\S+\s+)*\S*(?:pki|certs?\b|\.crt|\.key|\.pem)|wipe (?:its|the) data dir|etcdctl\s+member\s+remove|\bkubeadm\s+reset|\b(?:k3s|rke2)(?:-agent)?-uninstall|\brke\s+remove\b|delete (?:the |its )?(?:certificates|certs)\b"#)

    /// Checks `rules` (those to report on) against the full `library` they will run with.
    static func removesData(_ text: String) -> Bool {
        var t = text
        return t.withUTF8 { destroysData.matches($0, scratch: destroysData.makeScratch()) }
    }

    public static func check(rules: [Rule], library: [Rule]) -> [RuleFileError] {
        var errors: [RuleFileError] = []
        // Compile each rule alone first, so one bad pattern does not hide the others' errors.
        var good: [Rule] = []
        for r in rules {
            do throws(PCRE2Pattern.CompileError) {
                let p = try PCRE2Pattern(r.pattern)
                if !p.jitCompiled {
                    errors.append(.init(file: r.file, line: r.line, ruleID: r.id, message: "pattern does not JIT-compile"))
                }
                var names = Set(p.captureNames.map(\.name)).union(implicitNames)
                for (capture, _) in r.lookup {
                    if !names.contains(capture) {
                        errors.append(.init(file: r.file, line: r.line, ruleID: r.id, message: "lookup of `\(capture)`, which is not a named capture"))
                    }
                    names.formUnion(KnowledgeTable.placeholderNames(for: capture))
                }
                if !r.lookup.isEmpty, !r.generic {
                    errors.append(.init(file: r.file, line: r.line, ruleID: r.id, message: "`lookup` is only for generic rules (generic: true)"))
                }
                for text in [r.title, r.cause, r.fix] + r.fixes.map(\.fix) + r.fixes.compactMap(\.checkFirst) + r.fixes.compactMap(\.cause) {
                    for n in Template.names(in: text) where !names.contains(n) {
                        errors.append(.init(file: r.file, line: r.line, ruleID: r.id,
                                            message: "template uses {\(n)}, which is not a named capture"))
                    }
                }
                for vf in r.fixes {
                    for capture in vf.captures.keys.sorted() where !names.contains(capture) {
                        errors.append(.init(file: r.file, line: r.line, ruleID: r.id,
                                            message: "a fix's when-capture names `\(capture)`, which is not a named capture"))
                    }
                }
                // A fix that removes data goes in a `fixes` entry marked destructive, with its evidence.
                for text in [r.fix] + r.fixes.filter({ !$0.destructive }).map(\.fix) where Self.removesData(text) {
                    errors.append(.init(file: r.file, line: r.line, ruleID: r.id,
                                        message: "a fix destroys data (rm -r, deleting certificates, wiping a data dir, etcdctl member remove, kubeadm reset, an uninstall script) but is not a `fixes` entry with destructive: true"))
                }
                for k in r.key where !names.contains(k) {
                    errors.append(.init(file: r.file, line: r.line, ruleID: r.id, message: "key `\(k)` is not a named capture"))
                }
                good.append(r)
            } catch {
                errors.append(.init(file: r.file, line: r.line, ruleID: r.id, message: "pattern does not compile: \(error)"))
            }
        }
        let ids = Set(library.map(\.id)).union(rules.map(\.id))
        for r in rules {
            for x in r.explains where !ids.contains(x) {
                errors.append(.init(file: r.file, line: r.line, ruleID: r.id, message: "explains unknown rule `\(x)`"))
            }
            for x in r.fixes.flatMap(\.findings) where !ids.contains(x) {
                errors.append(.init(file: r.file, line: r.line, ruleID: r.id, message: "a fix's when-finding names unknown rule `\(x)`"))
            }
            for x in r.overlaps where !ids.contains(x) {
                errors.append(.init(file: r.file, line: r.line, ruleID: r.id, message: "overlaps unknown rule `\(x)`"))
            }
        }
        // The library as it will run: checked rules replace library rules of the same id.
        var merged = library.filter { l in !good.contains { $0.id == l.id } }
        merged += good
        guard let set = try? RuleSet(rules: merged) else { return errors }
        let diagnoser = Diagnoser(ruleSet: set)
        for r in good {
            guard let i = set.rules.firstIndex(where: { $0.id == r.id }) else { continue }
            for s in r.samples {
                SampleRunner.withEvents(s.line) { e in
                    let hit = diagnoser.probe(rule: i, e)
                    if s.shouldMatch {
                        guard let hit else {
                            errors.append(.init(file: s.file, line: s.lineNumber, ruleID: r.id,
                                                message: "sample should match but does not: \(s.line)"))
                            return
                        }
                        if !hit.literalSeen {
                            errors.append(.init(file: s.file, line: s.lineNumber, ruleID: r.id,
                                                message: "no literal of the rule occurs in this matching sample, so the prefilter would skip it"))
                        }
                        for (k, v) in s.captures ?? [:] where hit.captures[k] ?? "" != v {
                            errors.append(.init(file: s.file, line: s.lineNumber, ruleID: r.id,
                                                message: "capture `\(k)` is '\(hit.captures[k] ?? "<none>")', sample expects '\(v)'"))
                        }
                        // Generic rules overlap specific ones by design: they run only where no
                        // specific rule matched.
                        // A cause and the symptom it explains may share a line (Rancher quoting the
                        // component's own error).
                        for (j, other) in set.rules.enumerated() where j != i && !r.overlaps.contains(other.id)
                            && !other.overlaps.contains(r.id) && !r.explains.contains(other.id)
                            && !other.explains.contains(r.id) && other.generic == r.generic {
                            if diagnoser.probe(rule: j, e) != nil {
                                errors.append(.init(file: s.file, line: s.lineNumber, ruleID: r.id,
                                                    message: "sample is also matched by `\(other.id)`; declare `overlaps: [\(other.id)]` if that is intended"))
                            }
                        }
                    } else if hit != nil {
                        errors.append(.init(file: s.file, line: s.lineNumber, ruleID: r.id,
                                            message: "sample should not match but does: \(s.line)"))
                    }
                }
            }
        }
        return errors
    }
}

extension RuleChecker {
    /// Every table entry's samples must be matched by a generic rule that looks up a capture in
    /// that table, and the lookup must land on that entry.
    public static func check(tables: KnowledgeTables, rules: [Rule], onlyFiles: Set<String>? = nil) -> [RuleFileError] {
        guard let set = try? RuleSet(rules: rules, tables: tables) else { return [] }
        let diagnoser = Diagnoser(ruleSet: set)
        var errors: [RuleFileError] = []
        for (kind, table) in tables.byKind.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let lookers = set.rules.indices.filter { set.rules[$0].generic && set.rules[$0].lookup.values.contains(kind) }
            for entry in table.entries where onlyFiles == nil || onlyFiles!.contains(entry.file) {
                for sample in entry.samples {
                    var landed: String?
                    var matched = false
                    SampleRunner.withEvents(sample) { e in
                        for i in lookers {
                            guard let hit = diagnoser.probe(rule: i, e) else { continue }
                            matched = true
                            for (capture, k) in set.rules[i].lookup where k == kind {
                                if let v = hit.captures[capture], let found = table.lookup(v) { landed = found.key }
                            }
                        }
                    }
                    if !matched {
                        errors.append(.init(file: entry.file, line: entry.line, ruleID: "\(kind.rawValue):\(entry.key)",
                                            message: "no generic rule with a \(kind.rawValue) lookup matches the sample: \(sample)"))
                    } else if landed != entry.key {
                        errors.append(.init(file: entry.file, line: entry.line, ruleID: "\(kind.rawValue):\(entry.key)",
                                            message: "the sample's \(kind.rawValue) resolves to '\(landed ?? "nothing")', not to this entry: \(sample)"))
                    }
                }
            }
        }
        return errors
    }
}

extension RuleChecker {
    /// A group that repeats something repeated, `(\w+\s?)+` or `(a*)*`: PCRE2 may backtrack
    /// through every way of splitting a long line between the two. Possessive inner repeats
    /// (`++`, `*+`) do not backtrack and are not flagged.
    static let nestedQuantifier = try! PCRE2Pattern(#"\((?:[^()\\]|\\.)*(?<![\\+*])[+*](?![+])(?:[^()\\]|\\.)*\)(?:[+*]|\{\d*,\d*\})"#)

    /// Warnings that do not fail a check: patterns that may be slow on long lines.
    public static func lint(rules: [Rule]) -> [RuleFileError] {
        var out: [RuleFileError] = []
        for r in rules {
            var p = r.pattern
            let hit = p.withUTF8 { nestedQuantifier.matches($0, scratch: nestedQuantifier.makeScratch()) }
            if hit {
                out.append(.init(file: r.file, line: r.line, ruleID: r.id,
                                 message: "warning: nested quantifiers (a repeated group of repeats) can backtrack for a very long time on a long line; make the inner repeat possessive (`++`, `*+`) or atomic (`(?>...)`)"))
            }
        }
        return out
    }
}

/// Runs one sample line through the same parser as real input.
public enum SampleRunner {
    public static func withEvents(_ line: String, year: Int = 2021, _ body: (borrowing LogEvent) -> Void) {
        var source = EventSource(source: MemorySource(line + "\n"), inputIndex: 0,
                                 options: ParseOptions(year: YearTracker(year: year)))
        try? source.run { e in body(e) }
    }
}
