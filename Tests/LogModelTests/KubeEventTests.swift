import Testing
@testable import LogModel

/// Kubernetes events as operators paste them: `kubectl describe` tables, `kubectl get events`
/// rows (plain, `-A`, `-o wide`) and `-o json` / `-o yaml` documents.
@Suite struct KubeEventTests {
    static let describe = """
        Events:
          Type     Reason                  Age                  From               Message
          ----     ------                  ----                 ----               -------
          Normal   Scheduled               4m                   default-scheduler  Successfully assigned kube-system/coredns-x to node-1
          Warning  FailedCreatePodSandBox  3m (x12 over 4m)     kubelet            Failed to create pod sandbox: open /run/flannel/subnet.env: no such file or directory
          Warning  Unhealthy  40s (x7381 over 20h)  kubelet, lxkubenode02  Readiness probe failed: Get http://10.244.2.5:8181/ready: dial tcp 10.244.2.5:8181: connect: connection refused
        """

    @Test func describeRowsAreEventsWithTypeCountAndSource() {
        let e = parse(KubeEventTests.describe)
        #expect(e.count == 6)
        #expect(e[0...2].allSatisfy { $0.format == .plain }, "the heading and the column header stay plain")
        #expect(e[3].format == .kubeEvent && e[3].severity == .info && e[3].component == "kube-scheduler")
        #expect(e[4].format == .kubeEvent && e[4].severity == .warning && e[4].component == "kubelet")
        #expect(e[4].message.hasPrefix("FailedCreatePodSandBox "))
        #expect(e[4].message.hasSuffix("subnet.env: no such file or directory"))
        #expect(e[5].component == "kubelet", "old kubectl: `kubelet, HOST`")
        #expect(e[5].time == nil, "ages are relative: no clock")
    }

    @Test func describeRowsAfterAKlogLineAreNotItsContinuation() {
        let e = parse("E0723 07:30:08.1 1 a.go:1] boom\n  Warning  BackOff  90s (x7 over 3m10s)  kubelet  Back-off restarting failed container")
        #expect(e.count == 2)
        #expect(e[1].format == .kubeEvent)
    }

    @Test(arguments: [
        ("3m12s       Warning   FailedScheduling   pod/web-1              0/3 nodes are available: 3 Insufficient cpu.", 1),
        ("kube-system   59s   Warning   BackOff   pod/coredns-x   Back-off restarting failed container", 1),
        ("<unknown>   Warning   FailedMount   pod/db-0   MountVolume.SetUp failed for volume \"data\"", 1),
        ("2m   Warning   BackOff   pod/web-1   spec.containers{web}   kubelet, node-1   Back-off restarting failed container   10m   27   web-1.16f0a1b2c3d4e5f6", 27),
    ])
    func getEventsRows(_ line: String, _ count: Int32) {
        let e = parse(line)
        #expect(e.count == 1)
        #expect(e.first?.format == .kubeEvent && e.first?.severity == .warning, "\(line)")
        #expect(events(line).first?.repeats == count)
    }

    @Test(arguments: [
        "LAST SEEN   TYPE      REASON             OBJECT                 MESSAGE",
        "Warning: resource deployments/web is missing the last-applied annotation",
        "Normal operation resumed after 3m",
        "I0723 07:30:08.1 1 a.go:1] Warning  BackOff  90s  kubelet  x",
        "  Warning  lowercase  3m  kubelet  not a reason",
        "kube-system   Warning   BackOff   pod/x   the column before the type is no age",
    ])
    func linesThatAreNotEventRows(_ line: String) {
        #expect(parse(line).first?.format != .kubeEvent, "\(line)")
    }

    static let yaml = """
        apiVersion: v1
        items:
        - apiVersion: v1
          count: 12
          firstTimestamp: "2021-07-23T07:26:58Z"
          involvedObject:
            kind: Pod
            name: coredns-5c98db65d4-abcde
            namespace: kube-system
          kind: Event
          lastTimestamp: "2021-07-23T07:30:08Z"
          message: 'Failed to create pod sandbox: rpc error: code = Unknown desc = failed
            to set up sandbox container network: open /run/flannel/subnet.env: no such file
            or directory'
          reason: FailedCreatePodSandBox
          source:
            component: kubelet
          type: Warning
        - apiVersion: v1
          count: 1
          involvedObject:
            kind: Pod
            name: web-1
          kind: Event
          lastTimestamp: "2021-07-23T07:31:00Z"
          message: Successfully assigned default/web-1 to node-1
          reason: Scheduled
          type: Normal
        kind: List
        metadata:
          resourceVersion: ""
        """

    static let json = """
        {
            "apiVersion": "v1",
            "items": [
                {
                    "apiVersion": "v1",
                    "count": 12,
                    "firstTimestamp": "2021-07-23T07:26:58Z",
                    "involvedObject": {
                        "kind": "Pod",
                        "name": "coredns-5c98db65d4-abcde"
                    },
                    "kind": "Event",
                    "lastTimestamp": "2021-07-23T07:30:08Z",
                    "message": "Failed to create pod sandbox: open /run/flannel/subnet.env: no such file or directory\\nsecond line",
                    "reason": "FailedCreatePodSandBox",
                    "type": "Warning"
                }
            ],
            "kind": "List"
        }
        """

