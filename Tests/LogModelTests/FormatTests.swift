import Testing
@testable import LogModel

/// Parses `text` (one or more lines) and returns a summary of each event.
struct ParsedEvent {
    var format: PayloadFormat
    var envelope: EnvelopeKind?
    var severity: Severity
    var time: String?
    var pid: Int?
    var file: String?
    var line: Int?
    var component: String?
    var message: String
    var lineNumber: Int
    var lineCount: Int
    var inner: [ParsedEvent]
}

func parse(_ text: String, year: Int = 2021, component: Component? = nil) -> [ParsedEvent] {
    var out: [ParsedEvent] = []
    func summary(_ e: borrowing LogEvent) -> ParsedEvent {
        ParsedEvent(format: e.format, envelope: e.envelope, severity: e.severity, time: e.time?.rfc3339, pid: e.pid,
                    file: e.sourceFile?.string, line: e.sourceLine, component: e.component?.name,
                    message: e.message.string, lineNumber: e.lineNumber, lineCount: e.lineCount,
                    inner: e.inner.map { summary($0) })
    }
    var source = EventSource(source: MemorySource(text, chunk: 13), inputIndex: 0,
                             options: ParseOptions(year: YearTracker(year: year), component: component), capacity: 32)
    try? source.run { e in out.append(summary(e)) }
    return out
}

@Suite struct KlogTests {
    @Test func headerFieldsAreParsedByOffset() {
        let e = parse("F0723 07:30:08.945634   12314 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied")
        #expect(e.count == 1)
        #expect(e[0].format == .klog)
        #expect(e[0].severity == .fatal)
        #expect(e[0].time == "2021-07-23T07:30:08.945634Z")
        #expect(e[0].pid == 12314)
        #expect(e[0].file == "server.go")
        #expect(e[0].line == 495)
        #expect(e[0].message == "open /proc/sys/net/netfilter/nf_conntrack_max: permission denied")
    }

    @Test func squeezedSpacesAndDirectoryHeadersParse() {
        let e = parse("I0723 07:30:08.920930 1 k8s.io/kubernetes/cmd/kube-proxy/app/server.go:226] hello")
        #expect(e[0].format == .klog && e[0].file == "k8s.io/kubernetes/cmd/kube-proxy/app/server.go" && e[0].pid == 1)
    }

    @Test func yearRollsOverFromDecemberToJanuary() {
        let e = parse("I1231 23:59:59.000000 1 a.go:1] a\nI0101 00:00:01.000000 1 a.go:1] b", year: 2021)
        #expect(e.map(\.time) == ["2021-12-31T23:59:59.000000Z", "2022-01-01T00:00:01.000000Z"])
    }

    /// A pipe has no clock: the first dated line in the input (here Rancher's, after the klog
    /// lines) gives the year of the klog lines, and a dated line also sets it for the klog lines
    /// that follow it.
    @Test func pipedKlogTakesTheYearOfTheDatedLines() throws {
        let text = """
            I0723 07:30:08.920930 1 server.go:1] first
            2021/07/23 07:40:55 [ERROR] Failed to upgrade worker components
            I0723 07:41:00.000000 1 server.go:1] after rancher
            2019/12/31 23:59:00 [INFO] clock moved
            I0101 00:00:01.000000 1 server.go:1] new year
            """
        let d = Diagnoser(ruleSet: try RuleSet(rules: []))
        var times: [String?] = []
        try Analyzer().run(source: MemorySource(text), name: "<stdin>", mtime: nil, into: d) { e in
            times.append(e.time?.rfc3339)
        }
        #expect(times == ["2021-07-23T07:30:08.920930Z", "2021-07-23T07:40:55.000000Z", "2021-07-23T07:41:00.000000Z",
                          "2019-12-31T23:59:00.000000Z", "2020-01-01T00:00:01.000000Z"])
        // --year and a file's time still decide when given.
        var withYear: [String?] = []
        try Analyzer(year: 2024).run(source: MemorySource(text), name: "<stdin>", mtime: nil, into: d) { e in
            withYear.append(e.time?.rfc3339)
        }
        #expect(withYear.first == "2024-07-23T07:30:08.920930Z")
    }

    @Test(arguments: [
        ("plain text\n2021/07/23 07:40:55 [ERROR] x", 2021, 7),
        ("time=\"2019-03-02T10:00:00Z\" level=info msg=x", 2019, 3),
        ("2020-11-05T12:00:00.1Z I0723 07:30:08.9 1 a.go:1] x", 2020, 11),
    ])
    func firstLineDate(_ text: String, _ year: Int, _ month: Int) {
        let found = Array(text.utf8).withUnsafeBufferPointer { ByteScan.firstLineDate(in: $0) }
        #expect(found?.year == year && found?.month == month)
    }

    @Test(arguments: ["I0723 07:30:08.920930 1 a.go:1] 2021/07/23 in the middle", "2021/13/01 no month 13", "12021-07-23", ""])
    func noLineDate(_ text: String) {
        #expect(Array(text.utf8).withUnsafeBufferPointer { ByteScan.firstLineDate(in: $0) } == nil)
    }

    @Test func aGoroutineDumpJoinsTheFatalEvent() {
        let text = """
            F0723 07:30:08.945634 1 server.go:495] boom
            goroutine 1 [running]:
            k8s.io/klog/v2.stacks(0x1)
            \t/go/src/klog.go:1026 +0x8a
            I0723 07:30:09.000000 1 server.go:1] next
            """
        let e = parse(text)
        #expect(e.count == 2)
        #expect(e[0].lineCount == 4)
        #expect(e[0].message.hasPrefix("boom\ngoroutine 1 [running]:"))
        #expect(e[1].lineNumber == 5)
    }

    @Test func notKlogFallsBackToPlainWithAGuessedSeverity() {
        let e = parse("Iz23 nonsense line that failed")
        #expect(e[0].format == .plain && e[0].severity == .error)
    }
}

