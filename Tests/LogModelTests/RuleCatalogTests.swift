import Foundation
import Testing
@testable import LogModel

/// The built-in library as the binary embeds it.
let library: [Rule] = {
    let (rules, errors) = RuleLibrary.load()
    precondition(errors.isEmpty, "built-in rule files do not load:\n" + errors.map(\.description).joined(separator: "\n"))
    return rules
}()

let librarySet: RuleSet = try! RuleSet(rules: library)

struct SampleCase: CustomTestStringConvertible, Sendable {
    let rule: Rule
    let sample: Rule.Sample
    var testDescription: String { "\(rule.id) \(sample.shouldMatch ? "match" : "no-match") @\(sample.file):\(sample.lineNumber)" }
}

let allSamples: [SampleCase] = library.flatMap { r in r.samples.map { SampleCase(rule: r, sample: $0) } }

@Suite struct RuleCatalogTests {
    @Test func builtinFilesLoadWithoutErrors() {
        let (_, errors) = RuleLibrary.load()
        #expect(errors.isEmpty, "\(errors.map(\.description).joined(separator: "\n"))")
    }

    @Test func everyYAMLFileInTheFolderIsEmbedded() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/LogModel/Rules/Builtin")
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }
        let embedded = RuleLibrary.builtinFiles.map { String($0.name.dropFirst("builtin:".count)) }
        #expect(Set(onDisk) == Set(embedded), "list every file of Rules/Builtin in BuiltinRuleFiles.swift")
    }

    @Test func theCatalogPassesEveryLoadTimeCheck() {
        let errors = RuleChecker.check(rules: library, library: library)
        #expect(errors.isEmpty, "\(errors.map(\.description).joined(separator: "\n"))")
    }

    @Test func idsAreUnique() {
        let ids = library.map(\.id)
        #expect(Set(ids).count == ids.count)
    }

    /// Each sample, in every envelope, must give the rule's verdict and captures.
    @Test(arguments: allSamples)
    func sampleBehavesInEveryEnvelope(_ c: SampleCase) throws {
        let index = try #require(librarySet.rules.firstIndex { $0.id == c.rule.id })
        let diagnoser = Diagnoser(ruleSet: librarySet)
        for wrap in Wrap.allCases {
            var verdicts: [Bool] = []
            var source = EventSource(source: MemorySource(wrap.apply(c.sample.line) + "\n", chunk: 7), inputIndex: 0,
                                     options: ParseOptions(year: YearTracker(year: 2021)), capacity: 16)
            try source.run { e in
                if e.message.string == "unrelated stdout line" { return }
                let hit = diagnoser.probe(rule: index, e)
                verdicts.append(hit != nil)
                if let expected = c.sample.captures, let hit {
                    for (k, v) in expected {
                        #expect(hit.captures[k] ?? "" == v, "capture \(k) in \(wrap.rawValue)",
                                sourceLocation: SourceLocation(fileID: "LogModel/\(c.sample.file)", filePath: c.sample.file,
                                                               line: c.sample.lineNumber, column: 1))
                    }
                }
            }
            #expect(verdicts.contains(true) == c.sample.shouldMatch,
                    "\(c.rule.id) should \(c.sample.shouldMatch ? "" : "not ")match in \(wrap.rawValue): \(c.sample.line)",
                    sourceLocation: SourceLocation(fileID: "LogModel/\(c.sample.file)", filePath: c.sample.file,
                                                   line: c.sample.lineNumber, column: 1))
        }
    }
}

@Suite struct RuleCheckerTests {
    static let broken = """
        rules:
          - id: test.broken
            title: A rule whose sample does not match
            severity: error
            match:
              literals: ['widget']
              pattern: 'widget (?<part>\\w+) failed'
            cause: The {part} failed, {nothing} else.
            fix: Replace it.
            references: [https://example.com]
            samples:
              match:
                - 'E0101 00:00:00.000000 1 a.go:1] gadget sprocket failed'
              no-match:
                - 'E0101 00:00:00.000000 1 a.go:1] widget sprocket failed'
        """

    @Test func brokenRulesAreReportedWithFileLineAndID() {
        let (rules, loadErrors) = RuleLoader.load(text: RuleCheckerTests.broken, file: "mine.yaml")
        #expect(loadErrors.isEmpty)
        let errors = RuleChecker.check(rules: rules, library: library).map(\.description)
        #expect(errors.contains { $0.hasPrefix("mine.yaml:13: test.broken: sample should match but does not") })
        #expect(errors.contains { $0.hasPrefix("mine.yaml:15: test.broken: sample should not match but does") })
        #expect(errors.contains { $0.contains("template uses {nothing}") })
    }

    /// Two rules may match one line only when one explains the other (or says they overlap).
    @Test func rulesMatchingEachOthersSamplesMustBeRelated() {
        func rules(explains: String) -> String {
            """
            rules:
              - id: test.cause
                title: t
                severity: error
                match: {literals: ['disk full'], pattern: 'disk full on (?<dev>\\w+)'}
            \(explains)
                cause: c
                fix: f
                references: [https://example.com]
                samples: {match: ['disk full on sda'], no-match: ['disk fine']}
              - id: test.symptom
                title: t
                severity: warning
                match: {literals: ['disk full'], pattern: 'disk full'}
                cause: c
                fix: f
                references: [https://example.com]
                samples: {match: ['disk full'], no-match: ['disk fine']}
            """
        }
        let unrelated = RuleLoader.load(text: rules(explains: ""), file: "t.yaml")
        #expect(unrelated.errors.isEmpty)
        #expect(RuleChecker.check(rules: unrelated.rules, library: []).contains { $0.message.contains("also matched by `test.symptom`") })
        let related = RuleLoader.load(text: rules(explains: "    explains: [test.symptom]"), file: "t.yaml")
        #expect(related.errors.isEmpty)
        #expect(RuleChecker.check(rules: related.rules, library: []).isEmpty)
    }

