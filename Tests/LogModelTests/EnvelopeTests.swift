import Testing
@testable import LogModel

/// Ways a payload line can arrive; each must give the same event as the bare line.
enum Wrap: String, CaseIterable, CustomTestStringConvertible {
    case bare, dockerTS, cri, criSplit, dockerJSON, dockerJSONSplit, kubectlPrefix, kubectlOverDockerTS, journaldShort,
         journaldJSON, ansi

    var testDescription: String { rawValue }

    static func jsonEscape(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    func apply(_ line: String) -> String {
        let ts = "2021-07-23T07:30:08.920852123Z"
        switch self {
        case .bare: return line
        case .dockerTS: return "\(ts) \(line)"
        case .cri: return "\(ts) stderr F \(line)"
        case .criSplit:
            let cut = line.index(line.startIndex, offsetBy: line.count / 2)
            return "\(ts) stderr P \(line[..<cut])\n\(ts) stdout F unrelated stdout line\n\(ts) stderr F \(line[cut...])"
        case .dockerJSON:
            return #"{"log":"\#(Wrap.jsonEscape(line))\n","stream":"stderr","time":"\#(ts)"}"#
        case .dockerJSONSplit:
            let cut = line.index(line.startIndex, offsetBy: line.count / 3)
            return #"{"log":"\#(Wrap.jsonEscape(String(line[..<cut])))","stream":"stderr","time":"\#(ts)"}"# + "\n"
                + #"{"log":"\#(Wrap.jsonEscape(String(line[cut...])))\n","stream":"stderr","time":"\#(ts)"}"#
        // Neutral names: a wrapper must not change which component-specific rules apply.
        case .kubectlPrefix: return "[pod/app-x7k2p/app] \(line)"
        case .kubectlOverDockerTS: return "[pod/app-x7k2p/app] \(ts) \(line)"
        case .journaldShort: return "Jul 23 07:30:08 node1 app[1234]: \(line)"
        case .journaldJSON:
            return #"{"__REALTIME_TIMESTAMP":"1627025408920852","_HOSTNAME":"node1","SYSLOG_IDENTIFIER":"app","_PID":"1234","PRIORITY":"3","MESSAGE":"\#(Wrap.jsonEscape(line))"}"#
        case .ansi: return "\u{1B}[31m\(line)\u{1B}[0m"
        }
    }

    var envelope: EnvelopeKind? {
        switch self {
        case .bare, .ansi: nil
        case .dockerTS: .dockerTS
        case .cri, .criSplit: .cri
        case .dockerJSON, .dockerJSONSplit: .dockerJSON
        case .kubectlPrefix, .kubectlOverDockerTS: .kubectlPrefix
        case .journaldShort: .journaldShort
        case .journaldJSON: .journaldJSON
        }
    }
}

@Suite struct EnvelopeTests {
    static let line = #"E0723 07:30:08.920852    1234 kubelet.go:1384] "Failed to start ContainerManager" err="failed to get rootfs info: \"quoted\" value""#

    @Test(arguments: Wrap.allCases)
    func everyEnvelopeYieldsTheSamePayloadEvent(_ wrap: Wrap) {
        let events = parse(wrap.apply(EnvelopeTests.line)).filter { !$0.message.contains("unrelated") }
        #expect(events.count == 1)
        guard let e = events.first else { return }
        #expect(e.envelope == wrap.envelope)
        #expect(e.format == .klog)
        #expect(e.severity == .error)
        #expect(e.message == #""Failed to start ContainerManager" err="failed to get rootfs info: \"quoted\" value""#)
        #expect(e.time?.hasPrefix("2021-07-23T07:30:08") == true)
        #expect(e.lineNumber == 1)
    }

    @Test func journaldAndKubectlNameTheComponent() {
        #expect(parse("Jul 23 07:30:08 node1 kubelet[1234]: I0723 07:30:08.1 1 a.go:1] x").first?.component == "kubelet")
        #expect(parse("[pod/kube-proxy-x7k2p/kube-proxy] I0723 07:30:08.1 1 a.go:1] x").first?.component == "kube-proxy")
        #expect(parse("[pod/app-1/app] I0723 07:30:08.1 1 a.go:1] x").first?.component == nil)
    }

    @Test func journaldJSONByteArrayMessage() {
        let e = parse(#"{"__REALTIME_TIMESTAMP":"1627025408920852","SYSLOG_IDENTIFIER":"kubelet","MESSAGE":[104,105,255]}"#)
        #expect(e.first?.envelope == .journaldJSON)
        #expect(e.first?.message == "hi\u{FFFD}")
    }

    @Test func truncatedJSONDoesNotSwallowTheNextLine() {
        let e = parse(#"{"log":"I0723 07:30:08.1 1 a.go:1] cut"# + "\nI0723 07:30:09.000000 1 b.go:2] next")
        #expect(e.count == 2)
        #expect(e.last?.message == "next")
        #expect(e.last?.lineNumber == 2)
    }

    @Test func componentFromPaths() {
        #expect(Component.fromPath("/var/log/containers/kube-proxy-x7k2p_kube-system_kube-proxy-0123abcd.log")?.name == "kube-proxy")
        #expect(Component.fromPath("/var/log/pods/kube-system_kube-proxy-x_1234/kube-proxy/0.log")?.name == "kube-proxy")
        #expect(Component.fromPath("bundle/rke/containerlogs/kube-proxy")?.name == "kube-proxy")
        #expect(Component.fromPath("bundle/journald/kubelet")?.name == "kubelet")
        #expect(Component.fromPath("notes/readme.txt") == nil)
    }
}

@Suite struct EnvelopeRegressionTests {
    /// A CoreDNS line behind `docker logs -t` once parsed as journald short-iso (host `[FATAL]`).
    @Test func coreDNSBehindADockerTimestampIsNotJournald() {
        let e = parse(#"2019-04-17T00:18:44.486Z [FATAL] plugin/loop: Loop (127.0.0.1:55953 -> :53) detected for zone ".""#)
        #expect(e.first?.envelope == .dockerTS)
        #expect(e.first?.format == .coredns)
        #expect(e.first?.message.hasPrefix("plugin/loop: Loop") == true)
    }

    @Test func journaldISOStillParses() {
        let e = parse(#"2021-07-23T07:30:08+0000 node1 k3s[811]: time="2021-07-23T07:30:08Z" level=error msg="boom""#)
        #expect(e.first?.envelope == .journaldISO)
        #expect(e.first?.component == "k3s")
        #expect(e.first?.format == .logrus)
    }
}
