import Foundation
import Glibc
import Testing
@testable import LogModel
@testable import LogServe

/// The seed's kube-proxy failure as the CRI writes it to /var/log/pods, stamped `t`.
func criSeedLine(at t: Double) -> String {
    let ts = Timestamp(nanos: Int64(t * 1e9))
    let c = ts.civil
    let klog = String(format: "F%02d%02d %02d:%02d:%02d.000000", c.month, c.day, c.hour, c.minute, c.second)
    return "\(ts.rfc3339) stderr F \(klog)       1 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied\n"
}

private let seedRule = "kube-proxy.conntrack-max-permission"

func appendLine(_ text: String, to path: String) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    precondition(fd >= 0)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}

/// What a running watcher said, collected from its thread.
final class WatchRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var _changes: [(rule: String, change: Watcher.FindingChange)] = []
    private var _snapshot: WatchSnapshot?
    private var _notices: [String] = []

    var changes: [(rule: String, change: Watcher.FindingChange)] { lock.withLock { _changes } }
    var snapshot: WatchSnapshot? { lock.withLock { _snapshot } }
    var notices: [String] { lock.withLock { _notices } }

    func attach(_ w: Watcher) {
        w.became = { [self] f, c in lock.withLock { _changes.append((f.rule.id, c)) } }
        w.published = { [self] s in lock.withLock { _snapshot = s } }
        w.notice = { [self] n in lock.withLock { _notices.append(n) } }
    }

    /// Waits up to `seconds` for `condition` to hold.
    @discardableResult
    func wait(_ seconds: Double = 5, _ condition: (WatchRecorder) -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition(self) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition(self)
    }
}

/// A watcher on its own thread, with a clock the test moves.
final class RunningWatcher: @unchecked Sendable {
    let watcher: Watcher
    let recorder = WatchRecorder()
    /// Seconds the test moved the clock on.
    final class Offset: @unchecked Sendable {
        private let lock = NSLock()
        private var seconds = 0.0
        var value: Double { lock.withLock { seconds } }
        func add(_ s: Double) { lock.withLock { seconds += s } }
    }
    private let offset = Offset()
    private let done = DispatchSemaphore(value: 0)

    init(_ sources: [WatchSource], window: Int = 60, tail: Int = 0, exclude: [String] = []) {
        var config = WatchConfiguration(sources: sources, node: "node-a", window: window, tail: tail, repeatInterval: 0)
        config.exclude = exclude
        watcher = Watcher(ruleSet: librarySet, analyzer: Analyzer(), configuration: config)
        watcher.sweepSeconds = 0.2
        let offset = self.offset
        watcher.clock = { Watcher.unixNow() + offset.value }
        recorder.attach(watcher)
        let w = watcher, done = self.done
        Thread { try? w.run(); done.signal() }.start()
        // Sources are open once the first snapshot is out: lines written after it are new.
        recorder.wait { $0.snapshot != nil }
    }

    var now: Double { Watcher.unixNow() + offset.value }
    func advance(_ seconds: Double) { offset.add(seconds) }

    func stop() {
        watcher.stop()
        done.wait()
    }

    func finding(_ rule: String) -> WatchSnapshot.FindingState? {
        recorder.snapshot?.findings.first { $0.rule == rule }
    }
}

