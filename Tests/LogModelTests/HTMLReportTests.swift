import Foundation
import Testing
@testable import LogModel

/// `-o html` rendered by a real browser (headless Chromium, Debian's `chromium`): the page is
/// checked through its DOM, a screenshot is taken, and no markup from a log ever runs.
@Suite(.serialized) struct HTMLReportTests {
    var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs headless Chromium on `page` with `args` (`--dump-dom`, `--screenshot=...`).
    func browse(_ page: URL, _ args: [String], in dir: URL) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try #require(chromium))
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                       "--user-data-dir=\(dir.appendingPathComponent("profile").path)"] + args + [page.absoluteString]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func available() -> Bool {
        if chromium != nil { return true }
        if ProcessInfo.processInfo.environment["LOGDIAG_CHROMIUM"] == "1" {
            Issue.record("LOGDIAG_CHROMIUM=1 but no chromium on this machine")
        } else {
            print("HTMLReportTests: chromium is not installed here (apt-get install chromium); the browser checks are skipped")
        }
        return false
    }

    @Test func theSeedReportRendersWithItsIncidentAndTimeline() throws {
        let dir = try tempDir("html-seed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max"
        let r = try runLogdiag(["-o", "html", seed + "/kube-proxy.log", seed + "/rancher-server.log"])
        #expect(r.status == 1)
        #expect(r.out.hasPrefix("<!doctype html>"))
        #expect(r.out.contains("Content-Security-Policy"))
        #expect(!r.out.contains("<script"), "the page carries no script at all")
        #expect(!r.out.contains("src=\"http"), "no network: nothing is loaded from elsewhere")
        let page = dir.appendingPathComponent("seed.html")
        try r.out.write(to: page, atomically: false, encoding: .utf8)
        guard available() else { return }
        let dom = try browse(page, ["--dump-dom"], in: dir)
        #expect(dom.contains("kube-proxy cannot set nf_conntrack_max (non-init network namespace)"))
        #expect(dom.contains("id=\"timeline-svg\""))
        #expect(dom.components(separatedBy: "<circle").count - 1 >= 3, "a mark per evidence line with a time")
        #expect(dom.contains("class=\"join\""), "the cause is joined to what it explains")
        #expect(dom.contains("kube-proxy is not answering its healthz check on port 10256"))
        // The screenshot: into docs/ when asked (LOGDIAG_WRITE_SCREENSHOT=1), else a temporary file.
        let root = URL(fileURLWithPath: corpusRoot).deletingLastPathComponent()
        let shot = ProcessInfo.processInfo.environment["LOGDIAG_WRITE_SCREENSHOT"] == "1"
            ? root.appendingPathComponent("docs/report-seed.png") : dir.appendingPathComponent("seed.png")
        _ = try browse(page, ["--window-size=1100,1500", "--screenshot=\(shot.path)"], in: dir)
        let png = try Data(contentsOf: shot)
        #expect(png.count > 10_000 && png.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
    }

    @Test func markupInALogIsShownAsTextInATriageReport() throws {
        let dir = try tempDir("html-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let logs = dir.appendingPathComponent("logs/node1")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max"
        try FileManager.default.copyItem(atPath: seed + "/kube-proxy.log", toPath: logs.appendingPathComponent("kube-proxy.log").path)
        let node2 = dir.appendingPathComponent("logs/node2")
        try FileManager.default.createDirectory(at: node2, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: seed + "/kube-proxy.log", toPath: node2.appendingPathComponent("kube-proxy.log").path)
        let evil = #"E0723 07:31:00.000000 1 x.go:1] bad value <script>document.title='pwned'</script></textarea><img src=x onerror="document.title='pwned'"> here"#
        try (evil + "\n").write(to: logs.appendingPathComponent("kubelet.log"), atomically: false, encoding: .utf8)
        let r = try runLogdiag(["triage", "--no-progress", "--year", "2021", "-o", "html", dir.appendingPathComponent("logs").path])
        #expect(!r.out.contains("<script>"), "a log's markup reaches the page unescaped")
        #expect(!r.out.contains("<img"))
        #expect(r.out.contains("&lt;script&gt;document.title="))
        // Two nodes: a lane per node and component.
        #expect(r.out.contains("kube-proxy · node1") && r.out.contains("kube-proxy · node2"), "lanes per node")
        // diff's page escapes the same way.
        let good = dir.appendingPathComponent("good.log")
        try "I0723 07:30:00.000000 1 x.go:1] started\n".write(to: good, atomically: false, encoding: .utf8)
        let diff = try runLogdiag(["diff", "-o", "html", good.path, logs.appendingPathComponent("kubelet.log").path])
        #expect(diff.out.hasPrefix("<!doctype html>") && diff.out.contains("&lt;script&gt;") && !diff.out.contains("<script>"))
        let page = dir.appendingPathComponent("triage.html")
        try r.out.write(to: page, atomically: false, encoding: .utf8)
        guard available() else { return }
        let dom = try browse(page, ["--dump-dom"], in: dir)
        #expect(!dom.contains("pwned</title>"), "a script from the log ran")
        #expect(!dom.contains("<script"), "the DOM holds a script element")
        #expect(!dom.contains("<img"), "the DOM holds an element from the log")
        #expect(dom.contains("&lt;script&gt;"), "the line shows as text")
        #expect(dom.contains("kubelet.log"))
        #expect(dom.contains("id=\"inputs\""))
    }

    /// Evidence from an archive member and from standard input redirected from a file opens to
    /// the lines around it, read again from where they came.
    @Test func evidenceInArchivesAndRedirectedStdinHasItsContext() throws {
        let dir = try tempDir("html-context")
        defer { try? FileManager.default.removeItem(at: dir) }
        let seed = corpusRoot + "/kube-proxy/lxd-conntrack-max/kube-proxy.log"
        let lines = try String(contentsOfFile: seed, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let key = try #require(lines.firstIndex { $0.contains("nf_conntrack_max: permission denied") })
        let before = String(lines[key - 2]).replacingOccurrences(of: "  ", with: " ")
        let node = dir.appendingPathComponent("node1")
        try FileManager.default.createDirectory(at: node, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: seed, toPath: node.appendingPathComponent("kube-proxy.log").path)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", dir.appendingPathComponent("b.tgz").path, "-C", dir.path, "node1"]
        try tar.run()
        tar.waitUntilExit()
        let r = try runLogdiag(["triage", "--no-progress", "--year", "2021", "-o", "html", dir.appendingPathComponent("b.tgz").path])
        #expect(r.out.contains("<details><summary><code class=\"loc\">\(dir.appendingPathComponent("b.tgz").path):node1/kube-proxy.log:\(key + 1)</code>"))
        func squeezed(_ s: String) -> String { s.replacingOccurrences(of: "  ", with: " ") }
        #expect(squeezed(r.out).contains("<span class=\"ln\">\(key - 1)</span> \(HTMLRenderer.h(before))"), "the line two before the key line")

        let p = Process()
        p.executableURL = logdiagExecutable
        p.arguments = ["--year", "2021", "-o", "html"]
        p.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: seed))
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let page = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(page.contains("<details><summary><code class=\"loc\">&lt;stdin&gt;:\(key + 1)</code>"))
        #expect(squeezed(page).contains("<span class=\"ln\">\(key - 1)</span> \(HTMLRenderer.h(before))"))
    }
}
