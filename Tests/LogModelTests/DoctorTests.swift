import Foundation
import Testing
import LogArchive
@testable import LogModel

/// Fixture trees and profiles live in Tests/Fixtures/{doctor,lxd}.
private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

private func fixture(_ path: String) -> String { fixtures.appendingPathComponent(path).path }

/// A copy of a fixture tree in a temporary directory, to change one thing in it.
private final class Tree {
    let root: String

    init(_ name: String) throws {
        root = NSTemporaryDirectory() + "doctor-test-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: fixture("doctor/\(name)"), toPath: root)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func path(_ p: String) -> String { root + p }

    func write(_ p: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: (path(p) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: path(p))
        try text.write(toFile: path(p), atomically: false, encoding: .utf8)
    }

    func remove(_ p: String) throws { try FileManager.default.removeItem(atPath: path(p)) }

    func chmod(_ p: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path(p))
    }

    func symlink(_ p: String, to target: String) throws {
        try? FileManager.default.removeItem(atPath: path(p))
        try FileManager.default.createSymbolicLink(atPath: path(p), withDestinationPath: target)
    }

    /// Replaces `old` with `new` in a file; the text must contain it.
    func edit(_ p: String, _ old: String, _ new: String) throws {
        let text = try String(contentsOfFile: path(p), encoding: .utf8)
        #expect(text.contains(old), "\(p) does not contain \(old)")
        try write(p, text.replacingOccurrences(of: old, with: new))
    }

    func report(_ options: DoctorOptions = DoctorOptions()) throws -> DoctorReport {
        try Doctor.checkRoot(root, options: options)
    }

    func check(_ id: String, _ options: DoctorOptions = DoctorOptions()) throws -> CheckResult {
        try #require(try report(options).checks.first { $0.id == id })
    }
}

private func check(_ report: DoctorReport, _ id: String) throws -> CheckResult {
    try #require(report.checks.first { $0.id == id })
}

private func statuses(_ report: DoctorReport) -> [String: CheckStatus] {
    Dictionary(uniqueKeysWithValues: report.checks.map { ($0.id, $0.status) })
}

private func profile(_ name: String, _ options: DoctorOptions = DoctorOptions(), hostCgroupV2: Bool? = nil) throws -> DoctorReport {
    let text = try String(contentsOfFile: fixture("lxd/\(name)"), encoding: .utf8)
    return try LXDProfileCheck(yaml: text, options: options, hostCgroupV2: hostCgroupV2).run()
}

private let allNodeChecks = ["container", "kernel-modules", "root-propagation", "dev-kmsg", "conntrack-max",
                             "conntrack-hashsize", "swap", "cgroups", "apparmor", "bridge-nf-call-iptables",
                             "ip-forward", "inotify"]

@Suite struct DoctorFixtureTests {
    @Test func healthyVMPassesEveryCheck() throws {
        let r = try Doctor.checkRoot(fixture("doctor/healthy-vm"))
        #expect(r.checks.map(\.id) == allNodeChecks)
        for c in r.checks { #expect(c.status == .pass, "\(c.id): \(c.found)") }
        #expect(!r.failed)
    }

    @Test func preparedLXDContainerHasNoFailure() throws {
        let r = try Doctor.checkRoot(fixture("doctor/lxd-container"))
        let s = statuses(r)
        #expect(s["container"] == .warn)
        // 524288 is higher than kube-proxy's 131072 and this namespace may not write it: fine for
        // 1.23-1.28 and 1.38+, fatal for the others.
        #expect(s["conntrack-max"] == .warn)
        for id in allNodeChecks where id != "container" && id != "conntrack-max" {
            #expect(s[id] == .pass, "\(id): \(r.checks.first { $0.id == id }?.found ?? "")")
        }
        #expect(!r.failed)
    }

    @Test func dockerContainer() throws {
        let r = try Doctor.checkRoot(fixture("doctor/docker-container"))
        let s = statuses(r)
        #expect(s == [
            "container": .warn, "kernel-modules": .pass, "root-propagation": .fail, "dev-kmsg": .fail,
            "conntrack-max": .fail, "conntrack-hashsize": .warn, "swap": .fail, "cgroups": .pass,
            "apparmor": .fail, "bridge-nf-call-iptables": .pass, "ip-forward": .pass, "inotify": .warn,
        ])
        #expect(try check(r, "container").found.contains("Docker"))
        #expect(try check(r, "conntrack-max").found.contains("/proc/sys is mounted read-only"))
        #expect(try check(r, "conntrack-hashsize").found.contains("/sys is read-only"))
        #expect(try check(r, "apparmor").found.contains("docker-default"))
        #expect(r.failed)
    }

    @Test func everyFailureCitesARuleThatExists() throws {
        let ids = Set(RuleLibrary.load().rules.map(\.id))
        var reports = [try Doctor.checkRoot(fixture("doctor/docker-container"))]
        reports.append(try profile("default-profile.yaml"))
        for r in reports {
            for c in r.checks where c.status == .fail || c.status == .warn {
                for rule in c.rules { #expect(ids.contains(rule), "\(c.id) cites unknown rule \(rule)") }
            }
        }
    }

    @Test func logLinesMatchTheRulesTheyCite() throws {
        let rules = RuleLibrary.load().rules
        var reports = [try Doctor.checkRoot(fixture("doctor/docker-container")), try profile("default-profile.yaml")]
        let t = try Tree("lxd-container")
        try t.write("/proc/sys/net/ipv4/ip_forward", "0\n")
        try t.remove("/proc/sys/net/bridge/bridge-nf-call-iptables")
        try t.write("/proc/sys/fs/inotify/max_user_instances", "64\n")
        try t.write("/sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n")
        reports.append(try t.report(DoctorOptions(kubeProxyVersion: KubeVersion("1.20.8"))))
        for r in reports {
            for c in r.checks where c.status != .pass {
                guard let line = c.logLine, let first = c.rules.first else { continue }
                let rule = try #require(rules.first { $0.id == first })
                let pattern = try PCRE2Pattern(rule.pattern)
                let scratch = pattern.makeScratch()
                var bytes = Array(line.utf8)
                let matched = bytes.withUnsafeMutableBufferPointer { pattern.matches(UnsafeBufferPointer($0), scratch: scratch) }
                #expect(matched, "\(c.id): \(first) does not match \(line)")
            }
        }
    }
}

