import ArgumentParser
import LogModel

extension LogDiag {
    /// `logdiag rules list|show|check|patterns`.
    struct Rules: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, show and check rules.",
            subcommands: [List.self, Show.self, Check.self, Patterns.self, New.self]
        )

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List every rule: id, severity and title.")
            @OptionGroup var rules: RuleOptions

            func run() throws {
                let set = try rules.ruleSet()
                var out = ""
                let width = set.rules.map(\.id.count).max() ?? 0
                for r in set.rules.sorted(by: { $0.id < $1.id }) {
                    let kind = r.noise ? "noise" : r.severity.description
                    out += r.id.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                        + kind.padding(toLength: 8, withPad: " ", startingAt: 0) + r.title + "\n"
                }
                out += "\(set.rules.filter { !$0.noise }.count) root-cause rules, \(set.rules.filter(\.noise).count) noise rules\n"
                emit(out)
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show one rule with its pattern, texts and samples.")
            @Argument(help: "The rule id.", completion: .custom { _, _, prefix in
                RuleLibrary.load().rules.map(\.id).filter { $0.hasPrefix(prefix) }.sorted()
            }) var id: String
            @OptionGroup var rules: RuleOptions

            func run() throws {
                let set = try rules.ruleSet()
                guard let r = set.rule(id: id) else {
                    warn("no rule with id '\(id)' (see `logdiag rules list`)")
                    throw ExitCode(ExitStatus.usage)
                }
                var out = "\(r.id)  (\(r.noise ? "noise" : r.severity.description), confidence \(r.confidence.rawValue))\n"
                out += "  \(r.title)\n  defined at \(r.file):\(r.line)\n\n"
                out += "  literals: \(r.literals.map { "'\($0)'" }.joined(separator: ", "))\n"
                out += "  pattern:  \(r.pattern)\n"
                if !r.components.isEmpty { out += "  component: \(r.components.joined(separator: ", "))\n" }
                if !r.severities.isEmpty { out += "  severity: \(r.severities.map(\.description).joined(separator: ", "))\n" }
                if !r.formats.isEmpty { out += "  format:   \(r.formats.map(\.description).joined(separator: ", "))\n" }
                if let f = r.field { out += "  field:    \(f)\n" }
                if !r.key.isEmpty { out += "  key:      \(r.key.joined(separator: ", "))\n" }
                if let t = r.threshold { out += "  threshold: \(t.text)\n" }
                if !r.explains.isEmpty { out += "  explains: \(r.explains.joined(separator: ", "))\n" }
                out += "\n  cause: \(r.cause)\n  fix:   \(r.fix)\n"
                for f in r.fixes { out += "  fix when \(f.description)\(f.destructive ? " (destructive; check first: \(f.checkFirst ?? ""))" : ""): \(f.fix)\n" }
                out += "\n  references:\n" + r.references.map { "    \($0)\n" }.joined()
                out += "\n  samples that match:\n" + r.samples.filter(\.shouldMatch).map { "    \($0.line)\n" }.joined()
                out += "  samples that must not match:\n" + r.samples.filter { !$0.shouldMatch }.map { "    \($0.line)\n" }.joined()
                emit(out)
            }
        }

        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Check rule files: compile every pattern, run every sample, report each error as file:line: rule-id: message.",
                discussion: "With no file, checks the built-in library. Exit status 0 when clean, 1 when a rule has errors, 2 when a file cannot be read."
            )
            @Argument(help: ArgumentHelp("Rule files or directories to check.", valueName: "file")) var files: [String] = []

            func run() throws {
                let texts: [(name: String, text: String)]
                do throws(RuleLoadFailure) {
                    texts = files.isEmpty ? RuleLibrary.builtinFiles : try RuleOptions.readRuleFiles(files)
                } catch {
                    warn(error.message)
                    throw ExitCode(ExitStatus.unreadable)
                }
                let library = RuleLibrary.load().rules
                var errors: [RuleFileError] = []
                var checked: [Rule] = []
                var seen: [String: (String, Int)] = [:]
                for file in texts where !KnowledgeTables.isTable(file.text) {
                    let (rules, errs) = RuleLoader.load(text: file.text, file: file.name)
                    errors += errs
                    for r in rules {
                        if let first = seen[r.id] {
                            errors.append(RuleFileError(file: r.file, line: r.line, ruleID: r.id,
                                                        message: "duplicate id (also at \(first.0):\(first.1))"))
                        }
                        seen[r.id] = (r.file, r.line)
                    }
                    checked += rules
                }
                errors += RuleChecker.check(rules: checked, library: library)
                // Knowledge tables: the built-in ones when checking the library, else those given.
                let tableFiles = files.isEmpty ? KnowledgeTables.builtinFiles : texts.filter { KnowledgeTables.isTable($0.text) }
                let (tables, tableErrors) = RuleLibrary.loadTables(userFiles: files.isEmpty ? [] : tableFiles)
                errors += tableErrors
                let merged = library.filter { l in !checked.contains { $0.id == l.id } } + checked
                errors += RuleChecker.check(tables: tables, rules: merged, onlyFiles: Set(tableFiles.map(\.name)))
                let sorted = errors.sorted { ($0.file, $0.line) < ($1.file, $1.line) }
                emit(sorted.map { $0.description + "\n" }.joined())
                for w in RuleChecker.lint(rules: checked) { warn(w.description) }
                let samples = checked.reduce(0) { $0 + $1.samples.count }
                warn("\(checked.count) rules, \(samples) samples checked, \(errors.count) error\(errors.count == 1 ? "" : "s")")
                if !errors.isEmpty { throw ExitCode(ExitStatus.findings) }
            }
        }

        struct New: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Write a rule skeleton from one log line (an unrecognised failure) to standard output.",
                discussion: """
                    The line's template becomes the pattern, each masked part (address, number, name) a named \
                    capture; its longest fixed text the literal; the line itself the match sample. The skeleton \
                    loads and passes `rules check` as written; fill in its title, cause, fix and references.

                      logdiag rules new --from kubelet.log:1234 > my-rules/kubelet-foo.yaml
                    """)
            @Option(help: ArgumentHelp("The line to start from.", valueName: "file:line")) var from: String
            @OptionGroup var input: InputOptions

            func validate() throws {
                guard let colon = from.lastIndex(of: ":"), Int(from[from.index(after: colon)...]).map({ $0 >= 1 }) == true else {
                    throw ValidationError("--from takes FILE:LINE with a line number from 1, like kubelet.log:1234")
                }
            }

            func run() throws {
                let colon = from.lastIndex(of: ":")!
                let path = String(from[..<colon])
                let line = Int(from[from.index(after: colon)...])!
                let analyzer = try input.analyzer()
                var skeleton: RuleSkeleton?
                let diagnoser = Diagnoser(ruleSet: try RuleSet(rules: []))
                do throws(InputError) {
                    try analyzer.run(path: path, into: diagnoser) { e in
                        guard skeleton == nil, e.lineNumber <= line, line < e.lineNumber + e.lineCount else { return }
                        let origin = "\(path):\(line)"
                        if let inner = e.innerEvent {
                            skeleton = RuleSkeleton(message: inner.pointee.message, sampleLine: e.payload.string,
                                                    severity: inner.pointee.severity, component: inner.pointee.component, origin: origin)
                        } else {
                            skeleton = RuleSkeleton(message: e.message, sampleLine: e.payload.string, severity: e.severity,
                                                    component: e.component, origin: origin)
                        }
                    }
                } catch {
                    warn(error.description)
                    throw ExitCode(ExitStatus.unreadable)
                }
                guard let skeleton else {
                    warn("\(path) has no line \(line)")
                    throw ExitCode(ExitStatus.unreadable)
                }
                // The skeleton must load and check as written; say so if it does not.
                let (rules, loadErrors) = RuleLoader.load(text: skeleton.yaml, file: "<new rule>")
                let library = RuleLibrary.load().rules
                for e in loadErrors + RuleChecker.check(rules: rules, library: library) { warn("note: \(e.description)") }
                emit(skeleton.yaml)
            }
        }

        struct Patterns: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print every root-cause and noise pattern, one per line (for comparing with grep-like tools).")
            @OptionGroup var rules: RuleOptions

            func run() throws {
                let set = try rules.ruleSet()
                emit(set.rules.map { $0.pattern + "\n" }.joined())
            }
        }
    }
}
