import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import LogModel

/// A `logdiag` child whose stdout is collected while it runs.
final class RunningLogdiag: @unchecked Sendable {
    let process = Process()
    private let lock = NSLock()
    private var outData = Data()
    private var errData = Data()

    /// `defaultSignals`: started as from a terminal, with SIGINT and SIGTERM at their defaults
    /// (a test runner may ignore or block them, and both survive exec).
    init(_ args: [String], path: String? = nil, environment: [String: String] = [:], defaultSignals: Bool = false) throws {
        if defaultSignals {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                + "signal.signal(signal.SIGTERM, signal.SIG_DFL); "
                + "signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM]); os.execv(sys.argv[1], sys.argv[1:])",
                                 logdiagExecutable.path] + args
        } else {
            process.executableURL = logdiagExecutable
            process.arguments = args
        }
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        if let path { env["PATH"] = path + ":" + (env["PATH"] ?? "/usr/bin:/bin") }
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        out.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.outData.append(d) }
        }
        err.fileHandleForReading.readabilityHandler = { [weak self] h in
            let d = h.availableData
            self?.lock.withLock { self?.errData.append(d) }
        }
        try process.run()
    }

    var out: String { lock.withLock { String(decoding: outData, as: UTF8.self) } }
    var err: String { lock.withLock { String(decoding: errData, as: UTF8.self) } }

    /// Waits until `condition` holds on the output, at most `seconds`.
    func wait(seconds: Double = 10, until condition: (String) -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition(out) { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition(out)
    }

    func interrupt() -> Int32 {
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        Thread.sleep(forTimeInterval: 0.1)
        return process.terminationStatus
    }
}