@Suite struct DoctorCheckTests {
    // MARK: container

    @Test func containerNoneOnAVM() throws {
        let c = try Tree("healthy-vm").check("container")
        #expect(c.status == .pass)
        #expect(c.found.contains("virtual machine"))
    }

    @Test func containerLXD() throws {
        let t = try Tree("lxd-container")
        let doctor = NodeDoctor(source: try TreeSource(root: t.root))
        #expect(doctor.facts.container == .lxc(lxd: true))
        #expect(doctor.facts.netns == .nonInitial)
        let c = doctor.container()
        #expect(c.status == .warn)
        #expect(c.found.contains("container=lxc"))
        #expect(c.rules.contains("kube-proxy.conntrack-max-permission"))
    }

    @Test func containerLXCFromCgroupOnly() throws {
        let t = try Tree("lxd-container")
        try t.write("/proc/1/environ", "")
        try t.remove("/run/systemd/container")
        try t.remove("/dev/lxd")
        try t.write("/proc/self/cgroup", "0::/lxc.payload.c1/init.scope\n")
        let f = NodeFacts(try TreeSource(root: t.root))
        #expect(f.container == .lxc(lxd: false))
    }

    @Test func dockerMarkerInTheInitialPIDNamespaceIsNotAContainer() throws {
        // What this machine looks like: a VM whose root file system came from a Docker image.
        let t = try Tree("healthy-vm")
        try t.write("/.dockerenv", "")
        let c = try t.check("container")
        #expect(c.status == .pass)
        #expect(c.found.contains("/.dockerenv exists"))
        #expect(c.found.contains("initial PID namespace"))
    }

    @Test func dockerMarkerInAContainerPIDNamespace() throws {
        let f = NodeFacts(try TreeSource(root: fixture("doctor/docker-container")))
        #expect(f.container == .docker)
        #expect(f.netns == .unknown)
    }

    @Test func nspawnAndPodman() throws {
        let t = try Tree("docker-container")
        try t.remove("/.dockerenv")
        try t.write("/run/systemd/container", "systemd-nspawn\n")
        #expect(NodeFacts(try TreeSource(root: t.root)).container == .nspawn)
        try t.remove("/run/systemd/container")
        try t.write("/run/.containerenv", "")
        #expect(NodeFacts(try TreeSource(root: t.root)).container == .podman)
    }

    // MARK: kernel modules

    @Test(arguments: [
        ("ip_tables", "kube-proxy.iptables-restore-failed"),
        ("ip6_tables", "kube-proxy.iptables-restore-failed"),
        ("nf_nat", "kube-proxy.iptables-restore-failed"),
        ("overlay", "node.overlay-module-missing"),
        ("br_netfilter", "networking.br-netfilter-missing"),
        ("nf_conntrack", "kube-proxy.nf-conntrack-not-loaded"),
    ])
    func lxdContainerMissingAModule(module: String, rule: String) throws {
        let t = try Tree("lxd-container")
        let text = try String(contentsOfFile: t.path("/proc/modules"), encoding: .utf8)
        try t.write("/proc/modules", text.split(separator: "\n").filter { !$0.hasPrefix(module + " ") }.joined(separator: "\n") + "\n")
        // The sysctl files that would prove the module is there go with it.
        if module == "br_netfilter" { try t.remove("/proc/sys/net/bridge") }
        if module == "nf_conntrack" {
            try t.remove("/proc/sys/net/netfilter/nf_conntrack_max")
            try t.remove("/sys/module/nf_conntrack")
        }
        let c = try t.check("kernel-modules")
        #expect(c.status == .fail)
        #expect(c.found == "missing: \(module) (needed: ip_tables, ip6_tables, nf_nat, overlay, br_netfilter, nf_conntrack)")
        #expect(c.rules == [rule])
        #expect(c.commands.contains("modprobe -a \(module)"))
        #expect(c.commands.contains("lxc profile set NAME linux.kernel_modules ip_tables,ip6_tables,nf_nat,overlay,br_netfilter,nf_conntrack"))
    }

