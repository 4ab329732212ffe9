import Foundation
import Testing
import LogArchive
@testable import LogModel

/// Runs a Python script (the hostile archives are built by the test, never committed) in `dir`.
private func python(_ script: String, in dir: URL) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script]
    p.currentDirectoryURL = dir
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "python setup failed")
}

private func inputs(_ json: String) throws -> [[String: Any]] {
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    return try #require(doc["inputs"] as? [[String: Any]])
}

private func problem(_ inputs: [[String: Any]], _ name: String) -> String? {
    inputs.first { $0["name"] as? String == name }?["problem"] as? String
}

/// Builds a tar of the seed log plus every kind of member an attacker can put in a bundle.
private let hostileTar = #"""
import tarfile, io, sys, os
seed = open(sys.argv[1] if len(sys.argv) > 1 else os.environ['SEED'], 'rb').read()
secret = b'E0101 10:00:00.000000 1 x.go:1] SECRET-OUTSIDE-THE-BUNDLE\n'
open('outside.log', 'wb').write(secret)
def add(t, name, data=b'', **kw):
    i = tarfile.TarInfo(name)
    for k, v in kw.items(): setattr(i, k, v)
    i.size = len(data) if i.type == tarfile.REGTYPE else 0
    t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
with tarfile.open('hostile.tar.gz', 'w:gz') as t:
    add(t, 'node1/rke/containerlogs/kube-proxy', seed)
    add(t, 'node1/setuid-shell', b'#!/bin/sh\nid\n', mode=0o4755)
    add(t, 'node1/fifo.log', type=tarfile.FIFOTYPE)
    add(t, 'node1/urandom.log', type=tarfile.CHRTYPE, devmajor=1, devminor=9)
    add(t, 'node1/shadow.log', type=tarfile.SYMTYPE, linkname='/etc/shadow')
    add(t, 'node1/escape.log', type=tarfile.SYMTYPE, linkname='../../' + os.getcwd() + '/outside.log')
    add(t, 'node1/alias.log', type=tarfile.SYMTYPE, linkname='rke/containerlogs/kube-proxy')
    add(t, 'node1/hard.log', type=tarfile.LNKTYPE, linkname='node1/rke/containerlogs/kube-proxy')
    add(t, '../../traversal.log', b'E0101 10:00:00.000000 1 x.go:1] written by traversal\n')
    add(t, 'node1/evil\x1b]0;pwned\x07\nname.log', b'I0101 10:00:00.000000 1 x.go:1] fine\n')
