import Yams

/// A table of what the things errors name mean: ports to the components that listen on them,
/// paths to the components that own them (docs/unrecognised.md). Data, like rules: YAML files in
/// `Knowledge/Tables/`, embedded in the binary, the same schema for users' files, every entry
/// with sample lines that run as tests.
public struct KnowledgeTable: Sendable {
    public enum Kind: String, Sendable {
        /// Keys are port numbers, matched exactly.
        case port
        /// Keys are path prefixes; the longest that matches whole segments wins.
        case path
    }

    public struct Entry: Sendable {
        public let key: String
        /// The owner as a sentence names it: "kube-apiserver", "etcd's data directory".
        public let name: String
        public let component: String?
        public let what: String
        public let references: [String]
        public let samples: [String]
        public let file: String
        public let line: Int
    }

    public let kind: Kind
    public let entries: [Entry]

    /// The entry for `value`, if any.
    public func lookup(_ value: String) -> Entry? {
        switch kind {
        case .port:
            return entries.first { $0.key == value }
        case .path:
            var best: Entry?
            for e in entries where KnowledgeTable.pathHasPrefix(value, e.key) {
                if best == nil || e.key.count > best!.key.count { best = e }
            }
            return best
        }
    }

    /// `/var/lib/etcd/member` is under `/var/lib/etcd`, `/var/lib/etcd2` is not.
    static func pathHasPrefix(_ path: String, _ prefix: String) -> Bool {
        guard path.hasPrefix(prefix) else { return false }
        if path.count == prefix.count || prefix.hasSuffix("/") { return true }
        let next = path[path.index(path.startIndex, offsetBy: prefix.count)]
        return next == "/" || next == "."
    }

    /// The placeholders a lookup of capture `name` adds to a finding's texts:
    /// `{name_owner}`, `{name_what}` and `{name_label}` ("kube-apiserver port 6443", or "port 6443"
    /// when no entry knows it).
    public func values(for name: String, value: String) -> [String: String] {
        let e = lookup(value)
        var out: [String: String] = [:]
        out["\(name)_owner"] = e?.name ?? "an unknown owner"
        out["\(name)_what"] = e?.what ?? "not in logdiag's tables"
        switch kind {
        case .port: out["\(name)_label"] = e.map { "\($0.name) port \(value)" } ?? "port \(value)"
        case .path: out["\(name)_label"] = e.map { "\(value) (\($0.name))" } ?? value
        }
        if let c = e?.component { out["\(name)_component"] = c }
        return out
    }

    public static func placeholderNames(for capture: String) -> [String] {
        ["owner", "what", "label", "component"].map { "\(capture)_\($0)" }
    }
}

/// The tables by kind: built-in ones first, users' entries added (a user entry with a built-in's
/// key replaces it).
public struct KnowledgeTables: Sendable {
    public private(set) var byKind: [KnowledgeTable.Kind: KnowledgeTable] = [:]

    public init(_ tables: [KnowledgeTable] = []) {
        for t in tables { add(t) }
    }

    public mutating func add(_ t: KnowledgeTable) {
        guard let old = byKind[t.kind] else { byKind[t.kind] = t; return }
        let keys = Set(t.entries.map(\.key))
        byKind[t.kind] = KnowledgeTable(kind: t.kind, entries: old.entries.filter { !keys.contains($0.key) } + t.entries)
    }

    public subscript(kind: KnowledgeTable.Kind) -> KnowledgeTable? { byKind[kind] }