    @Test func ipvsModulesOnlyInIPVSMode() throws {
        let t = try Tree("healthy-vm")
        #expect(try t.check("kernel-modules").status == .pass)
        let c = try t.check("kernel-modules", DoctorOptions(proxyMode: .ipvs))
        #expect(c.status == .fail)
        #expect(c.found.hasPrefix("missing: ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh"))
        #expect(c.rules == ["kube-proxy.ipvs-unavailable"])
        let text = try String(contentsOfFile: t.path("/proc/modules"), encoding: .utf8)
        try t.write("/proc/modules", text + ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"].map { "\($0) 16384 0 - Live 0x0\n" }.joined())
        #expect(try t.check("kernel-modules", DoctorOptions(proxyMode: .ipvs)).status == .pass)
    }

    @Test func builtInModulesCount() throws {
        let t = try Tree("healthy-vm")
        try t.write("/proc/modules", "x_tables 53248 0 - Live 0x0\n")
        try t.write("/lib/modules/6.8.0-45-generic/modules.builtin", "kernel/net/ipv4/netfilter/ip_tables.ko\nkernel/net/ipv6/netfilter/ip6_tables.ko\nkernel/net/netfilter/nf_nat.ko\nkernel/fs/overlayfs/overlay.ko\n")
        try t.write("/sys/module/nf_conntrack/parameters/hashsize", "65536\n")
        let c = try t.check("kernel-modules")
        #expect(c.status == .pass, "\(c.found)")
        #expect(c.details.contains("ip_tables: built into the kernel (modules.builtin)"))
        #expect(c.details.contains("br_netfilter: present (/proc/sys/net/bridge/bridge-nf-call-iptables exists)"))
        #expect(c.details.contains("nf_conntrack: built into the kernel (/sys/module/nf_conntrack)"))
    }

    @Test func kernelWithoutLoadableModulesUsesItsConfig() throws {
        let t = try Tree("healthy-vm")
        try t.remove("/proc/modules")
        try t.write("/boot/config-6.8.0-45-generic", "# CONFIG_MODULES is not set\nCONFIG_IP_NF_IPTABLES=y\nCONFIG_IP6_NF_IPTABLES=y\nCONFIG_NF_NAT=y\nCONFIG_OVERLAY_FS=y\nCONFIG_BRIDGE_NETFILTER=y\nCONFIG_NF_CONNTRACK=y\n# CONFIG_IP_VS is not set\n")
        #expect(try t.check("kernel-modules").status == .pass)
        let c = try t.check("kernel-modules", DoctorOptions(proxyMode: .ipvs))
        #expect(c.status == .fail)
        #expect(c.details.contains("ip_vs: not in this kernel (CONFIG_IP_VS is not set)"))
    }

    // MARK: mounts

    @Test func rootPropagation() throws {
        let t = try Tree("lxd-container")
        let pass = try t.check("root-propagation")
        #expect(pass.status == .pass)
        #expect(pass.found.contains("shared (peer group 512)"))
        try t.edit("/proc/self/mountinfo", " / rw,relatime shared:512 master:1 - ", " / rw,relatime - ")
        let fail = try t.check("root-propagation")
        #expect(fail.status == .fail)
        #expect(fail.found.contains("private"))
        #expect(fail.rules == ["node.root-not-shared-mount"])
        #expect(fail.fix?.contains("/etc/rc.local") == true)
        #expect(fail.commands == ["mount --make-rshared /"])
    }

    @Test func rootSlaveIsNotShared() throws {
        let t = try Tree("lxd-container")
        try t.edit("/proc/self/mountinfo", " / rw,relatime shared:512 master:1 - ", " / rw,relatime master:1 - ")
        let c = try t.check("root-propagation")
        #expect(c.status == .fail)
        #expect(c.found.contains("slave"))
    }

    // MARK: /dev/kmsg

    @Test func devKmsg() throws {
        let t = try Tree("lxd-container")
        #expect(try t.check("dev-kmsg").status == .pass)
        try t.remove("/dev/kmsg")
        let c = try t.check("dev-kmsg")
        #expect(c.status == .fail)
        #expect(c.rules == ["node.dev-kmsg-missing"])
        #expect(c.fix?.contains("lxc config device add NAME kmsg unix-char source=/dev/kmsg path=/dev/kmsg") == true)
    }

    @Test func devKmsgUnreadable() throws {
        let t = try Tree("healthy-vm")
        try t.chmod("/dev/kmsg", 0o000)
        let c = try t.check("dev-kmsg")
        #expect(c.status == .fail)
        #expect(c.found.contains("cannot be opened for reading"))
    }

    @Test func devKmsgLinkedToDevNullWarns() throws {
        let t = try Tree("lxd-container")
        try t.symlink("/dev/kmsg", to: "/dev/null")
        let c = try t.check("dev-kmsg")
        #expect(c.status == .warn)
        #expect(c.rules == ["kubelet.cadvisor-oom-source-missing"])
    }

    // MARK: conntrack

    @Test(arguments: [("1.20.8", CheckStatus.fail), ("1.22", .fail), ("1.23.0", .pass), ("1.28.4", .pass),
                      ("1.29.0", .fail), ("v1.37.2", .fail), ("1.38.0", .pass), ("1.40", .pass)])
    func conntrackMaxHigherThanWantedInLXD(version: String, expected: CheckStatus) throws {
        // The seed: 524288 on the host, kube-proxy wants 131072, the container may not write it.
        let c = try Tree("lxd-container").check("conntrack-max", DoctorOptions(kubeProxyVersion: KubeVersion(version)))
        #expect(c.status == expected, "\(version): \(c.found)")
        #expect(c.found.hasPrefix("nf_conntrack_max is 524288; kube-proxy wants 131072 (32768 × 4 CPUs = 131072, at least 131072); this namespace may not write it"))
        if expected == .fail {
            #expect(c.rules.first == "kube-proxy.conntrack-max-permission")
            #expect(c.logLine == "F0723 07:30:08.945634   12314 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied")
            #expect(c.fix?.contains("--conntrack-max-per-core=0") == true)
        }
    }

    @Test func conntrackMaxLowerThanWantedFailsEveryRelease() throws {
        let t = try Tree("lxd-container")
        try t.write("/proc/sys/net/netfilter/nf_conntrack_max", "65536\n")
        let c = try t.check("conntrack-max")
        #expect(c.status == .fail)
        #expect(c.details.filter { $0.contains("exits: permission denied") }.count == 4)
        #expect(c.commands == ["sysctl -w net.netfilter.nf_conntrack_max=131072"])
    }

    @Test func conntrackMaxPerRelease() throws {
        let c = try Tree("lxd-container").check("conntrack-max")
        #expect(c.details.contains("kube-proxy before 1.23: tries to set it to 131072 and exits: permission denied"))
        #expect(c.details.contains("kube-proxy 1.23 to 1.28: leaves it alone (524288 is already higher)"))
        #expect(c.details.contains("kube-proxy 1.29 to 1.37: tries to set it to 131072 and exits: permission denied"))
        #expect(c.details.contains("kube-proxy 1.38 and later: leaves it alone (524288 is already higher)"))
    }

    @Test func conntrackMaxEqualToWantedIsLeftAlone() throws {
        let t = try Tree("lxd-container")
        try t.write("/proc/sys/net/netfilter/nf_conntrack_max", "131072\n")
        #expect(try t.check("conntrack-max").status == .pass)
    }

    @Test func conntrackMaxWritableInTheInitialNamespace() throws {
        let t = try Tree("healthy-vm")
        try t.write("/proc/sys/net/netfilter/nf_conntrack_max", "65536\n")
        let c = try t.check("conntrack-max")
        #expect(c.status == .pass)
        #expect(c.details.contains("kube-proxy before 1.23: sets it to 131072"))
    }

    @Test func conntrackMaxReadOnlyFile() throws {
        // Linux 5.12+ shows nf_conntrack_max as 0444 outside the initial network namespace.
        let t = try Tree("healthy-vm")
        try t.chmod("/proc/sys/net/netfilter/nf_conntrack_max", 0o444)
        let c = try t.check("conntrack-max")
        #expect(c.status == .warn)
        #expect(c.found.contains("its mode is 444"))
    }

    @Test func conntrackMaxFixedInodeShowsTheNamespace() throws {
        // Linux 6.18+ gives the initial network namespace the inode 4026531833.
        let t = try Tree("healthy-vm")
        try t.write("/proc/sys/kernel/osrelease", "6.18.2-arch1\n")
        try t.write("/proc/self/ns/net", "net:[4026532999]\n")
        try t.remove("/proc/1/ns/net")
        let f = NodeFacts(try TreeSource(root: t.root))
        #expect(f.netns == .nonInitial)
        try t.write("/proc/self/ns/net", "net:[4026531833]\n")
        #expect(NodeFacts(try TreeSource(root: t.root)).netns == .initial)
    }

    @Test func conntrackNotLoaded() throws {
        let t = try Tree("lxd-container")
        try t.remove("/proc/sys/net/netfilter/nf_conntrack_max")
        let c = try t.check("conntrack-max")
        #expect(c.status == .fail)
        #expect(c.rules == ["kube-proxy.nf-conntrack-not-loaded"])
    }

    @Test func conntrackMaxUnknownWritability() throws {
        // A Docker container with a writable /proc/sys: it may share the host's network namespace or not.
        let t = try Tree("docker-container")
        try t.edit("/proc/self/mountinfo", "/sys /proc/sys ro,", "/sys /proc/sys rw,")
        let c = try t.check("conntrack-max")
        #expect(c.status == .warn)
        #expect(c.found.contains("whether it may be written is unknown"))
    }

    @Test func hashsize() throws {
        let t = try Tree("lxd-container")
        let pass = try t.check("conntrack-hashsize")
        #expect(pass.status == .pass)
        #expect(pass.found == "hashsize is 131072, at least nf_conntrack_max/4 = 32768: every kube-proxy release leaves it alone")
        try t.write("/sys/module/nf_conntrack/parameters/hashsize", "16384\n")
        let fail = try t.check("conntrack-hashsize")
        #expect(fail.status == .fail)
        #expect(fail.rules.first == "kube-proxy.conntrack-hashsize-write-failed")
        #expect(fail.commands == ["echo 32768 > /sys/module/nf_conntrack/parameters/hashsize"])
    }

    @Test func hashsizeRaisedInTheInitialNamespace() throws {
        let t = try Tree("healthy-vm")
        try t.write("/sys/module/nf_conntrack/parameters/hashsize", "16384\n")
        #expect(try t.check("conntrack-hashsize").status == .pass)
    }

    // MARK: swap, cgroups, AppArmor, sysctls

    @Test func swap() throws {
        let t = try Tree("lxd-container")
        #expect(try t.check("swap").status == .pass)
        let text = try String(contentsOfFile: t.path("/proc/swaps"), encoding: .utf8)
        try t.write("/proc/swaps", text + "/dev/sda3                               partition\t2097148\t\t0\t\t-2\n")
        let c = try t.check("swap")
        #expect(c.status == .fail)
        #expect(c.found == "swap is on: /dev/sda3 (partition, 2097148 KiB)")
        #expect(c.rules == ["kubelet.swap-enabled"])
    }

    @Test func cgroupControllers() throws {
        let t = try Tree("lxd-container")
        #expect(try t.check("cgroups").status == .pass)
        try t.write("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory hugetlb\n")
        let c = try t.check("cgroups")
        #expect(c.status == .fail)
        #expect(c.found.hasSuffix("missing: pids"))
        #expect(c.logLine?.hasSuffix("Following Cgroup subsystem not mounted: [pids]") == true)
    }

    @Test func cgroupV1Warns() throws {
        let t = try Tree("healthy-vm")
        try t.remove("/sys/fs/cgroup/cgroup.controllers")
        try t.edit("/proc/self/mountinfo", "33 24 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
                   ["cpu,cpuacct", "cpuset", "memory", "pids", "hugetlb", "blkio", "devices"].enumerated().map { i, c in
                       "\(40 + i) 24 0:\(40 + i) / /sys/fs/cgroup/\(c) rw,nosuid,nodev,noexec,relatime shared:\(20 + i) - cgroup cgroup rw,\(c)\n"
                   }.joined())
        let c = try t.check("cgroups")
        #expect(c.status == .warn)
        #expect(c.found.hasPrefix("cgroup v1"))
        #expect(c.why.contains("failCgroupV1"))
    }

    @Test func noCgroupMountFails() throws {
        let t = try Tree("healthy-vm")
        try t.remove("/sys/fs/cgroup/cgroup.controllers")
        try t.edit("/proc/self/mountinfo", "33 24 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n", "")
        let c = try t.check("cgroups")
        #expect(c.status == .fail)
        #expect(c.rules == ["node.cgroup-mount-missing"])
    }

    @Test func apparmor() throws {
        let t = try Tree("lxd-container")
        #expect(try t.check("apparmor").status == .pass)
        try t.write("/proc/self/attr/apparmor/current", "lxc-container-default-cgns (enforce)\n")
        let c = try t.check("apparmor")
        #expect(c.status == .fail)
        #expect(c.found.contains("lxc-container-default-cgns"))
        #expect(c.logLine?.contains("profile=\"lxc-container-default-cgns\"") == true)
        #expect(c.fix?.contains("lxc.apparmor.profile=unconfined") == true)
        try t.write("/proc/self/attr/apparmor/current", "lxc-container-default-cgns (complain)\n")
        #expect(try t.check("apparmor").status == .warn)
    }

    @Test func apparmorOlderKernelAttrCurrent() throws {
        let t = try Tree("lxd-container")
        try t.remove("/proc/self/attr/apparmor")
        try t.write("/proc/self/attr/current", "lxd-c1_</var/lib/lxd> (enforce)\n")
        #expect(try t.check("apparmor").status == .fail)
    }

    @Test func bridgeNfCallIptables() throws {
        let t = try Tree("lxd-container")
        #expect(try t.check("bridge-nf-call-iptables").status == .pass)
        try t.write("/proc/sys/net/bridge/bridge-nf-call-iptables", "0\n")
        let off = try t.check("bridge-nf-call-iptables")
        #expect(off.status == .fail)
        #expect(off.rules == ["networking.br-netfilter-missing"])
        try t.remove("/proc/sys/net/bridge")
        #expect(try t.check("bridge-nf-call-iptables").status == .fail)
    }

    @Test func ipForward() throws {
        let t = try Tree("lxd-container")
        #expect(try t.check("ip-forward").status == .pass)
        try t.write("/proc/sys/net/ipv4/ip_forward", "0\n")
        let c = try t.check("ip-forward")
        #expect(c.status == .fail)
        #expect(c.commands == ["sysctl -w net.ipv4.ip_forward=1"])
    }

    @Test func inotify() throws {
        let t = try Tree("lxd-container")
        #expect(try t.check("inotify").status == .pass)
        try t.write("/proc/sys/fs/inotify/max_user_instances", "128\n")
        #expect(try t.check("inotify").status == .warn)
        try t.write("/proc/sys/fs/inotify/max_user_instances", "64\n")
        let c = try t.check("inotify")
        #expect(c.status == .fail)
        #expect(c.rules == ["node.inotify-limit"])
        #expect(c.fix?.contains("on the host") == true)
    }
}

@Suite(.serialized) struct DoctorBundleTests {
    @Test func logsCollectorBundle() throws {
        let dir = NSTemporaryDirectory() + "doctor-bundle-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let archive = dir + "/lxdcontainer-2021-07-23_07_45_00.tar.gz"
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        tar.arguments = ["-czf", archive, "-C", fixture("doctor/bundle"), "lxdcontainer-2021-07-23_07_45_00"]
        try tar.run()
        tar.waitUntilExit()
        #expect(tar.terminationStatus == 0)

        let r = try Doctor.checkBundle(archive, packed: LibArchiveReader())
        #expect(r.target.contains("lxdcontainer-2021-07-23_07_45_00.tar.gz"))
        let s = statuses(r)
        #expect(s == [
            "container": .skip, "kernel-modules": .pass, "root-propagation": .skip, "dev-kmsg": .skip,
            "conntrack-max": .warn, "conntrack-hashsize": .pass, "swap": .pass, "cgroups": .pass,
            "apparmor": .skip, "bridge-nf-call-iptables": .pass, "ip-forward": .pass, "inotify": .pass,
        ])
        #expect(try check(r, "root-propagation").found.contains("not captured by the logs-collector bundle"))
        #expect(try check(r, "conntrack-max").found.hasPrefix("nf_conntrack_max is 524288; kube-proxy wants 131072"))
        // Only the captures were unpacked, and the temporary folder is gone.
        let left = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("logdiag-doctor-\(getpid())-") }
        #expect(left.isEmpty)

        // With a version the verdict is definite only where the kernel's answer does not matter.
        #expect(try check(try Doctor.checkBundle(archive, options: DoctorOptions(kubeProxyVersion: KubeVersion("1.25")), packed: LibArchiveReader()), "conntrack-max").status == .pass)
    }

    @Test func unpackedBundleFolderAndBadBundles() throws {
        let r = try Doctor.checkBundle(fixture("doctor/bundle"))
        #expect(try check(r, "swap").status == .pass)
        #expect(throws: DoctorError.self) { try Doctor.checkBundle(fixture("doctor/healthy-vm")) }
        #expect(throws: DoctorError.self) { try Doctor.checkBundle("/no/such/bundle.tar.gz") }
        let junk = NSTemporaryDirectory() + "doctor-junk-\(UUID().uuidString).tar.gz"
        try "not a tar file".write(toFile: junk, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: junk) }
        #expect(throws: DoctorError.self) { try Doctor.checkBundle(junk, packed: LibArchiveReader()) }
    }

    @Test func bundleSwapAndModulesFromCaptures() throws {
        let dir = NSTemporaryDirectory() + "doctor-bundle-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: fixture("doctor/bundle"), toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sys = dir + "/lxdcontainer-2021-07-23_07_45_00/systeminfo/"
        try "               total        used        free\nMem:            4096         812        2461\nSwap:           2047           0        2047\n"
            .write(toFile: sys + "freem", atomically: false, encoding: .utf8)
        let lsmod = try String(contentsOfFile: sys + "lsmod", encoding: .utf8)
        try lsmod.split(separator: "\n").filter { !$0.hasPrefix("br_netfilter") }.joined(separator: "\n")
            .write(toFile: sys + "lsmod", atomically: false, encoding: .utf8)
        let r = try Doctor.checkBundle(dir)
        #expect(try check(r, "swap").status == .fail)
        // br_netfilter is not in lsmod, but its sysctls are in sysctl -a: it is built in or loaded.
        #expect(try check(r, "kernel-modules").status == .pass)
        try FileManager.default.removeItem(atPath: sys + "sysctla")
        let r2 = try Doctor.checkBundle(dir)
        let m = try check(r2, "kernel-modules")
        #expect(m.status == .warn)
        #expect(m.found.hasPrefix("cannot confirm br_netfilter"))
        #expect(try check(r2, "conntrack-max").status == .skip)
    }
}

