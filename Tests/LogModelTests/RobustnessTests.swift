import Foundation
import Testing
@testable import LogModel

/// A small deterministic generator, so a failing fuzz run can be replayed from its seed.
struct XorShift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
}

/// Lines of every format and envelope, the material the fuzzer mutates.
let fuzzSeeds: [String] = {
    var lines = [
        "I0723 07:30:08.920930   12314 feature_gate.go:243] feature gates: &{map[]}",
        #"E0723 07:30:08.920852    1234 kubelet.go:1384] "Failed to start ContainerManager" err="failed to initialize top level QOS containers""#,
        "E0723 07:30:08.920852    1234 kubelet.go:1384] \"Failed\" diff=<\n\tline one\n\tline two\n >",
        RancherTests.seedLine,
        #"time="2021-07-23T07:40:55Z" level=error msg="Failed to connect to proxy" error="x509: certificate signed by unknown authority""#,
        "INFO[0000] Running RKE version: v1.2.8",
        "ERROR: https://rancher.example.com/ping is not accessible (Could not resolve host: rancher.example.com)",
        #"{"level":"warn","ts":"2021-07-23T07:40:55.123Z","caller":"etcdserver/util.go:166","msg":"apply request took too long","took":"1.2s"}"#,
        "2021-07-23 07:40:55.123456 W | etcdserver: read-only range request took too long (1.2s) to execute",
        #"{"ts":1627025408920.852,"caller":"app/server.go:495","msg":"Failed to run kube-proxy","v":0,"err":"open /proc/sys/net/netfilter/nf_conntrack_max: permission denied"}"#,
        #"[FATAL] plugin/loop: Loop (127.0.0.1:55953 -> :53) detected for zone ".""#,
        "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1]\n\ngoroutine 1 [running]:\nmain.main()\n\t/go/src/main.go:12 +0x1a",
        "plain words with an error in them",
    ]
    lines += lines.flatMap { l in Wrap.allCases.map { $0.apply(l) } }
    return lines
}()

/// A line of `fuzzSeeds` with up to `edits - 1` random edits: a byte set to an interesting value
/// or to any value, a run removed, a run repeated elsewhere. Shared by the fuzzers.
func mutatedSeedLine(_ rng: inout XorShift, interesting: [UInt8], edits: Int) -> [UInt8] {
    var line = Array(fuzzSeeds[rng.below(fuzzSeeds.count)].utf8)
    for _ in 0..<rng.below(edits) where !line.isEmpty {
        let at = rng.below(line.count)
        switch rng.below(4) {
        case 0: line[at] = interesting[rng.below(interesting.count)]
        case 1: line.removeSubrange(at..<min(line.count, at + 1 + rng.below(12)))
        case 2: line.insert(contentsOf: line[at..<min(line.count, at + rng.below(20))], at: rng.below(line.count))
        default: line[at] = UInt8(truncatingIfNeeded: rng.next())
        }
    }
    return line
}

@Suite struct RobustnessTests {
    /// Runs bytes through the whole pipeline (reader, envelopes, formats, rules) at a tiny buffer size.
    @discardableResult
    func pipeline(_ bytes: [UInt8], capacity: Int = 16, maxLine: Int = 1 << 16) throws -> (events: Int, lines: Int) {
        let d = Diagnoser(ruleSet: librarySet)
        var events = 0
        var source = EventSource(source: MemorySource(bytes, chunk: 5), inputIndex: d.addInput("fuzz"),
                                 options: ParseOptions(year: YearTracker(year: 2021), maxLineBytes: maxLine), capacity: capacity)
        var firstLines: [Int] = []
        try source.run { e in
            firstLines.append(e.lineNumber)
            events += 1
            d.consume(e)
        }
        // Joined partial records may arrive after other streams' lines, and an over-long line is
        // split into several events, but every event starts at a real line.
        let total = source.reader.lineNumber
        #expect(firstLines.allSatisfy { $0 >= 1 && $0 <= max(1, total) })
        _ = Report(results: d.results, ruleSet: librarySet)
        return (events, total)
    }