    public static var builtinFiles: [(name: String, text: String)] {
        [
            ("builtin:ports.yaml", PackageResources.ports_yaml),
            ("builtin:paths.yaml", PackageResources.paths_yaml),
        ].map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }
    }

    /// Whether a rule file's text is a table (`table:` at the top) rather than rules.
    public static func isTable(_ text: String) -> Bool {
        var t = text
        return t.withUTF8 { b in
            ByteScan.hasPrefix("table:", b) || ByteScan.find("\ntable:", in: b) != nil
        }
    }

    /// Parses a table file, collecting every error with its line.
    public static func load(text: String, file: String) -> (KnowledgeTable?, [RuleFileError]) {
        var errors: [RuleFileError] = []
        func fail(_ n: Node?, _ m: String) {
            errors.append(RuleFileError(file: file, line: n?.mark?.line ?? 1, ruleID: nil, message: m))
        }
        let root: Node
        do {
            guard let n = try RuleLoader.compose(text) else { return (nil, [RuleFileError(file: file, line: 1, ruleID: nil, message: "the file is empty")]) }
            root = n
        } catch let e as RuleFileError.Reason {
            return (nil, [RuleFileError(file: file, line: 1, ruleID: nil, message: e.message)])
        } catch let e as YamlError {
            return (nil, [RuleFileError(file: file, line: RuleLoader.yamlLine(e), ruleID: nil, message: "YAML: \(RuleLoader.yamlMessage(e))")])
        } catch {
            return (nil, [RuleFileError(file: file, line: 1, ruleID: nil, message: "YAML: \(error)")])
        }
        guard let map = root.mapping, let kindName = map["table"]?.string else {
            fail(root, "expected `table: port` or `table: path` and `entries:`")
            return (nil, errors)
        }
        guard let kind = KnowledgeTable.Kind(rawValue: kindName) else {
            fail(map["table"], "unknown table `\(kindName)` (known: port, path)")
            return (nil, errors)
        }
        for (k, _) in map where !["table", "entries"].contains(k.string ?? "") { fail(k, "unknown key `\(k.string ?? "?")`") }
        guard let list = map["entries"]?.sequence else {
            fail(root, "missing `entries:` list")
            return (nil, errors)
        }
        var entries: [KnowledgeTable.Entry] = []
        var seen: [String: Int] = [:]
        for node in list {
            guard let m = node.mapping else { fail(node, "an entry must be a mapping"); continue }
            for (k, _) in m where !["key", "name", "component", "what", "references", "samples"].contains(k.string ?? "") {
                fail(k, "unknown key `\(k.string ?? "?")`")
            }
            guard let key = m["key"]?.string, !key.isEmpty else { fail(node, "missing `key`"); continue }
            let line = node.mark?.line ?? 1
            switch kind {
            case .port:
                if Int(key).map({ !(1...65535).contains($0) }) ?? true { fail(m["key"], "a port key is a number from 1 to 65535, got '\(key)'") }
            case .path:
                if !key.hasPrefix("/") { fail(m["key"], "a path key starts with /, got '\(key)'") }
            }
            if let first = seen[key] { fail(m["key"], "duplicate key '\(key)' (first at line \(first))") }
            seen[key] = line
            guard let name = m["name"]?.string, !name.isEmpty else { fail(node, "entry '\(key)': missing `name`"); continue }
            let what = m["what"]?.string ?? ""
            if what.isEmpty { fail(node, "entry '\(key)': missing `what`") }
            let component = m["component"]?.string
            if let c = component, Component(name: c) == nil { fail(m["component"], "entry '\(key)': unknown component `\(c)`") }
            let refs = m["references"]?.sequence?.compactMap { $0.string } ?? m["references"]?.string.map { [$0] } ?? []
            if refs.isEmpty { fail(node, "entry '\(key)': needs at least one entry in `references`") }
            let samples = m["samples"]?.sequence?.compactMap { $0.string } ?? m["samples"]?.string.map { [$0] } ?? []
            if samples.isEmpty { fail(node, "entry '\(key)': needs at least one line in `samples`") }
            entries.append(KnowledgeTable.Entry(key: key, name: name, component: component, what: what, references: refs,
                                 samples: samples, file: file, line: line))
        }
        return (KnowledgeTable(kind: kind, entries: entries), errors)
    }
}