@Suite struct DoctorLXDProfileTests {
    @Test func seedProfilePasses() throws {
        let r = try profile("k8s-good.yaml")
        #expect(!r.failed)
        let s = statuses(r)
        #expect(s == ["lxd.security-nesting": .pass, "lxd.security-privileged": .pass, "lxd.kernel-modules": .pass,
                      "lxd.raw-lxc": .pass, "lxd.kmsg-device": .skip])
        #expect(try check(r, "lxd.kmsg-device").commands == ["lxc profile device add k8s kmsg unix-char source=/dev/kmsg path=/dev/kmsg"])
    }

    @Test func withoutNestingFailsWithTheCommand() throws {
        let r = try profile("k8s-no-nesting.yaml")
        #expect(r.failed)
        let c = try check(r, "lxd.security-nesting")
        #expect(c.status == .fail)
        #expect(c.commands == ["lxc profile set k8s security.nesting true"])
        #expect(r.checks.filter { $0.status == .fail }.count == 1)
    }

    @Test func missingModuleFailsWithTheCommand() throws {
        let r = try profile("k8s-missing-module.yaml")
        #expect(r.failed)
        let c = try check(r, "lxd.kernel-modules")
        #expect(c.status == .fail)
        #expect(c.found.hasSuffix("missing: br_netfilter"))
        #expect(c.commands == ["lxc profile set k8s linux.kernel_modules ip_tables,ip6_tables,nf_nat,overlay,br_netfilter"])
        #expect(c.rules == ["networking.br-netfilter-missing"])
    }

    @Test func unprivilegedFails() throws {
        let c = try check(try profile("k8s-unprivileged.yaml"), "lxd.security-privileged")
        #expect(c.status == .fail)
        #expect(c.found == "security.privileged is false")
        #expect(c.commands == ["lxc profile set k8s security.privileged true"])
    }

    @Test func partialRawLXC() throws {
        let c = try check(try profile("k8s-raw-lxc-partial.yaml"), "lxd.raw-lxc")
        #expect(c.status == .fail)
        #expect(c.commands == [#"lxc profile set k8s raw.lxc "$(printf 'lxc.apparmor.profile=unconfined\nlxc.mount.auto=proc:rw sys:rw cgroup:rw\nlxc.cap.drop=\nlxc.cgroup.devices.allow=a')""#])
        #expect(c.found.contains("lxc.mount.auto lacks proc:rw sys:rw (it is proc:mixed sys:mixed cgroup:rw)"))
        // On a cgroup v2 LXD host the device line uses the cgroup2 key.
        let v2 = try check(try profile("k8s-raw-lxc-partial.yaml", hostCgroupV2: true), "lxd.raw-lxc")
        #expect(v2.commands.first?.contains("lxc.cgroup2.devices.allow=a") == true)
    }

    @Test func rawLXCCommandRoundTripsThroughTheShell() throws {
        let c = try check(try profile("default-profile.yaml"), "lxd.raw-lxc")
        let cmd = try #require(c.commands.first)
        // Run the command with `lxc` replaced by printf, and check the value the shell passes.
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", "lxc() { printf '%s' \"$5\"; }; " + cmd.replacingOccurrences(of: "lxc profile set default raw.lxc", with: "lxc profile set default raw.lxc")]
        let out = Pipe()
        sh.standardOutput = out
        try sh.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        sh.waitUntilExit()
        #expect(String(decoding: data, as: UTF8.self) == "lxc.apparmor.profile=unconfined\nlxc.cap.drop=\nlxc.cgroup.devices.allow=a\nlxc.mount.auto=proc:rw sys:rw")
    }

    @Test func defaultProfileFailsEverything() throws {
        let r = try profile("default-profile.yaml")
        #expect(r.checks.filter { $0.status == .fail }.map(\.id) == ["lxd.security-nesting", "lxd.security-privileged", "lxd.kernel-modules", "lxd.raw-lxc"])
        #expect(try check(r, "lxd.kernel-modules").commands == ["lxc profile set default linux.kernel_modules ip_tables,ip6_tables,nf_nat,overlay,br_netfilter,nf_conntrack"])
    }

    @Test func ipvsProfileWithKmsgPasses() throws {
        let r = try profile("k8s-with-kmsg.yaml", DoctorOptions(proxyMode: .ipvs))
        for c in r.checks { #expect(c.status == .pass, "\(c.id): \(c.found)") }
        let seed = try check(try profile("k8s-good.yaml", DoctorOptions(proxyMode: .ipvs)), "lxd.kernel-modules")
        #expect(seed.status == .fail)
        #expect(seed.commands == ["lxc profile set k8s linux.kernel_modules ip_tables,ip6_tables,nf_nat,overlay,br_netfilter,ip_vs,ip_vs_rr,ip_vs_wrr,ip_vs_sh"])
    }

    @Test func instanceConfigUsesLxcConfigSet() throws {
        let yaml = """
            architecture: x86_64
            config:
              security.privileged: "true"
            devices: {}
            ephemeral: false
            profiles:
            - default
            name: node1
            """
        let r = try LXDProfileCheck(yaml: yaml).run()
        #expect(try check(r, "lxd.security-nesting").commands == ["lxc config set node1 security.nesting true"])
    }

    @Test func notAProfile() throws {
        let text = try String(contentsOfFile: fixture("lxd/not-yaml.txt"), encoding: .utf8)
        #expect(throws: DoctorError.self) { try LXDProfileCheck(yaml: text) }
        #expect(throws: DoctorError.self) { try LXDProfileCheck(yaml: "") }
        #expect(throws: DoctorError.self) { try LXDProfileCheck(yaml: "- a\n- b\n") }
        #expect(throws: DoctorError.self) { try LXDProfileCheck(yaml: "config: [1, 2]\nname: x\n") }
        #expect(throws: DoctorError.self) { try Doctor.readProfile("/no/such/profile.yaml") }
    }
}