"""#

@Suite(.serialized) struct ArchiveTests {
    let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log"

    /// A hostile bundle is read in memory: nothing is written (TMPDIR stays empty, no traversal),
    /// nothing is run (no tar or gzip on PATH), and only the regular log member is read.
    @Test func aHostileBundleIsReadInMemoryAndOnlyItsRegularMembers() throws {
        let dir = try tempDir("archive")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tmp = dir.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        try python("import os; os.environ['SEED'] = \(String(reflecting: seed))\n" + hostileTar, in: dir)
        let empty = dir.appendingPathComponent("no-programs")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let bundle = dir.appendingPathComponent("hostile.tar.gz").path
        let r = try runLogdiag(["triage", "-o", "json", "--year", "2021", "--no-progress", bundle],
                               path: empty.path, replacePath: true, environment: ["TMPDIR": tmp.path])
        let ins = try inputs(r.out)
        #expect(r.status == 1, "the seed's fatal finding decides; skipped members are not unreadable")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: dir.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("traversal.log").path))
        #expect(!r.out.contains("SECRET-OUTSIDE-THE-BUNDLE"))
        #expect(problem(ins, "\(bundle):node1/rke/containerlogs/kube-proxy") == nil)
        #expect(problem(ins, "\(bundle):node1/fifo.log") == "skipped: a FIFO, not a regular file")
        #expect(problem(ins, "\(bundle):node1/urandom.log") == "skipped: a character device, not a regular file")
        #expect(problem(ins, "\(bundle):node1/shadow.log") == "skipped: symbolic link to /etc/shadow, which is not in the archive")
        #expect(problem(ins, "\(bundle):node1/escape.log")?.hasSuffix("outside the archive") == true)
        #expect(problem(ins, "\(bundle):node1/alias.log") == "skipped: symbolic link to node1/rke/containerlogs/kube-proxy, read under that name")
        #expect(problem(ins, "\(bundle):node1/hard.log") == "skipped: hard link to node1/rke/containerlogs/kube-proxy, read under that name")
        // The setuid script is text: read as a log (harmlessly), never given a mode or run.
        #expect(ins.contains { $0["name"] as? String == "\(bundle):node1/setuid-shell" })
        // A traversal name is only a name: read from memory, shown as the archive states it.
        #expect(ins.contains { $0["name"] as? String == "\(bundle):../../traversal.log" })

        // Text output: the member name with ESC, BEL and a newline is shown escaped, on one line.
        let text = try runLogdiag(["triage", "--year", "2021", "--no-progress", bundle])
        #expect(!text.out.contains("\u{1B}") && !text.out.contains("\u{07}"))
        #expect(text.out.contains(#"evil\x1b]0;pwned\x07\nname.log"#))
    }

    /// A decompression bomb stops at --max-bytes with a line that says so, and exit status 2.
    @Test func aBombStopsAtTheBudgetWithALine() throws {
        let dir = try tempDir("bomb")
        defer { try? FileManager.default.removeItem(at: dir) }
        try python("""
            import gzip, tarfile, io
            line = b'I0101 10:00:00.000000 1 x.go:1] filler line that repeats\\n'
            data = line * (64 * 1024 * 1024 // len(line))
            open('bomb.gz', 'wb').write(gzip.compress(data, 9))
            with tarfile.open('bomb.tar.gz', 'w:gz') as t:
                i = tarfile.TarInfo('node1/huge.log'); i.size = len(data); t.addfile(i, io.BytesIO(data))
                i = tarfile.TarInfo('node1/after.log'); i.size = 0; t.addfile(i, io.BytesIO(b''))
            """, in: dir)
        for name in ["bomb.gz", "bomb.tar.gz"] {
            let path = dir.appendingPathComponent(name).path
            let r = try runLogdiag(["triage", "-o", "json", "--max-bytes", "1M", "--no-progress", path])
            #expect(r.status == 2)
            let ins = try inputs(r.out)
            let stop = ins.compactMap { $0["problem"] as? String }.first { $0.hasPrefix("stopped after 1 MiB") }
            #expect(stop != nil, "\(name): \(ins)")
            let lines = ins.compactMap { $0["lines"] as? Int }.reduce(0, +)
            #expect(lines > 10_000 && lines < 20_000, "about 1 MiB of 58-byte lines was read, not all 64 MiB: \(lines)")
            #expect(r.err.contains("stopped after 1 MiB"))
        }
        let bad = try runLogdiag(["triage", "--max-bytes", "lots", dir.path])
        #expect(bad.status == 64 || bad.status == 2)
        #expect(bad.err.contains("--max-bytes takes a size"))
    }

    /// Every format bundles come in, and compressed members inside them, are read; a damaged
    /// archive keeps the members before the damage and says so.
    @Test func everyFormatAndNestedCompressionIsReadAndDamageIsReported() throws {
        let dir = try tempDir("formats")
        defer { try? FileManager.default.removeItem(at: dir) }
        try python("""
            import tarfile, zipfile, gzip, lzma, bz2, io, os
            seed = open(\(String(reflecting: seed)), 'rb').read()
            rot = gzip.compress(b'E0101 10:00:00.000000 1 x.go:1] rotated error line\\n')
            inner = io.BytesIO()
            with tarfile.open(fileobj=inner, mode='w') as t:
                i = tarfile.TarInfo('x.log'); i.size = 4; t.addfile(i, io.BytesIO(b'abc\\n'))
            for mode, name in [('w:gz', 'b.tgz'), ('w:xz', 'b.tar.xz'), ('w:bz2', 'b.tar.bz2'), ('w', 'b.tar')]:
                with tarfile.open(name, mode) as t:
                    for n, d in [('n/kube-proxy.log', seed), ('n/kubelet.log.1.gz', rot), ('n/inner.tar.gz', gzip.compress(inner.getvalue()))]:
                        i = tarfile.TarInfo(n); i.size = len(d); t.addfile(i, io.BytesIO(d))
            with zipfile.ZipFile('b.zip', 'w', zipfile.ZIP_DEFLATED) as z:
                z.writestr('n/kube-proxy.log', seed); z.writestr('n/kubelet.log.1.gz', rot)
            open('kp.xz', 'wb').write(lzma.compress(seed)); open('kp.bz2', 'wb').write(bz2.compress(seed))
            open('kp.gz', 'wb').write(gzip.compress(seed))
            big = b''.join(b'E0101 10:00:%02d.000000 1 x.go:1] line %d %s\\n' % (i % 60, i, os.urandom(8).hex().encode()) for i in range(60000))
            with tarfile.open('cut.tgz', 'w:gz') as t:
                for n in ['a.log', 'b.log']:
                    i = tarfile.TarInfo(n); i.size = len(big); t.addfile(i, io.BytesIO(big))
            data = open('cut.tgz', 'rb').read(); open('cut.tgz', 'wb').write(data[:len(data) * 3 // 4])
            """, in: dir)
        for name in ["b.tgz", "b.tar.xz", "b.tar.bz2", "b.tar", "b.zip"] {
            let path = dir.appendingPathComponent(name).path
            let r = try runLogdiag(["triage", "-o", "json", "--year", "2021", "--no-progress", path])
            #expect(r.status == 1, "\(name): \(r.err)")
            #expect(r.out.contains("kube-proxy.conntrack-max-permission"), "\(name)")
            let ins = try inputs(r.out)
            #expect(ins.first { $0["name"] as? String == "\(path):n/kubelet.log.1.gz" }?["lines"] as? Int == 1, "\(name)")
            if name != "b.zip" {
                #expect(problem(ins, "\(path):n/inner.tar.gz") == "skipped: gzip-compressed tar archive inside the archive; not read", "\(name)")
            }
        }
        for name in ["kp.xz", "kp.bz2", "kp.gz"] {
            let r = try runLogdiag(["--year", "2021", dir.appendingPathComponent(name).path])
            #expect(r.status == 1 && r.out.contains("nf_conntrack_max"), "\(name): \(r.err)")
        }
        let cut = dir.appendingPathComponent("cut.tgz").path
        let r = try runLogdiag(["triage", "-o", "json", "--no-progress", cut])
        #expect(r.status == 2)
        let ins = try inputs(r.out)
        #expect(ins.first { $0["name"] as? String == "\(cut):a.log" }?["lines"] as? Int == 60000)
        #expect(problem(ins, cut)?.hasPrefix("unreadable: ") == true)
        #expect(r.err.contains("\(cut): unreadable"))
    }

    /// The entry limit ends an archive of countless members with a line, through the library API.
    @Test func theEntryLimitEndsAnArchiveOfCountlessMembers() throws {
        let dir = try tempDir("entries")
        defer { try? FileManager.default.removeItem(at: dir) }
        try python("""
            import tarfile, io
            with tarfile.open('many.tar', 'w') as t:
                for k in range(50):
                    i = tarfile.TarInfo('m%d.log' % k); i.size = 2; t.addfile(i, io.BytesIO(b'x\\n'))
            """, in: dir)
        var read = 0
        let outcome = try LibArchiveReader().read(path: dir.appendingPathComponent("many.tar").path,
                                                  limits: UnpackLimits(maxBytes: 1 << 20, maxEntries: 10),
                                                  member: { (_, _, _) throws(InputError) in read += 1 }, skipped: { _, _ in })
        #expect(read == 10)
        #expect(outcome.stopped == "stopped after 10 entries; the rest was not read")
        #expect(outcome.isArchive)
    }

    @Test func sizesParse() {
        #expect(UnpackLimits.parseSize("4G") == 4 << 30)
        #expect(UnpackLimits.parseSize("512MiB") == 512 << 20)
        #expect(UnpackLimits.parseSize("1000") == 1000)
        #expect(UnpackLimits.parseSize("0") == nil)
        #expect(UnpackLimits.parseSize("9999999999T") == nil)
        #expect(UnpackLimits.parseSize("1X") == nil)
        #expect(UnpackLimits.show(4 << 30) == "4 GiB")
    }
}

/// Ctrl-C and SIGTERM leave nothing behind: no temporary files, no child or grandchild processes.
@Suite(.serialized) struct SignalTests {
    /// Alive and not a zombie.
    func alive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    @Test func stoppingFollowEndsTheWholeDockerProcessGroup() throws {
        let dir = try tempDir("signal-follow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pids = dir.appendingPathComponent("pids")
        // A docker that starts a grandchild ignoring SIGTERM, and waits on a child (no exec).
        let script = """
            #!/bin/sh
            case "$1" in
              inspect) echo 0123abcd; exit 0 ;;
              logs)
                sh -c 'trap "" TERM; echo $$ >> \(pids.path); while :; do sleep 1; done' &
                echo "2021-07-23T07:30:08.920930000Z E0723 07:30:08.920930 1 x.go:1] still here"
                sleep 300 & echo $! >> \(pids.path); echo $$ >> \(pids.path); wait ;;
            esac
            """
        let docker = dir.appendingPathComponent("docker")
        try script.write(to: docker, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: docker.path)
        for sig in [SIGINT, SIGTERM] {
            try? FileManager.default.removeItem(at: pids)
            let run = try RunningLogdiag(["follow", "--color", "never", "kube-proxy"], path: dir.path, defaultSignals: true)
            #expect(run.wait(seconds: 15) { $0.contains("still here") })
            var listed: [pid_t] = []
            for _ in 0..<100 {
                listed = ((try? String(contentsOf: pids, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
                if listed.count >= 3 { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            #expect(listed.count == 3)
            kill(run.process.processIdentifier, sig)
            run.process.waitUntilExit()
            Thread.sleep(forTimeInterval: 0.3)
            for pid in listed { #expect(!alive(pid), "signal \(sig): process \(pid) of the docker stand-in is still running") }
        }
    }

    @Test func interruptingTriageLeavesNoTemporaryFiles() throws {
        let dir = try tempDir("signal-triage")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tmp = dir.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import tarfile, io
            line = b'I0101 10:00:00.000000 1 x.go:1] filler line that repeats\\n'
            data = line * (400 * 1024 * 1024 // len(line))
            with tarfile.open('big.tar.gz', 'w:gz', compresslevel=1) as t:
                i = tarfile.TarInfo('node1/huge.log'); i.size = len(data); t.addfile(i, io.BytesIO(data))
            """]
        p.currentDirectoryURL = dir
        try p.run()
        p.waitUntilExit()
        for sig in [SIGINT, SIGTERM] {
            let run = try RunningLogdiag(["triage", "--no-progress", dir.appendingPathComponent("big.tar.gz").path],
                                         environment: ["TMPDIR": tmp.path], defaultSignals: true)
            Thread.sleep(forTimeInterval: 0.5)
            #expect(run.process.isRunning, "the bundle should take longer than half a second to read")
            kill(run.process.processIdentifier, sig)
            run.process.waitUntilExit()
            #expect(run.process.terminationReason == .uncaughtSignal, "status \(run.process.terminationStatus), stderr: \(run.err)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty)
        }
    }
}

