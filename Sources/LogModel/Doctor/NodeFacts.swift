import Foundation

/// What kind of container this is, if any.
public enum ContainerKind: Sendable, Equatable, CustomStringConvertible {
    case none
    case lxc(lxd: Bool)
    case docker
    case podman
    case nspawn
    case other(String)

    public var description: String {
        switch self {
        case .none: return "none"
        case .lxc(let lxd): return lxd ? "LXD" : "LXC"
        case .docker: return "Docker"
        case .podman: return "Podman"
        case .nspawn: return "systemd-nspawn"
        case .other(let s): return s
        }
    }

    /// Short machine name for JSON and tests.
    public var name: String {
        switch self {
        case .none: return "none"
        case .lxc: return "lxc"
        case .docker: return "docker"
        case .podman: return "podman"
        case .nspawn: return "systemd-nspawn"
        case .other: return "other"
        }
    }
}

/// Whether this process is in the initial network namespace, the only one that may change
/// global conntrack sizes.
public enum NetnsState: String, Sendable {
    case initial, nonInitial = "non-initial", unknown
}

/// Inode numbers the kernel gives the initial namespaces (include/linux/proc_ns.h). The PID one is
/// fixed since Linux 3.8; the network one since 6.18.
enum InitialNamespace {
    static let pid: UInt64 = 0xEFFF_FFFC
    static let net: UInt64 = 0xEFFF_FFF9
}

/// Facts several checks need, gathered once.
public struct NodeFacts: Sendable {
    public var container: ContainerKind = .none
    /// Why `container` was decided (one fact per entry).
    public var containerEvidence: [String] = []
    /// Facts that contradict a container marker.
    public var containerDoubts: [String] = []
    public var containerKnown = true
    public var hypervisor = false
    public var kernelRelease: String?
    public var kernel: (Int, Int)?
    public var pidNamespace: UInt64?
    public var netNamespace: UInt64?
    public var pid1NetNamespace: UInt64?
    public var netns: NetnsState = .unknown
    public var netnsReason = ""
    public var cpus: Int?
    public var cpuSource = ""
    public var cpuNote: String?

    public var pidNamespaceInitial: Bool? { pidNamespace.map { $0 == InitialNamespace.pid } }

    public init() {}