    @Test func schemaErrorsNameTheLine() {
        let (_, errors) = RuleLoader.load(text: "rules:\n  - id: Bad_ID\n    title: x\n    severity: sometimes\n", file: "f.yaml")
        let text = errors.map(\.description)
        #expect(text.contains { $0.hasPrefix("f.yaml:2: Bad_ID: id must look like") })
        #expect(text.contains { $0.hasPrefix("f.yaml:4: Bad_ID: unknown severity") })
        #expect(text.contains { $0.contains("missing `match`") })
    }

    @Test func typedScalarsAreReadAsYAMLSpellsThem() {
        func rule(_ extra: String) -> (rules: [Rule], errors: [String]) {
            let text = """
                rules:
                  - id: test.typed
                    title: t
                    severity: warning
                \(extra)
                    match: {literals: ['disk'], pattern: 'disk full'}
                    cause: c
                    fix: f
                    references: [https://example.com]
                    samples: {match: ['disk full'], no-match: ['disk ok']}
                """
            let (rules, errors) = RuleLoader.load(text: text, file: "t.yaml")
            return (rules, errors.map(\.description))
        }
        #expect(rule("    noise: yes").rules.first?.noise == true)
        #expect(rule("    noise: false").rules.first?.noise == false)
        #expect(rule("    noise: 'true'").errors.contains { $0.contains("`noise` must be true or false") })
        #expect(rule("    threshold: {count: 3, within: 5m}").rules.first?.threshold?.count == 3)
        #expect(rule("    threshold: {count: three, within: 5m}").errors.contains { $0.contains("`threshold` needs") })
        #expect(rule("    threshold: {count: 0, within: 5m}").errors.contains { $0.contains("`threshold` needs") })
    }

    @Test func aLiteralMissingFromAMatchingSampleIsCaught() {
        let text = """
            rules:
              - id: test.literal
                title: t
                severity: error
                match:
                  literals: ['never-there']
                  pattern: 'disk (?<d>\\w+) full'
                cause: c {d}
                fix: f
                references: [https://example.com]
                samples:
                  match: ['E0101 00:00:00.000000 1 a.go:1] disk sda full']
                  no-match: ['E0101 00:00:00.000000 1 a.go:1] disk ok']
            """
        let (rules, _) = RuleLoader.load(text: text, file: "l.yaml")
        let errors = RuleChecker.check(rules: rules, library: []).map(\.description)
        #expect(errors.contains { $0.contains("no literal of the rule occurs") })
    }
}

@Suite struct PrefilterTests {
    @Test func reportsEveryLiteralThatOccursIncludingOverlaps() {
        let p = LiteralPrefilter(literals: [(Array("he".utf8), 0), (Array("she".utf8), 1), (Array("hers".utf8), 2),
                                            (Array("xyz".utf8), 3)])
        var found = Set<Int>()
        Array("ushers".utf8).withUnsafeBufferPointer { b in p.scan(b) { found.insert($0) } }
        #expect(found == [0, 1, 2])
    }
}

@Suite struct PrefilterAgreesWithSubstringSearch {
    /// A small deterministic generator, so a failure can be replayed.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Literals that share long prefixes (as "failed to ..." rules do) move the indexed windows away
    /// from the start of a literal; every occurrence, at every alignment and at either end of the
    /// text, must still be reported, and nothing that does not occur.
    @Test(arguments: [5, 9, 14])
    func findsExactlyTheLiteralsThatOccur(shortest: Int) {
        var rng = SplitMix(state: UInt64(shortest))
        let alphabet = Array("abcdefr :/_.-0123456789XYZ".utf8)
        func word(_ n: Int) -> [UInt8] { (0..<n).map { _ in alphabet.randomElement(using: &rng)! } }
        var literals: [[UInt8]] = []
        for k in 0..<60 {
            let tail = word(Int.random(in: shortest...30, using: &rng))
            // A third share a common opening, a third the same closing words.
            switch k % 3 {
            case 0: literals.append(Array("failed to ".utf8) + tail)
            case 1: literals.append(tail + Array(": connection refused".utf8))
            default: literals.append(tail)
            }
        }
        literals.append(word(shortest))
        let p = LiteralPrefilter(literals: literals.enumerated().map { ($0.element, $0.offset) })
        for _ in 0..<400 {
            var text = word(Int.random(in: 0...40, using: &rng))
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                text += literals.randomElement(using: &rng)! + word(Int.random(in: 0...12, using: &rng))
            }
            var expected = Set<Int>()
            for (i, l) in literals.enumerated() where text.count >= l.count {
                for s in 0...(text.count - l.count) where text[s..<s + l.count].elementsEqual(l) {
                    expected.insert(i)
                }
            }
            var found = Set<Int>()
            text.withUnsafeBufferPointer { b in p.scan(b) { found.insert($0) } }
            #expect(found == expected, "text: \(String(decoding: text, as: UTF8.self))")
        }
    }
}
