import Foundation
import Testing
import LogArchive
@testable import LogModel

/// Lines no rule can match skip becoming events (`EventSource.skipFilter`). That must change no
/// report: for every Corpus case, the benchmark workloads, fuzzed input and the cases the skip
/// path has to get right (a skipped line continued after all, a year boundary crossed by skipped
/// lines), the JSON report with the skip is byte for byte the report without it.
@Suite struct SkipEquivalenceTests {
    /// The JSON report and input summaries of `inputs` (name, bytes), read with or without skipping.
    func report(_ inputs: [(name: String, bytes: [UInt8])], skip: Bool, year: Int? = 2021) throws -> String {
        let d = Diagnoser(ruleSet: librarySet)
        var a = Analyzer(year: year)
        a.skipUnmatchableLines = skip
        var summaries: [InputSummary] = []
        for i in inputs {
            summaries.append(try a.run(source: MemorySource(i.bytes, chunk: 4096), name: i.name, mtime: nil, into: d))
        }
        return ReportDocument(report: Report(results: d.results, ruleSet: librarySet), inputs: summaries).json()
    }

    /// Both reports, and how many events the skip path counted without parsing them.
    func compare(_ inputs: [(name: String, bytes: [UInt8])], year: Int? = 2021) throws -> (same: Bool, skipped: Int) {
        let with = try report(inputs, skip: true, year: year)
        let without = try report(inputs, skip: false, year: year)
        var skipped = 0
        for i in inputs {
            var s = EventSource(source: MemorySource(i.bytes), inputIndex: 0, options: ParseOptions(year: YearTracker(year: 2021)),
                                skipFilter: librarySet.prefilter)
            try s.run { _ in }
            skipped += s.skipped.events
        }
        return (with == without, skipped)
    }

    @Test func everyCorpusCaseGivesTheSameReport() throws {
        #expect(corpusCases.count >= 50)
        var skippedInAll = 0
        for c in corpusCases {
            let inputs = try c.logFiles.map { rel -> (name: String, bytes: [UInt8]) in
                (rel, [UInt8](try Data(contentsOf: URL(fileURLWithPath: (c.directory as NSString).appendingPathComponent(rel)))))
            }
            let r = try compare(inputs, year: c.year)
            #expect(r.same, "\(c.name): the report changes when unmatchable lines are skipped")
            skippedInAll += r.skipped
        }
        // The skip path ran: the Corpus has klog info lines no rule matches.
        #expect(skippedInAll > 100)
    }