    @Test func badInputsFromFormatsMdNeverCrashOrLoseTheNextLine() throws {
        let next = Array("\nI0723 07:30:09.000000 1 after.go:1] the line after".utf8)
        let bad: [[UInt8]] = [
            [0xFF, 0xFE, 0xC3, 0x28, 0xE2, 0x82],                     // invalid UTF-8
            Array("I0723 07:30:08.1 1 a.go:1] nul\u{0}in\u{0}line".utf8),  // NUL bytes
            Array("I0723 07:30:08.1 1 a.go:1] crlf\r".utf8),           // CRLF
            [UInt8](repeating: 0x41, count: 200_000),                  // one huge line
            Array(#"{"log":"I0723 07:30:08.1 1 a.go:1] trunc"#.utf8),  // truncated JSON
            Array(#"{"ts":"#.utf8),
            Array("2021-07-23T07:30:08.920852123Z stderr P partial with no final record".utf8),
            [],
        ]
        for b in bad {
            var sawAfter = false
            let d = Diagnoser(ruleSet: librarySet)
            var source = EventSource(source: MemorySource(b + next, chunk: 3), inputIndex: d.addInput("bad"),
                                     options: ParseOptions(year: YearTracker(year: 2021), maxLineBytes: 65536), capacity: 8)
            try source.run { e in
                if e.message.string.contains("the line after") { sawAfter = true }
                d.consume(e)
            }
            #expect(sawAfter, "the line after \(b.prefix(20)) was lost")
        }
    }

    @Test func aPartialRecordAtTheEndIsDeliveredNotDropped() throws {
        let text = "2021-07-23T07:30:08.920852123Z stderr P F0723 07:30:08.945634 1 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied"
        let e = parse(text)
        #expect(e.count == 1)
        #expect(e.first?.message.contains("nf_conntrack_max") == true)
    }

    @Test func aGoPanicIsOneFatalEvent() {
        let e = parse("panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x1]\n\ngoroutine 1 [running]:\nmain.main()\n\t/go/src/main.go:12 +0x1a\nI0723 07:30:09.000000 1 b.go:2] next")
        #expect(e.count == 2)
        #expect(e[0].severity == .fatal)
        #expect(e[0].lineCount == 6)
        #expect(e[1].lineNumber == 7)
    }

    @Test func aMixedStreamGetsTheRightFormatSeverityTimeAndComponentPerEvent() {
        let text = [
            Wrap.dockerTS.apply("I0723 07:30:08.920930 1 server.go:650] Version: v1.20.8"),
            "[pod/kube-proxy-x7k2p/kube-proxy] W0723 07:30:08.944553 1 server_others.go:584] Unknown proxy mode \"\", assuming iptables proxy",
            "Jul 23 07:31:00 node1 kubelet[1234]: E0723 07:31:00.000001 1234 kubelet.go:1384] \"Failed to start ContainerManager\" err=\"x\"",
            RancherTests.seedLine,
            #"{"level":"error","ts":"2021-07-23T07:41:00.5Z","caller":"etcdserver/server.go:1","msg":"etcdserver: mvcc: database space exceeded"}"#,
            #"2021-07-23T07:42:00+0000 node1 k3s[811]: time="2021-07-23T07:42:00Z" level=warning msg="Unable to watch""#,
            "INFO[0003] [network] Port listening check completed",
            "just some words",
        ].joined(separator: "\n")
        let e = parse(text)
        #expect(e.map(\.format) == [.klog, .klog, .klog, .rancher, .etcdJSON, .logrus, .logrusTTY, .plain])
        #expect(e.map(\.severity) == [.info, .warning, .error, .error, .error, .warning, .info, .info])
        #expect(e.map(\.envelope) == [.dockerTS, .kubectlPrefix, .journaldShort, nil, nil, .journaldISO, nil, nil])
        #expect(e.map(\.component) == [nil, "kube-proxy", "kubelet", nil, nil, "k3s", nil, nil])
        #expect(e[0].time == "2021-07-23T07:30:08.920852Z", "the envelope's full date wins")
        #expect(e[2].time == "2021-07-23T07:31:00.000000Z")
        #expect(e[4].time == "2021-07-23T07:41:00.500000Z")
        #expect(e[5].time == "2021-07-23T07:42:00.000000Z")
    }

    /// Random and mutated lines of every format through the whole pipeline. Runs for
    /// LOGDIAG_FUZZ_SECONDS (default 2) so `make test` stays quick; `make fuzz` runs longer.
    @Test func fuzzTheWholePipeline() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["LOGDIAG_FUZZ_SECONDS"] ?? "") ?? 2
        var rng = XorShift(state: UInt64(ProcessInfo.processInfo.environment["LOGDIAG_FUZZ_SEED"] ?? "") ?? 0x9E37_79B9_7F4A_7C15)
        let end = Date().addingTimeInterval(seconds)
        var runs = 0
        let interesting: [UInt8] = [0x00, 0x0A, 0x0D, 0x1B, 0x22, 0x5C, 0x5B, 0x5D, 0x7B, 0x7D, 0x3A, 0x3D, 0x20, 0x09, 0xFF, 0xC3, 0x30, 0x39]
        while Date() < end {
            var input: [UInt8] = []
            for _ in 0..<(1 + rng.below(8)) {
                input += mutatedSeedLine(&rng, interesting: interesting, edits: 6) + (rng.below(10) == 0 ? [] : [0x0A])
            }
            try pipeline(input, capacity: 1 + rng.below(64), maxLine: 64 + rng.below(4096))
            runs += 1
        }
        #expect(runs > 0)
    }
}
