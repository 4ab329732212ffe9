import Foundation
import Glibc
import Testing
import Yams
@testable import LogModel

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A free TCP port on 127.0.0.1 (bound to 0, read back, released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
            bind(fd, p, len)
            return getsockname(fd, p, &len)
        }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

private func which(_ tool: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}

/// `.ci/run` installs Debian's prometheus and sets LOGDIAG_PROMETHEUS=1: from then on these must run.
private func required(_ tool: String) -> String? {
    if let p = which(tool) { return p }
    if ProcessInfo.processInfo.environment["LOGDIAG_PROMETHEUS"] == "1" {
        Issue.record("LOGDIAG_PROMETHEUS=1 but \(tool) is not installed")
    } else {
        print("skipped: \(tool) is not installed (apt-get install prometheus)")
    }
    return nil
}

@Suite(.serialized) struct PrometheusTests {
    /// The alert rules shipped in deploy/ are valid for Prometheus' own checker.
    @Test func promtoolAcceptsTheAlertRules() throws {
        guard let promtool = required("promtool") else { return }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: promtool)
        p.arguments = ["check", "rules", repoRoot.appendingPathComponent("deploy/prometheus-rules.yaml").path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("SUCCESS"), "\(text)")
    }

    /// End to end: `logdiag watch --listen` scraped by a real Prometheus that loads
    /// deploy/prometheus-rules.yaml; the seed's kube-proxy line appended to a watched file makes
    /// the finding's series appear and the fatal alert go pending.
    @Test func aRealPrometheusSeesTheFindingAndTheAlertGoesPending() throws {
        guard let prometheus = required("prometheus") else { return }
        let dir = try tempDir("prometheus")
        defer { try? FileManager.default.removeItem(at: dir) }
        let logs = dir.appendingPathComponent("pods")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let file = logs.appendingPathComponent("kube-proxy.log").path
        appendLine("", to: file)

        let watch = try RunningLogdiag(["watch", logs.path + "/*.log", "--listen", "127.0.0.1:0", "--node", "node-a",
                                        "-o", "ndjson", "--tail", "0"])
        defer { _ = watch.interrupt() }
        let end = Date().addingTimeInterval(10)
        while Date() < end, !watch.err.contains("http://127.0.0.1:") { Thread.sleep(forTimeInterval: 0.05) }
        let address = try #require(watch.err.split(separator: "\n").first { $0.contains("http://127.0.0.1:") }
            .flatMap { $0.split(separator: "/").last }.map(String.init), "\(watch.err)")

        let port = freePort()
        let config = """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - \(repoRoot.appendingPathComponent("deploy/prometheus-rules.yaml").path)
            scrape_configs:
              - job_name: logdiag
                static_configs:
                  - targets: ["\(address)"]

            """
        let configFile = dir.appendingPathComponent("prometheus.yml")
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: prometheus)
        server.arguments = ["--config.file=\(configFile.path)", "--storage.tsdb.path=\(dir.appendingPathComponent("tsdb").path)",
                            "--web.listen-address=127.0.0.1:\(port)"]
        let serverLog = dir.appendingPathComponent("prometheus.log")
        _ = FileManager.default.createFile(atPath: serverLog.path, contents: nil)
        let logHandle = try FileHandle(forWritingTo: serverLog)
        server.standardOutput = logHandle
        server.standardError = logHandle
        server.standardInput = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        func api(_ path: String) -> [String: Any]? {
            guard let r = httpGet(port, path), r.status == 200 else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any]
        }
        func poll(_ seconds: Double, _ check: () -> Bool) -> Bool {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                if check() { return true }
                Thread.sleep(forTimeInterval: 0.25)
            }
            return check()
        }
        let ready = poll(30) { httpGet(port, "/-/ready")?.status == 200 }
        #expect(ready, "\((try? String(contentsOf: serverLog, encoding: .utf8))?.suffix(2000) ?? "")")
        // The target is scraped (up == 1) before the line is written, so the series starts at 0.
        let up = poll(30) {
            let r = (api("/api/v1/query?query=up%7Bjob%3D%22logdiag%22%7D")?["data"] as? [String: Any])?["result"] as? [[String: Any]]
            return (r?.first?["value"] as? [Any])?.last as? String == "1"
        }
        #expect(up, "Prometheus never scraped logdiag at \(address)")

        appendLine(criSeedLine(at: Watcher.unixNow()), to: file)
        let query = "/api/v1/query?query=" + "logdiag_findings{rule=\"kube-proxy.conntrack-max-permission\",node=\"node-a\"}"
            .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let seen = poll(30) {
            let r = (api(query)?["data"] as? [String: Any])?["result"] as? [[String: Any]]
            return (r?.first?["value"] as? [Any])?.last as? String == "1"
        }
        #expect(seen, "the finding's series never reached 1 in Prometheus")
        let pending = poll(30) {
            let alerts = (api("/api/v1/alerts")?["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            return alerts.contains {
                ($0["labels"] as? [String: String])?["alertname"] == "LogdiagFatalFinding"
                    && ($0["labels"] as? [String: String])?["rule"] == "kube-proxy.conntrack-max-permission"
                    && $0["state"] as? String == "pending"
            }
        }
        #expect(pending, "LogdiagFatalFinding never went pending")
        // The same finding on stdout, one NDJSON object, for a log shipper.
        let line = watch.out.split(separator: "\n").first { $0.contains("\"kind\":\"finding\"") }
        let object = try #require(line.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(object["rule"] as? String == "kube-proxy.conntrack-max-permission")
        #expect(object["node"] as? String == "node-a")
        #expect(object["state"] as? String == "new")
    }
}

