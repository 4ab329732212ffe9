import Foundation
import Testing
@testable import LogModel

private let fatalLine = "F0723 07:30:08.945634 1 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied"

/// Runs `followFiles` on a thread until `body` is done, then stops it and returns the follower.
private func following(_ pattern: String, hold: Int32 = 15, _ body: () throws -> Void) rethrows -> Follower {
    let f = Follower(ruleSet: librarySet, analyzer: Analyzer(year: 2021))
    f.holdMilliseconds = hold
    f.pollMilliseconds = 20
    let done = DispatchSemaphore(value: 0)
    let thread = Thread { try? f.followFiles(pattern, tail: 0); done.signal() }
    thread.start()
    Thread.sleep(forTimeInterval: 0.3)
    try body()
    Thread.sleep(forTimeInterval: 0.6)
    f.stop()
    done.wait()
    return f
}

private func count(_ f: Follower) -> Int {
    f.report.allReported.first { $0.rule.id == "kube-proxy.conntrack-max-permission" }?.finding.count ?? 0
}

private func appendText(_ text: String, to url: URL) throws {
    let h = try FileHandle(forWritingTo: url)
    h.seekToEndOfFile()
    h.write(Data(text.utf8))
    try h.close()
}

@Suite(.serialized) struct FollowCountTests {
    /// A line held back for continuation lines is delivered when the file is truncated under it.
    @Test func truncationDeliversTheHeldEvent() throws {
        let dir = try tempDir("follow-trunc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("kube-proxy.log")
        try "".write(to: file, atomically: false, encoding: .utf8)
        let f = try following(file.path, hold: 5000) {
            try appendText(fatalLine + "\n", to: file)
            Thread.sleep(forTimeInterval: 0.4)  // read, and held (the hold is 5 s)
            try FileHandle(forWritingTo: file).truncate(atOffset: 0)
        }
        #expect(count(f) == 1)
    }

    /// `dir/*` also matches the rotated name: the rotated file is read on, not read again.
    @Test func aRotatedFileTheGlobMatchesIsNotReadTwice() throws {
        let dir = try tempDir("follow-rotate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.log")
        try "".write(to: file, atomically: false, encoding: .utf8)
        let f = try following(dir.path + "/*") {
            try appendText(fatalLine + "\n" + fatalLine + "\n", to: file)
            Thread.sleep(forTimeInterval: 0.4)
            try FileManager.default.moveItem(at: file, to: dir.appendingPathComponent("a.log.1"))
            try (fatalLine + "\n").write(to: file, atomically: false, encoding: .utf8)
            Thread.sleep(forTimeInterval: 1.2)  // the glob rescan (every 0.5 s) sees a.log.1
        }
        #expect(count(f) == 3, "two lines in the rotated file and one in the new one, each once")
    }
}

/// Against a real Docker daemon (`.ci/run` starts one): a crash-looping container.
@Suite(.serialized) struct DockerFollowTests {
    func sh(_ command: String) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        do { try p.run() } catch { return (127, "") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A test image from busybox-static, imported (no registry needed).
    func image() -> Bool {
        if sh("docker image inspect logdiag-test-busybox >/dev/null 2>&1").0 == 0 { return true }
        let script = """
            set -e; d=$(mktemp -d); mkdir -p $d/bin; cp /bin/busybox $d/bin/
            for c in sh echo sleep; do ln -s busybox $d/bin/$c; done
            tar -C $d -c . | docker import - logdiag-test-busybox >/dev/null; rm -rf $d
            """
        return sh(script).0 == 0
    }

    @Test func aCrashLoopIsCountedOncePerRunWithItsExitCodeAndGrowingBackoff() throws {
        guard sh("docker info >/dev/null 2>&1").0 == 0, FileManager.default.fileExists(atPath: "/bin/busybox") else {
            // .ci/run sets LOGDIAG_DOCKER=1 once it has a daemon: from then on this test must run.
            if ProcessInfo.processInfo.environment["LOGDIAG_DOCKER"] == "1" {
                Issue.record("LOGDIAG_DOCKER=1 but no Docker daemon or no /bin/busybox (busybox-static)")
            }
            return
        }
        #expect(image())
        let name = "logdiag-crash-\(UUID().uuidString.prefix(8))"
        defer { _ = sh("docker rm -f \(name) >/dev/null 2>&1") }
        let started = sh("docker run -d --name \(name) --restart on-failure:3 logdiag-test-busybox /bin/sh -c 'echo \"\(fatalLine)\"; sleep 1; exit 1'")
        #expect(started.0 == 0, "\(started.1)")
        let run = try RunningLogdiag(["follow", "--color", "never", "-o", "json", name])
        let end = Date().addingTimeInterval(40)
        while Date() < end, !run.err.contains("exited with exit code 1") { Thread.sleep(forTimeInterval: 0.2) }
        _ = run.interrupt()
        #expect(run.err.contains("container exited with exit code 1, restarted 3 times"), "\(run.err)")
        for backoff in ["reattaching in 1s", "reattaching in 2s", "reattaching in 4s"] {
            #expect(run.err.contains(backoff), "\(run.err)")
        }
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any])
        let findings = try #require(doc["findings"] as? [[String: Any]])
        let conntrack = findings.first { $0["rule"] as? String == "kube-proxy.conntrack-max-permission" }
        #expect(conntrack?["count"] as? Int == 4, "one fatal line per run of the container (1 + 3 restarts)")
    }
}