    public init(_ s: any NodeSource) {
        kernelRelease = s.read("/proc/sys/kernel/osrelease").value
        if kernelRelease == nil, let uname = s.capture("uname") ?? s.capture("uname-a") {
            let f = uname.split(separator: " ")
            if f.count >= 3 { kernelRelease = String(f[2]) }
        }
        kernel = kernelRelease.flatMap(NodeFacts.kernelVersion)
        hypervisor = s.read("/proc/cpuinfo").text.map { t in
            t.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.split(separator: " ").contains("hypervisor") }
        } ?? false
        pidNamespace = NodeFacts.namespaceInode(s, "/proc/self/ns/pid")
        netNamespace = NodeFacts.namespaceInode(s, "/proc/self/ns/net")
        pid1NetNamespace = NodeFacts.namespaceInode(s, "/proc/1/ns/net")
        detectContainer(s)
        decideNetns()
        countCPUs(s)
    }

    static func kernelVersion(_ release: String) -> (Int, Int)? {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    /// `net:[4026531833]` from the link (live) or from a file holding that text (a copied tree).
    static func namespaceInode(_ s: any NodeSource, _ path: String) -> UInt64? {
        let text: String?
        switch s.fileKind(path) {
        case .symlink(let t): text = t
        case .regular: text = s.read(path).value
        default: text = nil
        }
        guard let t = text, let open = t.firstIndex(of: "["), let close = t.lastIndex(of: "]"), open < close else { return nil }
        return UInt64(t[t.index(after: open)..<close])
    }

    mutating func detectContainer(_ s: any NodeSource) {
        if s.kind == .bundle {
            containerKnown = false
            return
        }
        var env: String?
        switch s.read("/proc/1/environ") {
        case .text(let t):
            env = t.split(separator: "\0").first { $0.hasPrefix("container=") }.map { String($0.dropFirst(10)) }
            if let env { containerEvidence.append("container=\(env) in PID 1's environment") }
        case .unreadable(let r):
            containerDoubts.append("PID 1's environment is not readable (\(r.lowercased()))")
        default: break
        }
        let runContainer = s.read("/run/systemd/container").value.flatMap { $0.isEmpty ? nil : $0 }
        if let runContainer { containerEvidence.append("/run/systemd/container says \(runContainer)") }
        let devLxd = s.fileKind("/dev/lxd").exists == true
        if devLxd { containerEvidence.append("/dev/lxd exists (the LXD guest API)") }
        let dockerenv = s.fileKind("/.dockerenv").exists == true
        if dockerenv { containerEvidence.append("/.dockerenv exists") }
        let containerenv = s.fileKind("/run/.containerenv").exists == true
        if containerenv { containerEvidence.append("/run/.containerenv exists") }
        let cgroup = s.read("/proc/self/cgroup").text ?? ""
        func cg(_ needle: String) -> Bool { cgroup.contains(needle) }
        let cgLXC = cg("/lxc/") || cg("lxc.payload") || cg("/lxc.monitor")
        let cgDocker = cg("/docker/") || cg("/docker-") || cg("docker.service/")
        let cgNspawn = cg("/machine.slice/machine-") && !cg("libpod")
        let cgPodman = cg("libpod")
        let cgKube = cg("/kubepods")
        if cgLXC { containerEvidence.append("/proc/self/cgroup names an LXC cgroup") }
        if cgDocker { containerEvidence.append("/proc/self/cgroup names a Docker cgroup") }
        if cgNspawn { containerEvidence.append("/proc/self/cgroup names a systemd-nspawn machine") }
        if cgPodman { containerEvidence.append("/proc/self/cgroup names a Podman (libpod) cgroup") }
        if cgKube { containerEvidence.append("/proc/self/cgroup names a Kubernetes pod cgroup") }
        let said = (env ?? runContainer)?.lowercased()

        if said == "lxc" || said == "lxc-libvirt" || devLxd || cgLXC {
            container = .lxc(lxd: devLxd)
        } else if said == "systemd-nspawn" || cgNspawn {
            container = .nspawn
        } else if said == "podman" || containerenv || cgPodman {
            container = .podman
        } else if said == "docker" || dockerenv || cgDocker {
            container = .docker
        } else if let said, !said.isEmpty {
            container = .other(said)
        } else if cgKube {
            container = .other("Kubernetes pod")
        }
        // A marker file alone is weak: images built by Docker keep /.dockerenv when they become a VM's disk.
        let strong = said != nil || devLxd || cgLXC || cgDocker || cgNspawn || cgPodman || cgKube
        if container != .none, !strong, pidNamespaceInitial == true {
            containerDoubts.append("but this process is in the initial PID namespace (pid:[\(InitialNamespace.pid)]), which no container runtime gives its containers")
            container = .none
        }
    }

    mutating func decideNetns() {
        let fixedNetInodes = kernel.map { $0 >= (6, 18) } ?? false
        if let net = netNamespace, net == InitialNamespace.net {
            netns = .initial
            netnsReason = "net:[\(net)] is the initial network namespace's fixed inode"
        } else if let net = netNamespace, fixedNetInodes {
            netns = .nonInitial
            netnsReason = "net:[\(net)] is not the initial namespace (net:[\(InitialNamespace.net)] on Linux 6.18 and later)"
        } else if pidNamespaceInitial == true, let mine = netNamespace, let init1 = pid1NetNamespace {
            netns = mine == init1 ? .initial : .nonInitial
            netnsReason = mine == init1 ? "same network namespace as PID 1, the host's init"
                : "net:[\(mine)] differs from the host init's net:[\(init1)]"
        } else if case .lxc = container {
            netns = .nonInitial
            netnsReason = "an LXC/LXD container has its own network namespace"
        } else if pidNamespaceInitial == true, container == .none {
            netns = .initial
            netnsReason = "not in a container (initial PID namespace)"
        } else if container == .none && containerKnown && pidNamespace != nil {
            netns = .unknown
            netnsReason = "this process is in a PID namespace of its own"
        } else {
            netns = .unknown
            netnsReason = container == .none ? "no namespace information" : "a \(container) container may have its own network namespace or share the host's"
        }
    }

    mutating func countCPUs(_ s: any NodeSource) {
        let online = s.read("/sys/devices/system/cpu/online").value.flatMap(NodeFacts.countRanges)
        let cpuinfo = s.read("/proc/cpuinfo").text.map { t in
            t.split(separator: "\n").filter { $0.hasPrefix("processor") && $0.contains(":") }.count
        }.flatMap { $0 > 0 ? $0 : nil }
        if let online {
            cpus = online
            cpuSource = "/sys/devices/system/cpu/online"
            if let cpuinfo, cpuinfo != online {
                cpuNote = "/proc/cpuinfo lists \(cpuinfo) CPUs, /sys/devices/system/cpu/online \(online) (kube-proxy counts the latter; lxcfs can make them differ)"
            }
        } else if let cpuinfo {
            cpus = cpuinfo
            cpuSource = "/proc/cpuinfo"
        }
    }

    /// `0-3,6,8-9` → 7.
    static func countRanges(_ s: String) -> Int? {
        var n = 0
        for part in s.split(separator: ",") {
            let ends = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            if ends.count == 1, ends[0] != nil { n += 1 }
            else if ends.count == 2, let a = ends[0], let b = ends[1], b >= a, b - a < 1 << 20 { n += b - a + 1 }
            else { return nil }
        }
        return n > 0 ? n : nil
    }
}
