/// Rules compiled for matching: each pattern JIT-compiled once, all literals in one prefilter.
/// Immutable and shared by every thread.
public final class RuleSet: Sendable {
    public let rules: [Rule]
    public let patterns: [PCRE2Pattern]
    public let prefilter: LiteralPrefilter
    /// The literals of generic rules, scanned only for error-level events no specific rule matched.
    public let genericPrefilter: LiteralPrefilter
    /// What ports and paths mean, for generic rules' `lookup`.
    public let tables: KnowledgeTables
    /// Prefilter tags at or above this index belong to the version detector, not to a rule.
    public let versionTag: Int
    public let versionPattern: PCRE2Pattern
    let componentIDs: [[UInt16]]
    let index: [String: Int]

    /// Literals that announce a component version (`Version: v1.20.8`, `kubeletVersion="v1.22.4"`,
    /// `Starting k3s v1.21.4+k3s1`).
    public static let versionLiterals = ["ersion: v", "ersion=\"v", "ersion\":\"v", "Starting k3s v", "Starting rke2 v",
                                  "Version=v"]
    static let versionRegex = #"(?:[Vv]ersion(?:: |="|":"|=)|Starting (?:k3s|rke2) )(?<version>v\d+\.\d+(?:\.\d+)?)"#

    /// Compiles `rules`; a pattern that does not compile is an error naming the rule's file and line.
    public init(rules: [Rule], tables: KnowledgeTables = KnowledgeTables.builtin) throws(RuleFileError) {
        var patterns: [PCRE2Pattern] = []
        var literals: [(bytes: [UInt8], tag: Int)] = []
        var genericLiterals: [(bytes: [UInt8], tag: Int)] = []
        for (i, rule) in rules.enumerated() {
            do throws(PCRE2Pattern.CompileError) {
                patterns.append(try PCRE2Pattern(rule.pattern))
            } catch {
                throw RuleFileError(file: rule.file, line: rule.line, ruleID: rule.id,
                                    message: "pattern does not compile: \(error)")
            }
            for l in rule.literals {
                if rule.generic { genericLiterals.append((Array(l.utf8), i)) } else { literals.append((Array(l.utf8), i)) }
            }
        }
        versionTag = rules.count
        for l in RuleSet.versionLiterals { literals.append((Array(l.utf8), rules.count)) }
        self.rules = rules
        self.patterns = patterns
        prefilter = LiteralPrefilter(literals: literals)
        genericPrefilter = LiteralPrefilter(literals: genericLiterals)
        self.tables = tables
        versionPattern = try! PCRE2Pattern(RuleSet.versionRegex)
        componentIDs = rules.map { $0.components.compactMap { Component(name: $0)?.id } }
        var index: [String: Int] = [:]
        for (i, r) in rules.enumerated() { index[r.id] = i }
        self.index = index
    }

    public func rule(id: String) -> Rule? { index[id].map { rules[$0] } }
}

/// The rule library compiled into the binary, plus users' rule files, merged by id.
public enum RuleLibrary {
    /// Built-in rule files: (name, YAML text), embedded at build time.
    public static var builtinFiles: [(name: String, text: String)] {
        BuiltinRuleFiles.all
    }

    /// Loads the built-in rules, then `userTexts` in order; a user rule with a built-in's id replaces it.
    public static func load(userFiles: [(name: String, text: String)] = [], builtins: Bool = true)
        -> (rules: [Rule], errors: [RuleFileError]) {
        var rules: [Rule] = []
        var errors: [RuleFileError] = []
        var position: [String: Int] = [:]
        let files = (builtins ? builtinFiles : []) + userFiles.filter { !KnowledgeTables.isTable($0.text) }
        for file in files {
            let (loaded, errs) = RuleLoader.load(text: file.text, file: file.name)
            errors += errs
            for r in loaded {
                if let at = position[r.id] {
                    if rules[at].file == r.file {
                        errors.append(RuleFileError(file: r.file, line: r.line, ruleID: r.id,
                                                    message: "duplicate id (first at line \(rules[at].line))"))
                    }
                    rules[at] = r
                } else {
                    position[r.id] = rules.count
                    rules.append(r)
                }
            }
        }
        return (rules, errors)
    }
}

extension RuleLibrary {
    /// The built-in knowledge tables, then the tables among `userFiles` (files with `table:`).
    public static func loadTables(userFiles: [(name: String, text: String)] = [], builtins: Bool = true)
        -> (tables: KnowledgeTables, errors: [RuleFileError]) {
        var tables = KnowledgeTables()
        var errors: [RuleFileError] = []
        for file in (builtins ? KnowledgeTables.builtinFiles : []) + userFiles where KnowledgeTables.isTable(file.text) {
            let (t, errs) = KnowledgeTables.load(text: file.text, file: file.name)
            errors += errs
            if let t { tables.add(t) }
        }
        return (tables, errors)
    }
}

extension KnowledgeTables {
    /// The tables compiled into the binary.
    public static let builtin: KnowledgeTables = RuleLibrary.loadTables().tables
}