    @Test(arguments: ["klog", "mixed", "docker-json", "cri", "docker-ts"])
    func benchmarkWorkloadsGiveTheSameReport(_ name: String) throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/workloads/\(name).log.gz").path
        // Read through the archive reader, as `logdiag triage` reads a .gz file.
        func run(skip: Bool) throws -> (String, Int) {
            let d = Diagnoser(ruleSet: librarySet)
            var a = Analyzer(year: 2021)
            a.packed = LibArchiveReader()
            a.skipUnmatchableLines = skip
            let summaries = try a.run(path: path, into: d)
            return (ReportDocument(report: Report(results: d.results, ruleSet: librarySet), inputs: summaries).json(),
                    summaries.reduce(0) { $0 + $1.events })
        }
        let (with, events) = try run(skip: true)
        let (without, _) = try run(skip: false)
        #expect(events > 5000)
        #expect(with == without)
        // The workloads hold failures: the comparison covers findings, not only empty reports.
        let doc = try JSONSerialization.jsonObject(with: Data(with.utf8)) as? [String: Any]
        #expect(((doc?["findings"] as? [Any])?.count ?? 0) > 0)
    }

    /// A skipped line that turns out to be continued is parsed after all: the literal in its
    /// continuation line still finds its rule, and the joined event is the one it would have been.
    @Test func aSkippedLineThatIsContinuedBecomesItsEvent() throws {
        let lines = [
            "I0723 07:30:00.000001       1 server.go:1] plain start-up line",
            "I0723 07:30:00.000002       1 server.go:2] run failed:",
            "\topen /proc/sys/net/netfilter/nf_conntrack_max: permission denied",
            "I0723 07:30:00.000003       1 server.go:3] another plain line",
            "I0723 07:30:00.000004       1 server.go:4] a dump follows",
            "goroutine 1 [running]:",
            "main.main()",
            "I0723 07:30:00.000005       1 server.go:5] last line",
        ]
        for wrap in [Wrap.bare, .cri, .dockerJSON, .dockerTS] {
            let bytes = Array((lines.map { wrap.apply($0) }.joined(separator: "\n") + "\n").utf8)
            let r = try compare([("kube-proxy.log", bytes)])
            #expect(r.same, "\(wrap)")
            #expect(r.skipped >= 3, "\(wrap): the plain info lines are skipped")
            #expect(try report([("kube-proxy.log", bytes)], skip: true).contains("kube-proxy.conntrack-max-permission"),
                    "\(wrap): the literal in the continuation line is seen")
        }
    }

    /// Skipped lines keep the year tracker in step: a klog log crossing New Year dates the lines
    /// after it in the next year, and the summary's time range and counts are the event path's.
    @Test func skippedLinesCrossTheYearAsEventsDo() throws {
        var text = ""
        for (k, day) in ["1231 23:59:58", "1231 23:59:59", "0101 00:00:00", "0101 00:00:01"].enumerated() {
            text += "I\(day).000000       1 server.go:\(k + 1)] nothing to see\n"
        }
        text += "E0101 00:00:02.000000       1 server.go:9] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied\n"
        let bytes = Array(text.utf8)
        let r = try compare([("kube-proxy.log", bytes)], year: nil)
        #expect(r.same)
        #expect(r.skipped == 4)
        let json = try report([("kube-proxy.log", bytes)], skip: true, year: 2020)
        #expect(json.contains("2021-01-01T00:00:02"), "the error after New Year is dated in the next year")
        #expect(json.contains("2020-12-31T23:59:58"), "the first skipped line starts the time range")
    }

    /// Mutated lines of every format and envelope, at random buffer sizes: the same report both ways.
    @Test func fuzzedInputGivesTheSameReport() throws {
        var rng = XorShift(state: UInt64(ProcessInfo.processInfo.environment["LOGDIAG_FUZZ_SEED"] ?? "") ?? 0x51AB_1E5E_ED00_0001)
        let end = Date().addingTimeInterval(Double(ProcessInfo.processInfo.environment["LOGDIAG_FUZZ_SECONDS"] ?? "") ?? 2)
        let interesting: [UInt8] = [0x00, 0x0A, 0x0D, 0x1B, 0x22, 0x5C, 0x5D, 0x20, 0x09, 0x49, 0x30, 0x39, 0x3A]
        var runs = 0, skipped = 0
        while Date() < end || runs < 50 {
            var input: [UInt8] = []
            for _ in 0..<(1 + rng.below(40)) {
                input += mutatedSeedLine(&rng, interesting: interesting, edits: 4) + [0x0A]
            }
            let r = try compare([("fuzz.log", input)])
            #expect(r.same, "input: \(String(decoding: input, as: UTF8.self).debugDescription)")
            if !r.same { break }
            skipped += r.skipped
            runs += 1
        }
        #expect(skipped > 0, "the fuzzed input reached the skip path")
    }

    /// The end of a JSON string found with `memchr` and a count of the backslashes before each
    /// quote is the end that pairing every backslash with the byte after it finds, for any bytes.
    @Test func jsonStringEndMatchesEscapePairing() {
        func paired(_ p: [UInt8], _ i: Int) -> Int? {
            var j = i
            while j < p.count {
                if p[j] == 0x22 { return j }
                j += p[j] == 0x5C ? 2 : 1
            }
            return nil
        }
        var rng = XorShift(state: 0xD1CE_5EED)
        let alphabet: [UInt8] = [0x22, 0x5C, 0x61, 0x6E]
        for _ in 0..<20000 {
            let bytes = (0..<rng.below(12)).map { _ in alphabet[rng.below(alphabet.count)] }
            let start = bytes.isEmpty ? 0 : rng.below(bytes.count + 1)
            let found = bytes.withUnsafeBufferPointer { JSONScanner.stringEnd($0, start) }
            #expect(found == paired(bytes, start), "\(bytes) from \(start)")
            if found != paired(bytes, start) { break }
        }
    }
}
