import Foundation
import Testing

/// The `logdiag` executable built with these tests: beside the test runner (whatever scratch path
/// SwiftPM used), else in the package's `.build/debug`.
let logdiagExecutable: URL = {
    let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let beside = runner.deletingLastPathComponent().appendingPathComponent("logdiag")
    if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/logdiag")
}()

/// Runs the built `logdiag` binary, draining its output while it runs.
func runLogdiag(_ args: [String], stdin: String? = nil, path: String? = nil,
                replacePath: Bool = false, environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let bin = logdiagExecutable
    let p = Process()
    p.executableURL = bin
    p.arguments = args
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    var env = ProcessInfo.processInfo.environment
    env["NO_COLOR"] = "1"
    if let path { env["PATH"] = replacePath ? path : path + ":" + (env["PATH"] ?? "/usr/bin:/bin") }
    env.merge(environment) { _, new in new }
    p.environment = env
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite(.serialized) struct CLITests {
    @Test func emptyInputExitsZero() throws {
        let r = try runLogdiag(["/dev/null"])
        #expect(r.status == 0)
        #expect(r.out.contains("No known failure"))
    }

    @Test func missingFileExitsTwoWithOneLine() throws {
        let r = try runLogdiag(["no-such-file"])
        #expect(r.status == 2)
        #expect(r.err == "logdiag: no-such-file: No such file or directory\n")
        #expect(r.out.isEmpty)
    }

    @Test func triageOfAMissingPathSaysSoOnStderrOnly() throws {
        let r = try runLogdiag(["triage", "no-such-dir"])
        #expect(r.status == 2)
        #expect(r.err == "logdiag: no-such-dir: unreadable: no such file or directory\n")
        #expect(r.out.isEmpty, "nothing could be read: no report that reads like an all-clear")
    }

    @Test func seedCaseOnStdinNamesConntrackAndTheVersionedFix() throws {
        let dir = URL(fileURLWithPath: corpusRoot).appendingPathComponent("kube-proxy/lxd-conntrack-max")
        let text = try ["kube-proxy.log", "rancher-server.log"].map {
            try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8)
        }.joined()
        let r = try runLogdiag([], stdin: text)
        #expect(r.status == 1)
        #expect(r.out.contains("[kube-proxy.conntrack-max-permission]"))
        #expect(r.out.contains("--conntrack-max-per-core=0"))
        #expect(r.out.contains("<stdin>:20"))
        // A pipe has no clock: the klog lines take the year of Rancher's dated lines.
        #expect(r.out.contains("2021-07-23T07:30:08.945634Z to 2021-07-23T07:40:32.920751Z"))
    }

    @Test func unknownOptionIsAUsageError() throws {
        let r = try runLogdiag(["--no-such-option"])
        #expect(r.status == 64)
    }

    @Test func brokenUserRuleFileIsReportedPrecisely() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("logdiag-broken-\(getpid()).yaml")
        try RuleCheckerTests.broken.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try runLogdiag(["rules", "check", file.path])
        #expect(r.status == 1)
        #expect(r.out.contains("\(file.path):13: test.broken: sample should match but does not"))
    }

    private var fixtures: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").path
    }

    @Test func doctorExitStatusFollowsTheWorstCheck() throws {
        let healthy = try runLogdiag(["doctor", "--root", fixtures + "/doctor/healthy-vm"])
        #expect(healthy.status == 0)
        let docker = try runLogdiag(["doctor", "--root", fixtures + "/doctor/docker-container", "-o", "json"])
        #expect(docker.status == 1)
        let doc = try JSONSerialization.jsonObject(with: Data(docker.out.utf8)) as? [String: Any]
        let checks = doc?["checks"] as? [[String: Any]] ?? []
        #expect(checks.contains { $0["id"] as? String == "dev-kmsg" && $0["status"] as? String == "fail" })
        let missing = try runLogdiag(["doctor", "--root", "/no/such/root"])
        #expect(missing.status == 2)
        #expect(missing.err.split(separator: "\n").count == 1)
    }

    @Test func doctorReadsAPipedLXDProfileAndPrintsTheFixingCommand() throws {
        let bad = try String(contentsOfFile: fixtures + "/lxd/k8s-no-nesting.yaml", encoding: .utf8)
        let r = try runLogdiag(["doctor", "--lxd-profile", "-"], stdin: bad)
        #expect(r.status == 1)
        #expect(r.out.contains("lxc profile set k8s security.nesting true"))
        let good = try String(contentsOfFile: fixtures + "/lxd/k8s-good.yaml", encoding: .utf8)
        #expect(try runLogdiag(["doctor", "--lxd-profile", "-"], stdin: good).status == 0)
    }
}