/// A year stated in a payload wins over the year a journald prefix had to guess, for that line
/// and for the prefixes after it.
@Suite struct StatedYearTests {
    @Test func aPayloadYearInsideJournaldWins() throws {
        let text = """
            Oct 24 11:07:02 node1 rke2[123]: time="2021-10-24T11:07:02Z" level=fatal msg="starting kubernetes: preparing server: failed to validate server configuration: unsupported cluster-cidr"
            Oct 24 11:07:03 node1 kubelet[2]: E1024 11:07:03.000000 1 x.go:1] boom after it

            """
        let d = Diagnoser(ruleSet: librarySet)
        // As from a file whose modification time says 2026: the prefix alone would guess 2025.
        let s = try Analyzer().run(source: MemorySource(text), name: "journal.log",
                                   mtime: time_t(Timestamp(year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 0).nanos / 1_000_000_000), into: d)
        let r = Report(results: d.results, ruleSet: librarySet)
        let times = r.unrecognised.compactMap { $0.evidence.first?.time?.civil.year }
        #expect(times.count == 2)
        #expect(times.allSatisfy { $0 == 2021 }, "\(times)")
        #expect(s.first == Timestamp(year: 2021, month: 10, day: 24, hour: 11, minute: 7, second: 2))
    }
}

@Suite struct CompletionTests {
    @Test func completionsOfferComponentsAndRuleIds() throws {
        let bash = try runLogdiag(["--generate-completion-script", "bash"])
        #expect(bash.status == 0)
        #expect(bash.out.contains("kube-proxy kubelet") || bash.out.contains("kube-proxy"), "components for --component")
        #expect(bash.out.contains("kube-proxy="), "COMPONENT= for --version")
        // The script asks the binary for rule ids as the user types (ArgumentParser's protocol).
        #expect(bash.out.contains("---completion rules show -- positional@0"))
        let ids = try runLogdiag(["---completion", "rules", "show", "--", "positional@0", "3", "24",
                                  "logdiag", "rules", "show", "kube-proxy.conntrack-max"])
        #expect(ids.out.split(separator: "\n").contains("kube-proxy.conntrack-max-permission"), "\(ids.out)")
        #expect(!ids.out.contains("etcd."))
    }
}

@Suite struct RulesCheckOnePassTests {
    /// Every error of a file in one pass: a rule with a bad field still has its pattern checked.
    @Test func allErrorsOfAFileAreReportedAtOnce() throws {
        let text = """
            rules:
              - id: t.one
                title: t
                severity: bogus
                match: { literals: [a], pattern: 'a' }
                cause: c
                fix: f
                references: [https://example.org]
                samples: { match: [a], no-match: [b] }
              - id: t.two
                title: t
                severity: error
                match: { literals: [b], pattern: 'b(' }
                cause: c
                fix: f
                samples: { match: [b], no-match: [c] }
            """
        let dir = try tempDir("rules-check")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("bad.yaml")
        try text.write(to: file, atomically: false, encoding: .utf8)
        let r = try runLogdiag(["rules", "check", file.path])
        #expect(r.status != 0)
        #expect(r.out.contains("t.one: unknown severity `bogus`"))
        #expect(r.out.contains("t.two: needs at least one entry in `references`"))
        #expect(r.out.contains("t.two: pattern does not compile"))
        #expect(r.err.contains("3 errors"))
    }
}

@Suite struct ReadmeTests {
    /// The README's first example is what `make demo` prints: the seed case on standard input.
    @Test func theReadmeExampleIsWhatTheDemoPrints() throws {
        let root = URL(fileURLWithPath: corpusRoot).deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = "$ cat Corpus/kube-proxy/lxd-conntrack-max/*.log | logdiag    # what `make demo` runs\n"
        let start = try #require(readme.range(of: marker))
        let end = try #require(readme.range(of: "```\n", range: start.upperBound..<readme.endIndex))
        let shown = String(readme[start.upperBound..<end.lowerBound])
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max/"
        let input = try ["kube-proxy.log", "rancher-server.log"].map { try String(contentsOfFile: seed + $0, encoding: .utf8) }.joined()
        let r = try runLogdiag([], stdin: input)
        #expect(r.status == 1)
        #expect(r.out == shown, "README.md's example differs from what make demo prints now")
    }
}

@Suite struct FollowInputKindTests {
    /// follow recognises a file by its bytes too: a compressed file is an error, not a stream of junk.
    @Test func followRefusesACompressedFile() throws {
        let dir = try tempDir("follow-gz")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("kube-proxy.log")
        try (fatalLine + "\n").write(to: file, atomically: false, encoding: .utf8)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gz.arguments = ["gzip", file.path]
        try gz.run()
        gz.waitUntilExit()
        let r = try runLogdiag(["follow", file.path + ".gz"])
        #expect(r.status == 2)
        #expect(r.err.contains("is gzip-compressed, not a growing text log"))
        #expect(r.out.isEmpty)
    }
}

@Suite struct VersionOptionTests {
    @Test func versionPrintsTheToolsVersionAndTheOldSpellingStillWorks() throws {
        let v = try runLogdiag(["--version"])
        #expect(v.status == 0)
        #expect(v.out == LogDiagVersion.current + "\n")
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log"
        let new = try runLogdiag(["--assume-version", "kube-proxy=1.25.0", seed])
        #expect(new.out.contains("Fix (kube-proxy >= 1.23 and kube-proxy < 1.29)") || new.out.contains("kube-proxy >= 1.23"), "\(new.out.prefix(600))")
        let old = try runLogdiag(["--version", "kube-proxy=1.25.0", seed])
        #expect(old.out == new.out)
        #expect(old.err.contains("is now --assume-version"))
    }
}
