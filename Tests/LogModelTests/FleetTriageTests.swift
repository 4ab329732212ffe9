import Foundation
import Testing
@testable import LogModel

/// `logdiag triage` over one Rancher logs-collector tarball per node (the collector's layout:
/// `HOST-YYYY-MM-DD_HH_MM_SS.tar.gz` holding `./k8s/containerlogs/COMPONENT` and `./systeminfo/`).
@Suite struct FleetTriageTests {
    func collectorTarball(in dir: URL, node: String, kubeProxy: [String], kubelet: [String] = []) throws -> String {
        let root = dir.appendingPathComponent("work-\(node)")
        let logs = root.appendingPathComponent("k8s/containerlogs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("systeminfo"), withIntermediateDirectories: true)
        try (node + "\n").write(to: root.appendingPathComponent("systeminfo/hostname"), atomically: true, encoding: .utf8)
        // `docker logs -t`: an RFC 3339 time, then the line.
        func stamped(_ lines: [String]) -> String { lines.map { "2021-07-23T07:30:08.945634000Z " + $0 + "\n" }.joined() }
        try stamped(kubeProxy).write(to: logs.appendingPathComponent("kube-proxy"), atomically: true, encoding: .utf8)
        if !kubelet.isEmpty { try stamped(kubelet).write(to: logs.appendingPathComponent("kubelet"), atomically: true, encoding: .utf8) }
        let name = "\(node)-2021-07-23_07_40_00.tar.gz"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-czf", dir.appendingPathComponent(name).path, "-C", root.path, "."]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)
        try FileManager.default.removeItem(at: root)
        return dir.appendingPathComponent(name).path
    }

    @Test func incidentsAreGroupedByNodeAndSharedCausesCounted() throws {
        let dir = try tempDir("fleet")
        defer { try? FileManager.default.removeItem(at: dir) }
        let conntrack = "F0723 07:30:08.945634 12314 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied"
        let swap = "F0723 07:30:08.816177   13626 server.go:233] failed to run Kubelet: Running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false. /proc/swaps contained: [Filename Type Size Used Priority /dev/dm-1 partition 4001788 0 -1]"
        let healthy = "I0723 07:30:08.945589 12314 server.go:650] Version: v1.20.9"
        var bundles: [String] = []
        for n in 1...3 { bundles.append(try collectorTarball(in: dir, node: "node\(n)", kubeProxy: [healthy, conntrack])) }
        bundles.append(try collectorTarball(in: dir, node: "node4", kubeProxy: [healthy], kubelet: [swap]))
        bundles.append(try collectorTarball(in: dir, node: "node5", kubeProxy: [healthy]))

        let text = try runLogdiag(["triage", "--color", "never"] + bundles)
        #expect(text.status == 1, "\(text.err)")
        #expect(text.out.contains("Across 5 nodes (node1, node2, node3, node4, node5):"), "\(text.out)")
        let lines = text.out.split(separator: "\n").map(String.init)
        let shared = try #require(lines.firstIndex { $0.contains("3 of 5 nodes") })
        #expect(lines[shared].contains("[kube-proxy.conntrack-max-permission]") && lines[shared].hasSuffix("(node1, node2, node3)"),
                "\(lines[shared])")
        let single = try #require(lines.firstIndex { $0.contains("1 of 5 nodes") })
        #expect(single > shared, "the cause most nodes share comes first")
        #expect(lines[single].hasSuffix("(node4)"), "\(lines[single])")
        // Each incident says its node.
        #expect(lines.contains { $0.contains("[kube-proxy.conntrack-max-permission]") && $0.hasSuffix("on node2") }, "\(text.out)")

        let json = try runLogdiag(["triage", "-o", "json"] + bundles)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        let across = try #require(doc["acrossNodes"] as? [String: Any])
        #expect(across["nodes"] as? [String] == ["node1", "node2", "node3", "node4", "node5"])
        let causes = try #require(across["causes"] as? [[String: Any]])
        #expect(causes.first?["rule"] as? String == "kube-proxy.conntrack-max-permission")
        #expect(causes.first?["nodes"] as? [String] == ["node1", "node2", "node3"])

        // One node is not a fleet: no such section.
        let one = try runLogdiag(["triage", "--color", "never", bundles[0]])
        #expect(!one.out.contains("Across"), "\(one.out)")
    }

    @Test func nodeNamesFromCollectorTarballsAndFolders() {
        #expect(NodeGroups.nodeName("node1-2024-05-01_10_20_30.tar.gz:.") == "node1")
        #expect(NodeGroups.nodeName("/tmp/x/ip-10-0-0-1-2024-05-01_10_20_30.tar.gz:") == "ip-10-0-0-1")
        #expect(NodeGroups.nodeName("bundle.tgz:node7") == "node7")
        #expect(NodeGroups.nodeName("saved/worker-2") == "worker-2")
        #expect(NodeGroups.nodeName("plain.tar.gz:./") == "plain")
    }
}