@Suite(.serialized) struct WatchTests {
    /// New when its line arrives, resolved when the window passes without another, new again on
    /// the next line; the total keeps counting across windows.
    @Test func aFindingIsActiveForItsWindowAndCountsOnAcrossWindows() throws {
        let dir = try tempDir("watch-window")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.path + "/kube-proxy.log"
        appendLine("", to: file)
        let w = RunningWatcher([.files(dir.path + "/*.log")], window: 60)
        defer { w.stop() }
        appendLine(criSeedLine(at: w.now), to: file)
        #expect(w.recorder.wait { r in r.changes.contains { $0.rule == seedRule && $0.change == .new } })
        #expect(w.recorder.wait { _ in w.finding(seedRule)?.active == true })
        w.advance(61)
        #expect(w.recorder.wait(8) { r in r.changes.contains { $0.rule == seedRule && $0.change == .resolved } },
                "\(w.recorder.changes)")
        #expect(w.finding(seedRule)?.active == false)
        appendLine(criSeedLine(at: w.now), to: file)
        #expect(w.recorder.wait { r in r.changes.filter { $0.rule == seedRule && $0.change == .new }.count == 2 },
                "\(w.recorder.changes)")
        #expect(w.recorder.wait { _ in w.finding(seedRule)?.total == 2 && w.finding(seedRule)?.active == true })
    }

    /// A line whose own time is older than the window (a saved log, `--tail` at start-up) is
    /// counted but never active.
    @Test func oldEvidenceIsCountedButNotActive() throws {
        let dir = try tempDir("watch-old")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.path + "/kube-proxy.log"
        appendLine(criSeedLine(at: Watcher.unixNow() - 3600), to: file)
        let w = RunningWatcher([.files(file)], window: 60, tail: 10)
        defer { w.stop() }
        #expect(w.recorder.wait { _ in w.finding(seedRule)?.total == 1 })
        #expect(w.finding(seedRule)?.active == false)
        #expect(!w.recorder.changes.contains { $0.change == .new })
    }

    /// Files that come and go leave nothing open; rotation reads the new file; the same file
    /// through a link (/var/log/containers) is read once.
    @Test func filesComeAndGoAndNothingStaysOpen() throws {
        let dir = try tempDir("watch-churn")
        defer { try? FileManager.default.removeItem(at: dir) }
        let links = dir.appendingPathComponent("links")
        try FileManager.default.createDirectory(at: links, withIntermediateDirectories: true)
        let w = RunningWatcher([.files(dir.path + "/*.log"), .files(links.path + "/*.log")], window: 600,
                               exclude: ["*/skip-*"])
        defer { w.stop() }
        for i in 0..<150 { appendLine(criSeedLine(at: w.now), to: dir.path + "/pod-\(i).log") }
        try FileManager.default.createSymbolicLink(atPath: links.path + "/pod-0.log", withDestinationPath: dir.path + "/pod-0.log")
        appendLine(criSeedLine(at: w.now), to: dir.path + "/skip-me.log")
        #expect(w.recorder.wait(10) { _ in w.finding(seedRule)?.total == 150 }, "\(String(describing: w.finding(seedRule)))")
        #expect(w.recorder.snapshot?.openSources == 150, "the link is the same file; skip-me is excluded")
        for i in 1..<150 { try FileManager.default.removeItem(atPath: dir.path + "/pod-\(i).log") }
        #expect(w.recorder.wait(10) { r in r.snapshot?.openSources == 1 })
        // Rotation: the old name moves away, a new file takes it.
        try FileManager.default.moveItem(atPath: dir.path + "/pod-0.log", toPath: dir.path + "/pod-0.log.1")
        appendLine(criSeedLine(at: w.now), to: dir.path + "/pod-0.log")
        #expect(w.recorder.wait(10) { _ in w.finding(seedRule)?.total == 151 })
        #expect(w.recorder.notices.contains { $0.contains("pod-0.log was rotated") || $0.contains("following new file") },
                "\(w.recorder.notices.suffix(5))")
        let lines = w.recorder.snapshot?.linesRead.map(\.lines).reduce(0, +)
        #expect(lines == 151)
    }

    /// A file that is truncated is read again from its start.
    @Test func aTruncatedFileIsReadFromItsStart() throws {
        let dir = try tempDir("watch-trunc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.path + "/kube-proxy.log"
        appendLine(criSeedLine(at: Watcher.unixNow()) + criSeedLine(at: Watcher.unixNow()), to: file)
        let w = RunningWatcher([.files(file)], window: 600, tail: 100)
        defer { w.stop() }
        #expect(w.recorder.wait { _ in w.finding(seedRule)?.total == 2 })
        #expect(truncate(file, 0) == 0)
        appendLine(criSeedLine(at: w.now), to: file)
        #expect(w.recorder.wait(5) { _ in w.finding(seedRule)?.total == 3 }, "\(w.recorder.notices) \(String(describing: w.finding(seedRule)))")
    }
}

@Suite struct WatchMetricsTests {
    func state(_ rule: String, total: Int, active: Bool, key: [String] = []) -> WatchSnapshot.FindingState {
        .init(rule: rule, severity: .fatal, component: "kube-proxy", key: key, total: total, lastSeen: 1_700_000_000, active: active)
    }