    static let rule = """
        rules:
          - id: test.sandbox
            title: sandbox
            severity: error
            match: {literals: ['FailedCreatePodSandBox'], pattern: 'FailedCreatePodSandBox\\b.*?(?<object>pod/\\S+).*subnet\\.env'}
            key: [object]
            cause: c
            fix: f
            references: [https://example.com]
            samples:
              match: ['  Warning  FailedCreatePodSandBox  3m  kubelet  pod/x open /run/flannel/subnet.env: no such file']
              no-match: ['  Normal  Scheduled  3m  default-scheduler  ok']
        """

    func diagnose(_ text: String, name: String) throws -> (DiagnosisResults, InputSummary) {
        let (rules, errors) = RuleLoader.load(text: KubeEventTests.rule, file: "t.yaml")
        #expect(errors.isEmpty)
        let d = Diagnoser(ruleSet: try RuleSet(rules: rules))
        let s = try Analyzer(year: 2021).run(source: MemorySource(text, chunk: 97), name: name, mtime: nil, into: d)
        return (d.results, s)
    }

    @Test(arguments: [("yaml", KubeEventTests.yaml, 12), ("json", KubeEventTests.json, 14)])
    func eventListsBecomeOneEventEachWithTheirCountTimeAndLine(_ kind: String, _ text: String, _ messageLine: Int) throws {
        let (r, s) = try diagnose(text, name: "events.\(kind)")
        #expect(s.lines == text.split(separator: "\n", omittingEmptySubsequences: false).count, "lines counted in the file")
        let f = try #require(r.findings.values.first)
        #expect(r.findings.count == 1)
        #expect(f.count == 12, "the event's count")
        #expect(f.captures["object"] == "pod/coredns-5c98db65d4-abcde")
        #expect(f.first?.rfc3339 == "2021-07-23T07:30:08.000000Z")
        #expect(f.evidence.first?.line == messageLine, "evidence points at the message in the document")
        #expect(f.evidence.first?.text.contains("\n") == false, "one row per event")
        #expect(s.events == (kind == "yaml" ? 2 : 1))
    }

    @Test func aDocumentThatIsNoEventListIsReadAsLines() throws {
        // Looks like one at the start, but does not parse: nothing is dropped.
        let broken = "{\n  \"kind\": \"Event\",\n  \"message\": \"E0723 07:30:08.1 1 a.go:1] kept\"\n"
        let (_, s) = try diagnose(broken, name: "x.json")
        #expect(s.lines == 3 && s.events == 3)
        // Nested a thousand levels deep: refused before the YAML composer recurses.
        let deep = "{\"kind\": \"Event\", \"a\": " + String(repeating: "[", count: 100_000) + "\n"
        let (_, d) = try diagnose(deep, name: "deep.json")
        #expect(d.events == 1)
    }

    /// A row's count meets a rule's threshold as that many lines would.
    @Test(arguments: [(7, true), (3, false)])
    func anEventCountCountsTowardsAThreshold(_ count: Int, _ met: Bool) throws {
        let rule = """
            rules:
              - id: test.probe
                title: probe
                severity: warning
                match: {literals: ['probe failed'], pattern: 'Unhealthy\\b.*?(?<kind>Liveness|Readiness) probe failed'}
                key: [kind]
                threshold: {count: 5, within: 10m}
                cause: c
                fix: f
                references: [https://example.com]
                samples:
                  match: ['  Warning  Unhealthy  3m  kubelet  Liveness probe failed: x']
                  no-match: ['  Normal  Pulled  3m  kubelet  ok']
            """
        let (rules, errors) = RuleLoader.load(text: rule, file: "t.yaml")
        #expect(errors.isEmpty)
        let set = try RuleSet(rules: rules)
        let d = Diagnoser(ruleSet: set)
        let row = "  Warning  Unhealthy  12m (x\(count) over 1h)  kubelet  Liveness probe failed: Get http://10.1.0.5:8080/healthz: connection refused\n"
        try Analyzer(year: 2021).run(source: MemorySource(row), name: "describe.txt", mtime: nil, into: d)
        let report = Report(results: d.results, ruleSet: set)
        #expect((report.incidents.first?.cause.rule.id == "test.probe") == met)
    }

    func events(_ line: String) -> [(repeats: Int32, format: PayloadFormat)] {
        var out: [(Int32, PayloadFormat)] = []
        var source = EventSource(source: MemorySource(line + "\n"), inputIndex: 0, options: ParseOptions())
        try? source.run { e in out.append((e.repeats, e.format)) }
        return out.map { (repeats: $0.0, format: $0.1) }
    }
}