@Suite struct RancherTests {
    static let seedLine = #"2021/07/23 07:40:55 [ERROR] Failed to upgrade worker components on NotReady hosts, error: [Failed to verify healthcheck: Failed to check http://localhost:10256/healthz for service [kube-proxy] on host [192.168.15.161]: Get "http://localhost:10256/healthz": dial tcp 127.0.0.1:10256: connect: connection refused, log: F0723 07:40:32.920751   19619 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied]"#

    @Test func theQuotedKlogLineBecomesAnInnerEventOfTheNamedService() {
        let e = parse(RancherTests.seedLine)
        #expect(e.count == 1)
        #expect(e[0].format == .rancher && e[0].severity == .error)
        #expect(e[0].time == "2021-07-23T07:40:55.000000Z")
        #expect(!e[0].message.contains("nf_conntrack_max"))
        let inner = e[0].inner
        #expect(inner.count == 1)
        #expect(inner.first?.format == .klog)
        #expect(inner.first?.severity == .fatal)
        #expect(inner.first?.component == "kube-proxy")
        #expect(inner.first?.message == "open /proc/sys/net/netfilter/nf_conntrack_max: permission denied")
    }
}

@Suite struct OtherFormatTests {
    @Test func logrusText() {
        let e = parse(#"time="2021-07-23T07:40:55Z" level=error msg="Failed to connect to proxy" error="x509: certificate signed by unknown authority""#)
        #expect(e[0].format == .logrus && e[0].severity == .error && e[0].time == "2021-07-23T07:40:55.000000Z")
        #expect(e[0].message.hasPrefix("Failed to connect to proxy"))
        #expect(e[0].message.contains("x509: certificate signed by unknown authority"))
    }

    @Test func logrusTTYAndAgentScript() {
        let e = parse("FATA[0120] Failed to get job complete status\nERROR: https://rancher.example.com/ping is not accessible")
        #expect(e.map(\.format) == [.logrusTTY, .agentScript])
        #expect(e.map(\.severity) == [.fatal, .error])
    }

    @Test func etcdZapAndCapnslog() {
        let e = parse(#"""
            {"level":"warn","ts":"2021-07-23T07:40:55.123Z","caller":"etcdserver/util.go:166","msg":"apply request took too long","took":"1.2s"}
            2021-07-23 07:40:55.123456 W | etcdserver: read-only range request took too long (1.2s) to execute
            """#)
        #expect(e.map(\.format) == [.etcdJSON, .capnslog])
        #expect(e.map(\.severity) == [.warning, .warning])
        #expect(e[0].time == "2021-07-23T07:40:55.123000Z")
        #expect(e[1].message.hasPrefix("etcdserver: read-only"))
    }

    @Test func kubernetesJSONWithErrIsAnError() {
        let e = parse(#"{"ts":1627025408920.852,"caller":"app/server.go:495","msg":"Failed to run kube-proxy","v":0,"err":"open /proc/sys/net/netfilter/nf_conntrack_max: permission denied"}"#)
        #expect(e[0].format == .kubeJSON && e[0].severity == .error)
        #expect(e[0].time?.hasPrefix("2021-07-23T07:30:08.92") == true)
        #expect(e[0].message.contains("nf_conntrack_max: permission denied"))
    }

    @Test func coreDNS() {
        let e = parse(#"[FATAL] plugin/loop: Loop (127.0.0.1:55953 -> :53) detected for zone ".""#)
        #expect(e[0].format == .coredns && e[0].severity == .fatal)
    }
}