    /// The value of the series whose line starts with `prefix`.
    func value(_ text: String, _ prefix: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last!) }
    }

    @Test func countersOnlyGrowAndInactiveFindingsReadZero() {
        let m = WatchMetrics(node: "n\"1", version: "9.9")
        var s = WatchSnapshot()
        s.findings = [state("a.rule", total: 3, active: true), state("a.rule", total: 2, active: true, key: ["x"])]
        s.linesRead = [("/var/log/*.log", 10)]
        s.unrecognised = [.init(severity: .error, component: "kubelet", total: 4), .init(severity: .error, component: "", total: 1)]
        m.update(s)
        var text = String(decoding: m.exposition(), as: UTF8.self)
        let labels = #"{rule="a.rule",severity="fatal",component="kube-proxy",node="n\"1"}"#
        #expect(value(text, "logdiag_findings" + labels) == 2, "\(text)")
        #expect(value(text, "logdiag_matches_total" + labels) == 5)
        #expect(value(text, #"logdiag_lines_read_total{source="/var/log/*.log",node="n\"1"}"#) == 10)
        #expect(value(text, #"logdiag_unrecognised_total{severity="error",component="kubelet",node="n\"1"}"#) == 4)
        #expect(text.contains(#"logdiag_build_info{version="9.9",node="n\"1"} 1"#))
        #expect(value(text, #"logdiag_unrecognised_total{severity="error",component="unknown",node="n\"1"}"#) == 1,
                "a path that names no component is `unknown`, not an empty label")
        // One finding forgotten after two windows, the other inactive; then the first returns.
        s.findings = [state("a.rule", total: 2, active: false, key: ["x"])]
        s.linesRead = [("/var/log/*.log", 25)]
        m.update(s)
        text = String(decoding: m.exposition(), as: UTF8.self)
        #expect(value(text, "logdiag_findings" + labels) == 0)
        #expect(value(text, "logdiag_matches_total" + labels) == 5)
        #expect(value(text, #"logdiag_lines_read_total{source="/var/log/*.log",node="n\"1"}"#) == 25)
        s.findings = [state("a.rule", total: 1, active: true), state("a.rule", total: 2, active: false, key: ["x"])]
        m.update(s)
        text = String(decoding: m.exposition(), as: UTF8.self)
        #expect(value(text, "logdiag_matches_total" + labels) == 6, "a finding that comes back adds, never resets")
        #expect(value(text, "logdiag_findings" + labels) == 1)
    }
}

/// A plain HTTP/1.1 GET over a socket: the status line and the body.
func httpGet(_ port: Int, _ path: String, method: String = "GET") -> (status: Int, body: String)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard ok == 0 else { return nil }
    var tv = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var data: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        data += buf[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let status = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }),
          let split = text.range(of: "\r\n\r\n") else { return nil }
    return (status, String(text[split.upperBound...]))
}

@Suite(.serialized) struct WatchListenerTests {
    @Test func servesMetricsFindingsAndHealth() throws {
        let dir = try tempDir("watch-listen")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.path + "/kube-proxy.log"
        appendLine("", to: file)
        let w = RunningWatcher([.files(file)], window: 600)
        defer { w.stop() }
        let endpoints = WatchEndpoints(metrics: WatchMetrics(node: "node-a", version: "1"), staleAfterSeconds: 30) {
            [watcher = w.watcher] in watcher.heartbeat.load(ordering: .relaxed)
        }
        let forward = w.watcher.published
        w.watcher.published = { s in forward(s); endpoints.publish(s) }
        let listener = try WatchListener(host: "127.0.0.1", port: 0, endpoints: endpoints)
        defer { listener.shutdown() }
        let port = try #require(Int(listener.boundAddress.split(separator: ":").last!))
        appendLine(criSeedLine(at: w.now), to: file)
        #expect(w.recorder.wait { _ in w.finding(seedRule)?.active == true })
        Thread.sleep(forTimeInterval: 0.1)
        let metrics = try #require(httpGet(port, "/metrics"))
        #expect(metrics.status == 200)
        #expect(metrics.body.contains(#"logdiag_findings{rule="kube-proxy.conntrack-max-permission",severity="fatal",component="kube-proxy",node="node-a"} 1"#),
                "\(metrics.body)")
        let findings = try #require(httpGet(port, "/findings?x=1"))
        #expect(findings.status == 200)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(findings.body.utf8)) as? [String: Any])
        let rules = (doc["findings"] as? [[String: Any]])?.compactMap { $0["rule"] as? String }
        #expect(rules == [seedRule], "\(findings.body.prefix(400))")
        #expect(httpGet(port, "/healthz")?.status == 200)
        #expect(httpGet(port, "/nothing")?.status == 404)
        #expect(httpGet(port, "/metrics", method: "POST")?.status == 405)
        #expect(httpGet(port, "/metrics", method: "HEAD")?.status == 200)
    }
}

/// Against a real Docker daemon (`.ci/run` starts one): a container named on the command line
/// and one that starts after watch did, found by `--all-containers`.
@Suite(.serialized) struct DockerWatchTests {
    let docker = DockerFollowTests()