@Suite struct DoctorRobustnessTests {
    @Test func emptyTreeSkipsInsteadOfCrashing() throws {
        let dir = NSTemporaryDirectory() + "doctor-empty-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Doctor.checkRoot(dir)
        #expect(r.checks.map(\.id) == allNodeChecks)
        for c in r.checks { #expect(c.status == .skip, "\(c.id): \(c.found)") }
        #expect(!r.failed)
    }

    @Test func garbageFilesDoNotTrap() throws {
        let t = try Tree("lxd-container")
        let junk = String(decoding: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }, as: UTF8.self)
        for p in ["/proc/sys/net/netfilter/nf_conntrack_max", "/sys/module/nf_conntrack/parameters/hashsize", "/proc/self/mountinfo",
                  "/proc/swaps", "/sys/fs/cgroup/cgroup.controllers", "/proc/cpuinfo", "/sys/devices/system/cpu/online",
                  "/proc/self/ns/pid", "/proc/self/ns/net", "/proc/1/environ", "/proc/modules", "/proc/sys/fs/inotify/max_user_watches",
                  "/proc/self/attr/apparmor/current", "/proc/sys/kernel/osrelease"] {
            try t.write(p, junk)
        }
        try t.write("/sys/devices/system/cpu/online", "0-99999999999999999999,5-3\n")
        let r = try t.report()
        #expect(r.checks.count == allNodeChecks.count)
        _ = DoctorTextRenderer().render(r)
        _ = DoctorMarkdownRenderer().render(r)
        _ = r.json()
    }