/// The DaemonSet manifest holds what the README promises of it.
@Suite struct DeployManifestTests {
    @Test func theDaemonSetMountsLogsReadOnlyAndScrapesWhatWatchServes() throws {
        let text = try String(contentsOf: repoRoot.appendingPathComponent("deploy/daemonset.yaml"), encoding: .utf8)
        let docs = try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
        let ds = try #require(docs.first { $0["kind"] as? String == "DaemonSet" })
        let pod = try #require(((ds["spec"] as? [String: Any])?["template"] as? [String: Any]))
        let spec = try #require(pod["spec"] as? [String: Any])
        let container = try #require((spec["containers"] as? [[String: Any]])?.first)
        let args = container["args"] as? [String] ?? []
        #expect(args.first == "watch")
        let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
        #expect(!mounts.isEmpty)
        #expect(mounts.allSatisfy { $0["readOnly"] as? Bool == true }, "every host path read-only")
        #expect(mounts.contains { $0["mountPath"] as? String == "/var/log" })
        let security = container["securityContext"] as? [String: Any] ?? [:]
        #expect(security["readOnlyRootFilesystem"] as? Bool == true)
        #expect(security["allowPrivilegeEscalation"] as? Bool == false)
        #expect((security["capabilities"] as? [String: Any])?["drop"] as? [String] == ["ALL"])
        #expect((spec["tolerations"] as? [[String: Any]])?.contains { $0["operator"] as? String == "Exists" } == true)
        let env = container["env"] as? [[String: Any]] ?? []
        let nodeName = env.first { $0["name"] as? String == "NODE_NAME" }
        #expect(((nodeName?["valueFrom"] as? [String: Any])?["fieldRef"] as? [String: Any])?["fieldPath"] as? String == "spec.nodeName")
        let resources = container["resources"] as? [String: Any] ?? [:]
        #expect(resources["requests"] != nil && resources["limits"] != nil)
        // The port the pod is scraped on is the one watch listens on, and its own log is excluded.
        let annotations = (pod["metadata"] as? [String: Any])?["annotations"] as? [String: String] ?? [:]
        let port = try #require(annotations["prometheus.io/port"])
        #expect(args.contains("--listen=:\(port)"), "\(args)")
        #expect(args.contains { $0.hasPrefix("--exclude=") && $0.contains("logdiag") })
        // Every argument parses: the real binary accepts them (it stops at once on --help-free validation).
        let run = try runLogdiag(["watch"] + args.dropFirst().filter { !$0.hasPrefix("--listen") } + ["--window", "bogus"])
        #expect(run.err.contains("--window takes a duration"), "\(run.err)")
    }
}