/// A cause explains a symptom only on the same node and close in time (`explains-within`).
@Suite struct ExplainsScopeTests {
    let kubeProxy = "2021-07-23T07:30:08.945634000Z F0723 07:30:08.945634 12314 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied\n"
    func rancher(_ year: Int, host: Int) -> String {
        "\(year)/07/23 07:40:55 [ERROR] Failed to upgrade worker components on NotReady hosts, error: [Failed to verify healthcheck: Failed to check http://localhost:10256/healthz for service [kube-proxy] on host [192.168.15.\(host)]: Get \"http://localhost:10256/healthz\": dial tcp 127.0.0.1:10256: connect: connection refused]\n"
    }

    func findings(_ args: [String]) throws -> [[String: Any]] {
        let r = try runLogdiag(args)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        return try #require(doc["findings"] as? [[String: Any]])
    }

    @Test func onlyTheSameNodeAndTimeWindowFold() throws {
        let dir = try tempDir("explains")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        for (n, (node, kp, year)) in [("node1", true, 2021), ("node2", false, 2021), ("node3", true, 2024)].enumerated() {
            let d = dir.appendingPathComponent(node)
            try fm.createDirectory(at: d, withIntermediateDirectories: true)
            if kp { try kubeProxy.write(to: d.appendingPathComponent("kube-proxy.log"), atomically: false, encoding: .utf8) }
            try rancher(year, host: 161 + n).write(to: d.appendingPathComponent("rancher-server.log"), atomically: false, encoding: .utf8)
        }
        // Same folder, 10 minutes apart: one incident, and JSON says what explained it.
        let one = try findings(["triage", "--no-progress", "-o", "json", dir.appendingPathComponent("node1").path])
        let cause = try #require(one.first { $0["rule"] as? String == "kube-proxy.conntrack-max-permission" })
        let folded = try #require((cause["explains"] as? [[String: Any]])?.first)
        #expect(folded["rule"] as? String == "rke.kube-proxy-healthz-refused")
        let by = try #require(folded["explainedBy"] as? [String: Any])
        #expect(by["rule"] as? String == "kube-proxy.conntrack-max-permission")
        #expect(by["gapSeconds"] as? Int == 646)
        #expect((by["input"] as? String)?.hasSuffix("node1/kube-proxy.log") == true)

        // node2's refused healthz has no kube-proxy log beside it: not folded into node1's cause.
        // node3's is three years after its kube-proxy failure: outside the window, its own finding.
        let all = try findings(["triage", "--no-progress", "-o", "json", dir.path])
        let causes = all.filter { $0["rule"] as? String == "kube-proxy.conntrack-max-permission" }
        #expect(causes.count == 2, "one cause per node that has the kube-proxy log")
        for c in causes {
            let explained = (c["explains"] as? [[String: Any]]) ?? []
            for e in explained {
                for ev in (e["evidence"] as? [[String: Any]]) ?? [] {
                    #expect((ev["input"] as? String)?.contains("/node1/") == true, "folded across nodes or years: \(ev)")
                }
            }
        }
        let own = all.filter { $0["rule"] as? String == "rke.kube-proxy-healthz-refused" }
        #expect(own.count == 2, "node2's and node3's symptoms stay findings of their own")
    }