func tempDir(_ tag: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("logdiag-\(tag)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

func append(_ line: String, to url: URL) throws {
    let h = try FileHandle(forWritingTo: url)
    try h.seekToEnd()
    try h.write(contentsOf: Data((line + "\n").utf8))
    try h.close()
}

let conntrackLine = "F0723 07:30:08.945634   12314 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied"
let swapLine = #"E0205 10:58:14.917245   12704 run.go:72] "command failed" err="failed to run Kubelet: running with swap on is not supported, please disable swap or set --fail-swap-on flag to false""#
let hashsizeLine = "E0723 07:30:08.945634       1 server.go:482] write /sys/module/nf_conntrack/parameters/hashsize: operation not supported"

@Suite(.serialized) struct FollowTests {
    @Test func followsAppendsTruncationAndRotation() throws {
        let dir = try tempDir("follow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("kube-proxy.log")
        try "I0723 07:30:08.920930 1 feature_gate.go:243] feature gates: &{map[]}\n".write(to: file, atomically: false, encoding: .utf8)
        let run = try RunningLogdiag(["follow", "--color", "never", file.path])
        Thread.sleep(forTimeInterval: 0.3)

        try append(conntrackLine, to: file)
        #expect(run.wait { $0.contains("[kube-proxy.conntrack-max-permission]") })
        // Repeats update a counter, not the screen.
        try append(conntrackLine, to: file)
        Thread.sleep(forTimeInterval: 0.4)
        #expect(run.out.components(separatedBy: "[kube-proxy.conntrack-max-permission]").count == 2)

        // Truncation: start again from the top of the file.
        try FileHandle(forWritingTo: file).truncate(atOffset: 0)
        Thread.sleep(forTimeInterval: 0.3)
        try append(swapLine, to: file)
        #expect(run.wait { $0.contains("[kubelet.swap-enabled]") })

        // Rotation by rename, as kubelet and the json-file driver rotate.
        try FileManager.default.moveItem(at: file, to: dir.appendingPathComponent("kube-proxy.log.1"))
        try (hashsizeLine + "\n").write(to: file, atomically: false, encoding: .utf8)
        #expect(run.wait { $0.contains("[kube-proxy.conntrack-hashsize-write-failed]") })

        let status = run.interrupt()
        #expect(status == 1)
        #expect(run.out.contains("Stopped."))
        #expect(run.err.contains("truncated"))
        #expect(run.err.contains("rotated"))
    }

    @Test func followsNewFilesMatchingAGlob() throws {
        let dir = try tempDir("glob")
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try RunningLogdiag(["follow", "-o", "ndjson", dir.appendingPathComponent("*.log").path])
        Thread.sleep(forTimeInterval: 0.3)
        try (conntrackLine + "\n").write(to: dir.appendingPathComponent("later.log"), atomically: false, encoding: .utf8)
        #expect(run.wait { $0.contains("\"rule\":\"kube-proxy.conntrack-max-permission\"") })
        _ = run.interrupt()
        let line = try #require(run.out.split(separator: "\n").first)
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect(obj?["severity"] as? String == "fatal")
    }

    /// `--tail N` on a file already there starts at its last N lines, which keep their numbers in
    /// the whole file; the lines before them are not read.
    @Test func tailStartsAtTheLastLinesOfAnExistingFile() throws {
        let dir = try tempDir("tail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("kubelet.log")
        let filler = "I0723 07:30:08.920930 1 feature_gate.go:243] feature gates: &{map[]}"
        // Line 1 names one cause, line 12 another; the last line has no newline yet.
        let lines = [swapLine] + Array(repeating: filler, count: 10) + [conntrackLine, filler]
        try lines.joined(separator: "\n").write(to: file, atomically: false, encoding: .utf8)
        let run = try RunningLogdiag(["follow", "--tail", "2", "-o", "ndjson", file.path])
        #expect(run.wait { $0.contains("kube-proxy.conntrack-max-permission") })
        _ = run.interrupt()
        #expect(!run.out.contains("kubelet.swap-enabled"))
        let finding = try #require(run.out.split(separator: "\n").first {
            $0.contains("kube-proxy.conntrack-max-permission")
        })
        let obj = try JSONSerialization.jsonObject(with: Data(finding.utf8)) as? [String: Any]
        let evidence = obj?["evidence"] as? [[String: Any]]
        #expect(evidence?.first?["line"] as? Int == 12)
    }

    /// A stand-in `docker` first on PATH: it replays a log slowly, exits (the container restarted),
    /// and on the reattach (`--since`) prints the line that names the cause.
    @Test func followsADockerContainerAndReattaches() throws {
        let dir = try tempDir("docker")
        defer { try? FileManager.default.removeItem(at: dir) }
        let script = """
            #!/bin/sh
            case "$1" in
              inspect) [ "$6" = "kube-proxy" ] && { echo 0123abcd; exit 0; }; echo "Error: No such container: $6" >&2; exit 1 ;;
              logs)
                for a in "$@"; do [ "$a" = "--since" ] && since=1; done
                if [ -n "$since" ]; then
                  echo "2021-07-23T07:31:00.000000000Z \(conntrackLine)"; exec sleep 30
                else
                  echo "2021-07-23T07:30:08.920930000Z I0723 07:30:08.920930 1 feature_gate.go:243] feature gates: &{map[]}"
                  sleep 0.2
                  echo "2021-07-23T07:30:08.944553000Z W0723 07:30:08.944553 1 server_others.go:584] Unknown proxy mode \\"\\", assuming iptables proxy" >&2
                  exit 1
                fi ;;
            esac
            """
        let docker = dir.appendingPathComponent("docker")
        try script.write(to: docker, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: docker.path)

        let run = try RunningLogdiag(["follow", "--color", "never", "kube-proxy"], path: dir.path)
        #expect(run.wait(seconds: 15) { $0.contains("[kube-proxy.conntrack-max-permission]") })
        let status = run.interrupt()
        #expect(status == 1)
        #expect(run.err.contains("reattaching"))
        #expect(run.err.contains("reattached"))
        #expect(run.out.contains("Stopped."))

        let missing = try runLogdiag(["follow", "no-such-container"], path: dir.path)
        #expect(missing.status == 2)
        #expect(missing.err == "logdiag: docker: Error: No such container: no-such-container\n")
    }

    @Test func missingDockerIsAClearError() throws {
        let r = try runLogdiag(["follow", "kube-proxy"], path: "/nonexistent", replacePath: true)
        #expect(r.status == 2)
        #expect(r.err == "logdiag: docker is not installed (not found on PATH)\n")
    }
}

@Suite(.serialized) struct TriageTests {
    /// A logs-collector shaped bundle: per-node folders with rke/containerlogs, journald, a
    /// compressed rotated log, and a binary file that must be listed, not silently skipped.
    func makeBundle() throws -> (dir: URL, tarball: URL) {
        let dir = try tempDir("bundle")
        let node = dir.appendingPathComponent("node1")
        let fm = FileManager.default
        for sub in ["rke/containerlogs", "journald", "systeminfo"] {
            try fm.createDirectory(at: node.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let seed = URL(fileURLWithPath: corpusRoot).appendingPathComponent("kube-proxy/lxd-conntrack-max")
        try fm.copyItem(at: seed.appendingPathComponent("kube-proxy.log"), to: node.appendingPathComponent("rke/containerlogs/kube-proxy"))
        try "Jul 23 07:30:08 node1 kubelet[1234]: I0723 07:30:08.000001    1234 server.go:440] \"Kubelet version\" kubeletVersion=\"v1.20.8\"\n"
            .write(to: node.appendingPathComponent("journald/kubelet"), atomically: false, encoding: .utf8)
        try Data([0, 1, 2, 3, 0, 0, 5, 6, 7, 0, 0, 0]).write(to: node.appendingPathComponent("systeminfo/core.bin"))
        let rancher = try String(contentsOf: seed.appendingPathComponent("rancher-server.log"), encoding: .utf8)
        try rancher.write(to: node.appendingPathComponent("rancher.log"), atomically: false, encoding: .utf8)
        #expect(Subprocess.status("/usr/bin/env", ["gzip", node.appendingPathComponent("rancher.log").path]) == 0)
        let tarball = dir.appendingPathComponent("bundle.tar.gz")
        #expect(Subprocess.status("/usr/bin/env", ["tar", "-czf", tarball.path, "-C", dir.path, "node1"]) == 0)
        return (dir, tarball)
    }

    @Test func triageOfABundleNamesTheCauseAndItsFileAndLine() throws {
        let (dir, tarball) = try makeBundle()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runLogdiag(["triage", "-o", "json", tarball.path])
        #expect(r.status == 1)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let findings = try #require(doc["findings"] as? [[String: Any]])
        #expect(findings.first?["rule"] as? String == "kube-proxy.conntrack-max-permission")
        let evidence = try #require(findings.first?["evidence"] as? [[String: Any]])
        #expect(evidence.contains {
            $0["input"] as? String == "\(tarball.path):node1/rke/containerlogs/kube-proxy" && $0["line"] as? Int == 20
        })
        let explains = try #require(findings.first?["explains"] as? [[String: Any]])
        #expect(explains.contains { $0["rule"] as? String == "rke.kube-proxy-healthz-refused" })
        let inputs = try #require(doc["inputs"] as? [[String: Any]])
        #expect(inputs.contains { ($0["name"] as? String)?.hasSuffix("systeminfo/core.bin") == true && $0["problem"] as? String == "skipped: binary file" })
        #expect(inputs.contains { ($0["name"] as? String)?.hasSuffix("rancher.log.gz") == true && $0["format"] as? String == "rancher" })
    }

    @Test func triageOfADirectoryTreeListsEveryFile() throws {
        let (dir, _) = try makeBundle()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runLogdiag(["triage", "--jobs", "2", dir.appendingPathComponent("node1").path, "/nonexistent/file.log"])
        #expect(r.status == 2, "an unreadable input wins over findings, as for `logdiag FILE...`")
        #expect(r.out.hasPrefix("1 input could not be read"))
        #expect(r.out.contains("[kube-proxy.conntrack-max-permission]"))
        #expect(r.out.contains("rke/containerlogs/kube-proxy"))
        #expect(r.out.contains("journald/kubelet"))
        #expect(r.out.contains("/nonexistent/file.log"))
        #expect(r.out.contains("unreadable: no such file or directory"))
    }
}

@Suite(.serialized) struct OutputFormatTests {
    var seedFiles: [String] {
        let seed = URL(fileURLWithPath: corpusRoot).appendingPathComponent("kube-proxy/lxd-conntrack-max")
        return ["kube-proxy.log", "rancher-server.log"].map { seed.appendingPathComponent($0).path }
    }

    @Test func jsonHasTheDocumentedKeys() throws {
        let r = try runLogdiag(["-o", "json"] + seedFiles)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let f = try #require((doc["findings"] as? [[String: Any]])?.first)
        #expect(f["rule"] as? String == "kube-proxy.conntrack-max-permission")
        #expect(f["severity"] as? String == "fatal")
        let ev = try #require((f["evidence"] as? [[String: Any]])?.first)
        #expect(ev["input"] as? String == seedFiles[0])
        #expect(ev["line"] as? Int == 20)
        let summary = try #require(doc["summary"] as? [String: Any])
        #expect(summary["lines"] as? Int == 21)
        #expect(summary["noiseLines"] as? Int == 8)
    }

    @Test func sarifLocatesResultsAtEvidenceLines() throws {
        let r = try runLogdiag(["-o", "sarif"] + seedFiles)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(doc["version"] as? String == "2.1.0")
        let run = try #require((doc["runs"] as? [[String: Any]])?.first)
        let results = try #require(run["results"] as? [[String: Any]])
        let conntrack = try #require(results.first { $0["ruleId"] as? String == "kube-proxy.conntrack-max-permission" })
        #expect(conntrack["level"] as? String == "error")
        let locations = try #require(conntrack["locations"] as? [[String: Any]])
        let lines = locations.compactMap { (($0["physicalLocation"] as? [String: Any])?["region"] as? [String: Any])?["startLine"] as? Int }
        #expect(lines.contains(20))
    }

    @Test func junitIsWellFormedWithAFailurePerSevereFinding() throws {
        let r = try runLogdiag(["-o", "junit", "--redact"] + seedFiles)
        let doc = try XMLDocument(data: Data(r.out.utf8))
        let failures = try doc.nodes(forXPath: "//testcase/failure")
        #expect(failures.count == 2)
        #expect(try doc.nodes(forXPath: "//testsuite/@failures").first?.stringValue == "2")
    }

    @Test func markdownFencesEvidenceAndListsNoise() throws {
        let r = try runLogdiag(["-o", "markdown"] + seedFiles)
        #expect(r.out.hasPrefix("## logdiag: 1 incident"))
        #expect(r.out.contains("```text\n\(seedFiles[0]):20  F0723 07:30:08.945634"))
        #expect(r.out.contains("| 6 | kube-proxy could not load"))
    }

    @Test func ndjsonIsOneFindingPerLine() throws {
        let r = try runLogdiag(["-o", "ndjson"] + seedFiles)
        let lines = r.out.split(separator: "\n")
        #expect(lines.count == 2)
        for l in lines { #expect((try? JSONSerialization.jsonObject(with: Data(l.utf8))) != nil) }
    }

    @Test func redactLeavesNoAddressHostOrTokenBehind() throws {
        let dir = try tempDir("redact")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("agent.log")
        let text = """
            INFO: Arguments: --server https://rancher.example.com --token lpk4b444vb7xcwtn4qpdpqv964n4rtlvbfm2xcjkkq75gjg9jzn4kq --ca-checksum 449144c1445882641ff0d66593c5a1fc2eb0fa90994e95eb46efe0b341317afa --etcd
            ERROR: https://rancher.example.com/ping is not accessible (Could not resolve host: rancher.example.com)
            2021/07/23 07:40:55 [ERROR] Failed to upgrade worker components on NotReady hosts, error: [Failed to verify healthcheck: Failed to check http://localhost:10256/healthz for service [kube-proxy] on host [192.168.15.161]: Get "http://localhost:10256/healthz": dial tcp 10.43.0.1:10256: connect: connection refused, log: F0723 07:40:32.920751   19619 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied]
            E0723 07:30:08.1 1 reflector.go:1] Get "https://[2001:db8::8a2e:370:7334]:6443/api": dial tcp [fe80:0:0:0:202:b3ff:fe1e:8329]:6443: connect: connection refused

            """
        try text.write(to: file, atomically: false, encoding: .utf8)
        for format in ["text", "json", "markdown", "sarif", "junit", "ndjson"] {
            let r = try runLogdiag(["-o", format, "--redact", "--year", "2021", file.path])
            for secret in ["192.168.15.161", "10.43.0.1", "rancher.example.com", "lpk4b444vb7xcwtn4qpdpqv964n4rtlvbfm2xcjkkq75gjg9jzn4kq",
                           "449144c1445882641ff0d66593c5a1fc2eb0fa90994e95eb46efe0b341317afa", "2001:db8::8a2e:370:7334",
                           "fe80:0:0:0:202:b3ff:fe1e:8329"] {
                #expect(!r.out.contains(secret), "\(format) output still shows \(secret)")
            }
            #expect(r.out.contains("nf_conntrack_max"), "\(format): redaction must keep the diagnosis")
        }
    }
}

extension Subprocess {
    static func status(_ exe: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        do { try p.run() } catch { return 127 }
        p.waitUntilExit()
        return p.terminationStatus
    }
}
enum Subprocess {}

@Suite struct LastLinesTests {
    /// `Follower.lastLines` against splitting the whole text, across the 256 KiB read size.
    @Test(arguments: ["", "a", "a\n", "a\nb", "a\nb\n", "\n\n\n", String(repeating: "0123456789abcde\n", count: 40_000) + "tail"])
    func matchesSplittingTheText(_ text: String) throws {
        let dir = try tempDir("lastlines")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("x.log")
        try text.write(to: file, atomically: false, encoding: .utf8)
        let fd = open(file.path, O_RDONLY)
        defer { close(fd) }
        let bytes = Array(text.utf8)
        // Line starts as a reader sees them: a line ends at "\n", and a last line may lack one.
        var starts: [Int] = []
        for i in bytes.indices where i == 0 || bytes[i - 1] == 0x0A { starts.append(i) }
        for n in [0, 1, 2, 3, 39_999, 40_001, 1_000_000] {
            let (offset, before) = Follower.lastLines(n, of: fd)
            let expectedBefore = max(0, starts.count - n)
            #expect(before == expectedBefore, "n=\(n)")
            let expectedOffset = expectedBefore == 0 ? 0 : (expectedBefore < starts.count ? starts[expectedBefore] : bytes.count)
            #expect(Int(offset) == expectedOffset, "n=\(n)")
        }
    }
}