    @Test func containersByNameAndThoseThatStartLater() throws {
        guard docker.sh("docker info >/dev/null 2>&1").0 == 0, FileManager.default.fileExists(atPath: "/bin/busybox") else {
            if ProcessInfo.processInfo.environment["LOGDIAG_DOCKER"] == "1" {
                Issue.record("LOGDIAG_DOCKER=1 but no Docker daemon or no /bin/busybox (busybox-static)")
            }
            return
        }
        #expect(docker.image())
        let tag = UUID().uuidString.prefix(8).lowercased()
        let first = "logdiag-watch-a-\(tag)", later = "logdiag-watch-b-\(tag)"
        defer { _ = docker.sh("docker rm -f \(first) \(later) >/dev/null 2>&1") }
        let line = "F0723 07:30:08.945634 1 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied"
        let loop = "/bin/sh -c 'while true; do echo \"\(line)\"; sleep 1; done'"
        #expect(docker.sh("docker run -d --name \(first) logdiag-test-busybox \(loop)").0 == 0)
        let w = RunningWatcher([.container(first), .allContainers], window: 600, tail: 5)
        w.watcher.discoverSeconds = 0.5
        defer { w.stop() }
        #expect(w.recorder.wait(15) { _ in (w.finding(seedRule)?.total ?? 0) >= 2 }, "\(w.recorder.notices)")
        #expect(docker.sh("docker run -d --name \(later) logdiag-test-busybox \(loop)").0 == 0)
        #expect(w.recorder.wait(15) { r in r.notices.contains("following container \(later)") }, "\(w.recorder.notices)")
        // Both streams count: `first` once, by name (not again through --all-containers).
        #expect(w.recorder.wait(5) { r in r.snapshot?.openSources == 2 }, "\(w.recorder.notices)")
        #expect(!w.recorder.notices.contains("following container \(first)"))
        _ = docker.sh("docker rm -f \(later) >/dev/null 2>&1")
        #expect(w.recorder.wait(15) { r in r.snapshot?.openSources == 1 }, "a removed container is dropped: \(w.recorder.notices)")
    }
}

/// journald read through the real journalctl, from a journal file written by the real
/// systemd-journal-remote (no journald runs here): `--journal --unit kubelet --journal-directory`.
@Suite(.serialized) struct JournalWatchTests {
    static let remote = ["/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Appends one entry in journal export format to `dir/remote.journal`.
    func writeEntry(_ dir: URL, unit: String, message: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: JournalWatchTests.remote!)
        p.arguments = ["-o", dir.appendingPathComponent("remote.journal").path, "-"]
        let input = Pipe()
        p.standardInput = input
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let micros = Int64(Watcher.unixNow() * 1e6)
        let entry = "__REALTIME_TIMESTAMP=\(micros)\n__MONOTONIC_TIMESTAMP=1\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"
            + "_SYSTEMD_UNIT=\(unit).service\nSYSLOG_IDENTIFIER=\(unit)\n_HOSTNAME=node-a\nPRIORITY=3\nMESSAGE=\(message)\n\n"
        input.fileHandleForWriting.write(Data(entry.utf8))
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    @Test func kubeletUnitFromAJournal() throws {
        guard JournalWatchTests.remote != nil, FileManager.default.isExecutableFile(atPath: "/usr/bin/journalctl") else {
            if ProcessInfo.processInfo.environment["LOGDIAG_JOURNAL"] == "1" {
                Issue.record("LOGDIAG_JOURNAL=1 but journalctl or systemd-journal-remote is missing")
            } else {
                print("skipped: systemd-journal-remote is not installed")
            }
            return
        }
        let dir = try tempDir("journal")
        defer { try? FileManager.default.removeItem(at: dir) }
        let swap = "E1203 08:40:00.000000 1 server.go:233] failed to run Kubelet: Running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false. /proc/swaps contained: [Filename Type Size Used Priority /dev/dm-1 partition 4001788 0 -1]"
        try writeEntry(dir, unit: "kubelet", message: swap)
        try writeEntry(dir, unit: "sshd", message: swap)  // not a unit asked for
        var config = WatchConfiguration(sources: [.journal(units: ["kubelet"])], node: "node-a", window: 600, tail: 100)
        config.journalDirectory = dir.path
        let watcher = Watcher(ruleSet: librarySet, analyzer: Analyzer(), configuration: config)
        let recorder = WatchRecorder()
        recorder.attach(watcher)
        let done = DispatchSemaphore(value: 0)
        Thread { try? watcher.run(); done.signal() }.start()
        defer { watcher.stop(); done.wait() }
        let found = recorder.wait(15) { r in r.snapshot?.findings.contains { $0.rule == "kubelet.swap-enabled" && $0.total == 1 } == true }
        #expect(found, "\(recorder.notices) \(String(describing: recorder.snapshot?.findings))")
        let f = recorder.snapshot?.findings.first { $0.rule == "kubelet.swap-enabled" }
        #expect(f?.component == "kubelet")
        #expect(f?.active == true)
        #expect(recorder.snapshot?.linesRead.first?.source == "journal:kubelet")
    }
}