    @Test func explainsWithinIsAValidatedDuration() {
        let rule = """
            rules:
              - id: t.cause
                title: t
                severity: error
                match: { literals: [boom], pattern: 'boom' }
                explains: [t.other]
                explains-within: 10x
                cause: c
                fix: f
                references: [https://example.org]
                samples: { match: [boom], no-match: [bam] }
            """
        let (_, errors) = RuleLoader.load(text: rule, file: "t.yaml")
        #expect(errors.contains { $0.description.contains("explains-within") })
        let ok = RuleLoader.load(text: rule.replacingOccurrences(of: "10x", with: "30m"), file: "t.yaml")
        #expect(ok.errors.isEmpty, "\(ok.errors)")
        #expect(ok.rules.first.map { $0.explainsWithin == Int64(1_800) * 1_000_000_000 } == true)
    }
}

/// On a terminal a long evidence line is cut around what matched, not before it.
@Suite struct EvidenceClipTests {
    @Test func aLongLineIsCutAroundTheMatch() throws {
        let padding = String(repeating: "very-long-context-word ", count: 12)
        let line = "F0723 07:30:08.945634 12314 server.go:495] \(padding)open /proc/sys/net/netfilter/nf_conntrack_max: permission denied and then more words after it"
        let r = try report(line + "\n")
        let terminal = TextRenderer(color: false, width: 100, clipEvidence: true).render(r)
        let shown = terminal.split(separator: "\n").first { $0.contains(":1  ") }.map(String.init) ?? ""
        #expect(shown.contains("nf_conntrack_max: permission denied"), "\(shown)")
        #expect(shown.contains("…open") || shown.contains("… open") || shown.hasPrefix("     test.log:1  …"), "\(shown)")
        #expect(shown.count <= 100 - 8 + "     test.log:1  ".count, "the text part keeps to the width the renderer gives it")
        // In a pipe or file nothing is cut.
        let piped = TextRenderer(color: false, width: 100, clipEvidence: false).render(r)
        #expect(piped.contains(line))
    }
}