    @Test func missingRootIsAnError() {
        #expect(throws: DoctorError.self) { try Doctor.checkRoot("/no/such/root") }
        #expect(throws: DoctorError.self) { try Doctor.checkRoot(fixture("lxd/k8s-good.yaml")) }
    }

    @Test func versionsAndBands() {
        #expect(KubeVersion("v1.20.8") == KubeVersion(1, 20, 8))
        #expect(KubeVersion("1.29.0-rc.1").map { KubeProxyBand($0) } == .from1_29to1_37)
        #expect(KubeVersion("1") == nil)
        #expect(KubeVersion("1.x") == nil)
        #expect(KubeVersion("") == nil)
        #expect(KubeProxyBand.before1_23.writes(current: 524288, wanted: 131072))
        #expect(!KubeProxyBand.from1_23to1_28.writes(current: 524288, wanted: 131072))
        #expect(KubeProxyBand.from1_23to1_28.writes(current: 65536, wanted: 131072))
        #expect(NodeFacts.countRanges("0-3,6,8-9") == 7)
        #expect(NodeFacts.countRanges("garbage") == nil)
        #expect(MountEntry(line: "1 2 3:4 / /mnt\\040x rw shared:5 - ext4 /dev/a rw")?.mountPoint == "/mnt x")
        #expect(MountEntry(line: "short line") == nil)
    }

    @Test func renderings() throws {
        let r = try Doctor.checkRoot(fixture("doctor/docker-container"))
        let text = DoctorTextRenderer(color: false, width: 100).render(r)
        #expect(text.contains("FAIL  root-propagation"))
        #expect(text.contains("12 checks: 4 pass, 3 warn, 5 fail, 0 skipped"))
        #expect(!text.contains("\u{1B}["))
        #expect(DoctorTextRenderer(color: true).render(r).contains("\u{1B}[1;31mFAIL"))
        let md = DoctorMarkdownRenderer().render(r)
        #expect(md.contains("| FAIL | `dev-kmsg` |"))
        #expect(md.contains("### FAIL: Swap (`swap`)"))
        let json = try JSONSerialization.jsonObject(with: Data(r.json().utf8)) as? [String: Any]
        let summary = json?["summary"] as? [String: Any]
        #expect(summary?["fail"] as? Int == 5)
        #expect(summary?["worst"] as? String == "fail")
        #expect((json?["checks"] as? [[String: Any]])?.count == 12)
    }
}