/// SARIF and JUnit as CI systems read them.
@Suite struct CIFormatTests {
    @Test func sarifLocationsAreURIsAndJUnitCasesAreTimedAndUnique() throws {
        let dir = try tempDir("ci formats")
        defer { try? FileManager.default.removeItem(at: dir) }
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import tarfile
            with tarfile.open('node #1.tgz', 'w:gz') as t:
                t.add('\(seed)/kube-proxy.log', 'n1/kube-proxy.log'); t.add('\(seed)/rancher-server.log', 'n1/rancher-server.log')
                t.add('\(seed)/kube-proxy.log', 'n2/kube-proxy.log')
            """]
        p.currentDirectoryURL = dir
        try p.run()
        p.waitUntilExit()
        let bundle = dir.appendingPathComponent("node #1.tgz").path
        let sarif = try runLogdiag(["triage", "--no-progress", "-o", "sarif", bundle])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(sarif.out.utf8)) as? [String: Any])
        let run = try #require((doc["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["version"] as? String == LogDiagVersion.current)
        for rule in (driver["rules"] as? [[String: Any]]) ?? [] {
            let text = ((rule["fullDescription"] as? [String: Any])?["text"] as? String ?? "") + ((rule["help"] as? [String: Any])?["text"] as? String ?? "")
            #expect(text.range(of: #"\{[a-z_]+\}"#, options: .regularExpression) == nil, "raw placeholder in \(rule["id"] ?? "")")
        }
        let locations = ((run["results"] as? [[String: Any]]) ?? []).flatMap { ($0["locations"] as? [[String: Any]]) ?? [] }
        #expect(!locations.isEmpty)
        for loc in locations {
            let uri = ((loc["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: Any])?["uri"] as? String ?? ""
            #expect(uri.hasPrefix("file://") && uri.hasSuffix("/node%20%231.tgz"), "\(uri)")
            #expect(URL(string: uri) != nil, "not a URI: \(uri)")
            #expect(((loc["properties"] as? [String: Any])?["archiveMember"] as? String)?.hasPrefix("n") == true)
        }
        let junit = try runLogdiag(["triage", "--no-progress", "-o", "junit", bundle])
        let cases = junit.out.components(separatedBy: "<testcase ").dropFirst()
        #expect(cases.count >= 2)
        #expect(cases.allSatisfy { $0.contains(#"time="0""#) })
        let names = cases.compactMap { $0.components(separatedBy: #"name=""#).dropFirst().first?.components(separatedBy: "\"").first }
        #expect(Set(names).count == names.count, "duplicate test case names: \(names)")
    }
}

@Suite struct FirstUseTests {
    @Test func topLevelHelpShowsTheDefaultCommandsOptions() throws {
        let r = try runLogdiag(["--help"])
        #expect(r.status == 0)
        for option in ["-o, --output", "--redact", "--fail-on", "--rules", "--max-bytes"] {
            #expect(r.out.contains(option), "logdiag --help does not show \(option)")
        }
    }

    /// A tarball that is not a logs-collector bundle is an error, not a report of skipped checks.
    @Test func doctorOnSomethingThatIsNotABundleSaysWhatItExpected() throws {
        let dir = try tempDir("not-a-bundle")
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import tarfile, io\nwith tarfile.open('logs.tar.gz', 'w:gz') as t:\n  i = tarfile.TarInfo('x/kubelet.log'); i.size = 3; t.addfile(i, io.BytesIO(b'hi\\n'))"]
        p.currentDirectoryURL = dir
        try p.run()
        p.waitUntilExit()
        let r = try runLogdiag(["doctor", "--bundle", dir.appendingPathComponent("logs.tar.gz").path])
        #expect(r.status == 2)
        #expect(r.out.isEmpty)
        #expect(r.err.hasSuffix("logs.tar.gz: no systeminfo/ folder inside: not a logs-collector bundle\n"), "\(r.err)")
        #expect(r.err.split(separator: "\n").count == 1)
    }
}

/// Fixes chosen by the evidence; destructive ones only when the evidence proves them.
@Suite struct EvidenceFixTests {
    func top(_ line: String) throws -> ReportedFinding {
        try #require(try report(line + "\n").incidents.first?.cause)
    }

    @Test func theReasonInTheLogChoosesTheFixAndTheCause() throws {
        let dns = try top("ERROR: https://r.example.com/ping is not accessible (Could not resolve host: r.example.com)")
        #expect(dns.fixCondition == #"reason says "Could not resolve host""#)
        #expect(dns.fix.contains("resolvable") && !dns.fix.contains("server-url"))
        #expect(!dns.cause.contains("404"))
        #expect(dns.otherFixes.count == 3)
        let refused = try top("ERROR: https://r.example.com/ping is not accessible (Failed to connect to r.example.com port 443: Connection refused)")
        #expect(refused.fix.contains("Open TCP 443"))
        let notRancher = try top("ERROR: https://localhost/ping is not accessible (The requested URL returned error: 404)")
        #expect(notRancher.fix.contains("server-url") && !notRancher.fix.contains("CoreDNS"))
    }

    @Test func aDestructiveFixIsFirstOnlyWhenTheEvidenceProvesIt() throws {
        // etcd names kube-ca as the authority it could not verify: the re-used node cleanup, flagged.
        let kubeCA = try top(#"2019-09-09 11:51:46.010597 I | embed: rejected connection from "10.9.0.14:48344" (error "tls: failed to verify client's certificate: x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\" while trying to verify candidate authority certificate \"kube-ca\")", ServerName "")"#)
        #expect(kubeCA.destructive && kubeCA.fix.contains("rm -rf"))
        #expect(kubeCA.checkFirst?.contains("fingerprint") == true)
        let text = TextRenderer(color: false, width: 100, clipEvidence: false).render(try report(
            #"2019-09-09 11:51:46.010597 I | embed: rejected connection from "10.9.0.14:48344" (error "tls: failed to verify client's certificate: x509: certificate signed by unknown authority (possibly because of \"crypto/rsa: verification error\" while trying to verify candidate authority certificate \"kube-ca\")", ServerName "")"# + "\n"))
        #expect(text.contains("Destructive: This removes data. Check first:"))
        // An agent that does not trust Rancher's CA: nothing proves a stale node, so no rm -rf first.
        let agent = try top(#"time="2017-01-17T11:10:32Z" level=fatal msg="Failed to listen to events: Get https://rancher.demo.com/v1: x509: certificate signed by unknown authority""#)
        #expect(!agent.destructive && !agent.fix.contains("rm -rf"))
        #expect(agent.otherFixes.contains { $0.destructive && $0.fix.contains("rm -rf") && $0.checkFirst != nil })
    }

    @Test func rulesCheckRefusesAnUnflaggedOrUnprovenDestructiveFix() throws {
        func rule(_ fixes: String, fix: String = "Look at it.") -> String {
            """
            rules:
              - id: t.wipe
                title: t
                severity: error
                match: { literals: [boom], pattern: 'boom (?<what>\\w+)' }
                cause: c
                fix: \(fix)
            \(fixes)
                references: [https://example.org]
                samples: { match: [boom x], no-match: [bam] }
            """
        }
        let unproven = RuleLoader.load(text: rule("""
                fixes:
                  - when: 'etcd >= 3.4'
                    destructive: true
                    check-first: look
                    fix: rm -rf /var/lib/etcd
            """), file: "t.yaml")
        #expect(unproven.errors.contains { $0.description.contains("needs `when-capture` or `when-finding`") })
        let noCheck = RuleLoader.load(text: rule("""
                fixes:
                  - when-capture: {what: [x]}
                    destructive: true
                    fix: rm -rf /var/lib/etcd
            """), file: "t.yaml")
        #expect(noCheck.errors.contains { $0.description.contains("check-first") })
        let plain = RuleLoader.load(text: rule("", fix: "rm -rf /var/lib/etcd and start again"), file: "t.yaml")
        #expect(plain.errors.isEmpty)
        let lint = RuleChecker.check(rules: plain.rules, library: [])
        #expect(lint.contains { $0.message.contains("destroys data") })
        // Every way of destroying data or state a fix may name, and words that only sound like it.
        for text in ["run etcdctl member remove 8e9e05c52164694d on a healthy member", "kubeadm reset -f, then join",
                     "rm /etc/kubernetes/pki/apiserver.crt and restart", "run /usr/local/bin/k3s-uninstall.sh",
                     "rm -r /var/lib/rancher/rke2/server/db", "delete the certificates and let them be made again",
                     "wipe the data dir"] {
            #expect(RuleChecker.removesData(text), "\(text)")
        }
        for text in ["etcdctl member list -w table", "restart kubelet", "remove the taint with kubectl taint", "rke up",
                     "check the certificate with openssl x509"] {
            #expect(!RuleChecker.removesData(text), "\(text)")
        }
    }
}

/// libarchive runs an external program for compressions it has no library for (lrzip, lzop,
/// grzip); logdiag enables only library-backed filters, so a bundle cannot make it run one.
@Suite struct NoExternalFilterTests {
    @Test func anLrzipStreamInsideGzipRunsNoProgram() throws {
        let dir = try tempDir("lrzip")
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("ran")
        let fake = dir.appendingPathComponent("lrzip")
        try "#!/bin/sh\ntouch '\(marker.path)'\ncat\n".write(to: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import gzip; open('x.lrz.gz','wb').write(gzip.compress(b'LRZI\\x00\\x06' + b'\\x00' * 100))"]
        p.currentDirectoryURL = dir
        try p.run()
        p.waitUntilExit()
        for args in [["triage", "--no-progress"], []] {
            _ = try runLogdiag(args + [dir.appendingPathComponent("x.lrz.gz").path], path: dir.path)
            #expect(!FileManager.default.fileExists(atPath: marker.path), "logdiag \(args) ran an lrzip program from PATH")
        }
    }
}
