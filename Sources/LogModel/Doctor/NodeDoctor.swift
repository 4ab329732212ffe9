import Foundation

/// The log lines each prerequisite produces when it is missing: samples of the rules that explain them.
enum DoctorLogLine {
    static let conntrackMax = "F0723 07:30:08.945634   12314 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied"
    static let conntrackMissing = "F0212 14:02:37.551920    5286 server.go:489] open /proc/sys/net/netfilter/nf_conntrack_max: no such file or directory"
    static let hashsize = "F0926 17:32:16.176899    8435 server.go:361] write /sys/module/nf_conntrack/parameters/hashsize: operation not supported"
    static let iptables = "E0905 20:09:11.733419       1 proxier.go:423] Failed to execute iptables-restore for nat: exit status 1 (iptables-restore: line 7 failed"
    static let overlay = "ERRO[0000] 'overlay' not found as a supported filesystem on this host. Please ensure kernel is new enough and has overlay support loaded."
    static let brNetfilterMissing = "E0413 10:18:28.718696       1 main.go:278] Failed to check br_netfilter: stat /proc/sys/net/bridge/bridge-nf-call-iptables: no such file or directory"
    static let brNetfilterOff = "[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]: /proc/sys/net/bridge/bridge-nf-call-iptables contents are not set to 1"
    static let ipvs = "E0626 17:19:43.491383       1 server_others.go:127] Can't use the IPVS proxier: IPVS proxier will not be used because the following required kernel modules are not loaded: [ip_vs ip_vs_rr ip_vs_wrr ip_vs_sh]"
    static let sharedMount = "FATA[0180] [workerPlane] Failed to bring up Worker Plane: Failed to start [kubelet] container on host [192.168.10.51]: Error response from daemon: linux mounts: Path /var/lib/kubelet is mounted on / but it is not a shared mount."
    static let kmsgMissing = "F0725 21:48:23.607149     673 kubelet.go:1405] Failed to start OOM watcher open /dev/kmsg: no such file or directory"
    static let kmsgDenied = "F1118 04:38:15.095965     167 server.go:269] failed to run Kubelet: failed to create kubelet: open /dev/kmsg: operation not permitted"
    static let swap = "F0624 13:16:48.816177   13626 server.go:233] failed to run Kubelet: Running with swap on is not supported, please disable swap! or set --fail-swap-on flag to false."
    static func cgroupController(_ c: String) -> String {
        "F0522 10:32:11.019331    1890 kubelet.go:1200] Failed to start ContainerManager system validation failed - Following Cgroup subsystem not mounted: [\(c)]"
    }
    static let cgroupMount = "F0105 21:11:32.785200   12510 server.go:261] failed to run Kubelet: mountpoint for cpu not found"
    static func apparmorDenied(_ profile: String) -> String {
        "audit: type=1400 audit(1709547751.203:212): apparmor=\"DENIED\" operation=\"mount\" info=\"failed flags match\" error=-13 profile=\"\(profile)\" name=\"/run/containerd/io.containerd.runtime.v2.task/\" pid=40211 comm=\"runc:[2:INIT]\""
    }
    static let apparmorUnavailable = "Error: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: apparmor failed to apply profile: write /proc/self/attr/apparmor/exec: no such file or directory: unknown"
    static let ipForward = "[INFO] plugin/kubernetes: pkg/mod/k8s.io/client-go@v0.27.4/tools/cache/reflector.go:231: failed to list *v1.Service: Get \"https://10.96.0.1:443/api/v1/services?limit=500&resourceVersion=0\": dial tcp 10.96.0.1:443: i/o timeout"
    static let inotify = "F0812 16:26:52.166979  111106 server.go:269] failed to run Kubelet: inotify_init: too many open files"
}

/// The fix that stops kube-proxy from touching conntrack sizes, in every installer's words
/// (the same as the rule kube-proxy.conntrack-max-permission).
let maxPerCoreZero = "set --conntrack-max-per-core=0 (config file: conntrack.maxPerCore: 0; RKE cluster.yml: services.kubeproxy.extra_args: {conntrack-max-per-core: \"0\"}; RKE2/k3s: kube-proxy-arg: [\"conntrack-max-per-core=0\"]; kubeadm: the KubeProxyConfiguration in the kube-proxy ConfigMap)"

/// Runs the node checks against one source.
public struct NodeDoctor: Sendable {
    public let source: any NodeSource
    public let options: DoctorOptions
    public let facts: NodeFacts

    public init(source: any NodeSource, options: DoctorOptions = DoctorOptions()) {
        self.source = source
        self.options = options
        self.facts = NodeFacts(source)
    }

    public func run() -> DoctorReport {
        let checks = [
            container(), kernelModules(), rootPropagation(), devKmsg(), conntrackMax(), conntrackHashsize(),
            swap(), cgroups(), apparmor(), bridgeNfCallIptables(), ipForward(), inotify(),
        ]
        return DoctorReport(target: source.label, assumptions: options.assumptions, checks: checks)
    }

    var inLXC: Bool { if case .lxc = facts.container { return true } else { return false } }

    func skipped(_ id: String, _ title: String, _ why: String) -> CheckResult {
        CheckResult(id: id, title: title, status: .skip, found: why)
    }

    /// A copied tree without this directory says nothing about the node: the check skips.
    func treeLacks(_ dir: String) -> Bool {
        source.kind == .tree && source.fileKind(dir).exists != true
    }

    func notCapturedReason(_ what: String) -> String {
        source.kind == .bundle ? "not captured by the logs-collector bundle (\(what))" : "\(what) is not in this tree"
    }

    // MARK: container

    func container() -> CheckResult {
        let id = "container", title = "Container detection"
        guard facts.containerKnown else {
            return skipped(id, title, notCapturedReason("/proc/1/environ, /proc/self/cgroup, /.dockerenv and /dev/lxd"))
        }
        if treeLacks("/proc") { return skipped(id, title, "/proc is not in this tree") }
        var details = facts.containerEvidence + facts.containerDoubts
        if let p = facts.pidNamespace { details.append("PID namespace pid:[\(p)]" + (p == InitialNamespace.pid ? " (the initial one)" : " (not the initial one)")) }
        details.append("network namespace: \(facts.netns.rawValue) (\(facts.netnsReason))")
        if facts.hypervisor { details.append("the CPU flags include hypervisor: a virtual machine's kernel") }
        switch facts.container {
        case .none:
            var found = "not a container"
            if !facts.containerEvidence.isEmpty {
                found += ": " + facts.containerEvidence.joined(separator: ", ")
                if let doubt = facts.containerDoubts.last { found += ", " + doubt }
                if facts.hypervisor { found += "; the kernel runs on a hypervisor, so this is a virtual machine whose root file system came from a container image" }
            } else {
                found += facts.hypervisor ? " (a virtual machine: the CPU reports a hypervisor)" : " (no container marker, cgroup or namespace found)"
            }
            return CheckResult(id: id, title: title, status: .pass, found: found,
                               why: "Kubernetes on a VM or bare metal has its own kernel and may change its sysctls and modules; the checks below still apply.",
                               details: details)
        case .lxc(let lxd):
            return CheckResult(
                id: id, title: title, status: .warn,
                found: "an \(lxd ? "LXD" : "LXC") container (" + facts.containerEvidence.joined(separator: ", ") + ")",
                why: "An LXC/LXD container shares the host's kernel: it cannot load modules, may not change global sysctls from its network namespace, and gets private mounts, no /dev/kmsg and an AppArmor profile by default. kube-proxy then exits on nf_conntrack_max and Rancher waits forever on its healthz port.",
                logLine: DoctorLogLine.conntrackMax, rules: ["kube-proxy.conntrack-max-permission", "rke.kube-proxy-healthz-refused"],
                fix: "Prefer a virtual machine. Otherwise give the container the profile Kubernetes needs (check it with `lxc profile show NAME | logdiag doctor --lxd-profile -`) and fix every check below that fails.",
                details: details)
        case .docker, .podman, .nspawn, .other:
            let what = facts.container.description
            return CheckResult(
                id: id, title: title, status: .warn,
                found: "a \(what) container (" + facts.containerEvidence.joined(separator: ", ") + ")",
                why: "Kubernetes inside a \(what) container (kind, k3d, a nested node) shares the host's kernel: conntrack sizes, modules and /dev/kmsg come from the host, and the container must be privileged with rshared mounts.",
                logLine: DoctorLogLine.hashsize, rules: ["kube-proxy.conntrack-hashsize-write-failed", "kube-proxy.conntrack-max-permission"],
                fix: "Run the node container privileged (--privileged, --cgroupns=private on cgroup v2) with --device /dev/kmsg (or the host's /dev mounted), /lib/modules read-only and set conntrack.maxPerCore: 0 for kube-proxy; then fix every check below that fails.",
                details: details)
        }
    }

    // MARK: kernel modules

    struct ModuleSpec {
        let name: String
        let config: String
        /// A file that exists only when the module is in the kernel (loaded or built in).
        let evidence: String?
        let rule: String
        let logLine: String
    }

    static let baseModules = [
        ModuleSpec(name: "ip_tables", config: "CONFIG_IP_NF_IPTABLES", evidence: "/proc/net/ip_tables_names", rule: "kube-proxy.iptables-restore-failed", logLine: DoctorLogLine.iptables),
        ModuleSpec(name: "ip6_tables", config: "CONFIG_IP6_NF_IPTABLES", evidence: "/proc/net/ip6_tables_names", rule: "kube-proxy.iptables-restore-failed", logLine: DoctorLogLine.iptables),
        ModuleSpec(name: "nf_nat", config: "CONFIG_NF_NAT", evidence: nil, rule: "kube-proxy.iptables-restore-failed", logLine: DoctorLogLine.iptables),
        ModuleSpec(name: "overlay", config: "CONFIG_OVERLAY_FS", evidence: nil, rule: "node.overlay-module-missing", logLine: DoctorLogLine.overlay),
        ModuleSpec(name: "br_netfilter", config: "CONFIG_BRIDGE_NETFILTER", evidence: "/proc/sys/net/bridge/bridge-nf-call-iptables", rule: "networking.br-netfilter-missing", logLine: DoctorLogLine.brNetfilterMissing),
        ModuleSpec(name: "nf_conntrack", config: "CONFIG_NF_CONNTRACK", evidence: "/proc/sys/net/netfilter/nf_conntrack_max", rule: "kube-proxy.nf-conntrack-not-loaded", logLine: DoctorLogLine.conntrackMissing),
    ]

    static let ipvsModules = [
        ModuleSpec(name: "ip_vs", config: "CONFIG_IP_VS", evidence: "/proc/net/ip_vs", rule: "kube-proxy.ipvs-unavailable", logLine: DoctorLogLine.ipvs),
        ModuleSpec(name: "ip_vs_rr", config: "CONFIG_IP_VS_RR", evidence: nil, rule: "kube-proxy.ipvs-unavailable", logLine: DoctorLogLine.ipvs),
        ModuleSpec(name: "ip_vs_wrr", config: "CONFIG_IP_VS_WRR", evidence: nil, rule: "kube-proxy.ipvs-unavailable", logLine: DoctorLogLine.ipvs),
        ModuleSpec(name: "ip_vs_sh", config: "CONFIG_IP_VS_SH", evidence: nil, rule: "kube-proxy.ipvs-unavailable", logLine: DoctorLogLine.ipvs),
    ]

    /// The modules this cluster needs, in the order `linux.kernel_modules` lists them.
    public static func requiredModules(_ mode: ProxyMode) -> [String] {
        (baseModules + (mode == .ipvs ? ipvsModules : [])).map(\.name)
    }

    /// `CONFIG_X=y|m` from /proc/config.gz or /boot/config-RELEASE; nil when neither is there.
    func kernelConfig() -> [String: String]? {
        var text = source.readGzip("/proc/config.gz").text
        if text == nil, let r = facts.kernelRelease { text = source.read("/boot/config-\(r)").text }
        guard let text else { return nil }
        var map: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("CONFIG_") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            map[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return map
    }

    func kernelModules() -> CheckResult {
        let id = "kernel-modules", title = "Kernel modules"
        if treeLacks("/proc") { return skipped(id, title, "/proc is not in this tree") }
        let specs = NodeDoctor.baseModules + (options.proxyMode == .ipvs ? NodeDoctor.ipvsModules : [])
        let modulesProbe = source.read("/proc/modules")
        var loaded: Set<String>?
        var moduleSupport: Bool? = true
        switch modulesProbe {
        case .text(let t):
            loaded = Set(t.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        case .missing:
            moduleSupport = source.kind == .bundle ? nil : false
        case .notCaptured:
            moduleSupport = nil
        case .unreadable:
            moduleSupport = nil
        }
        var builtin: Set<String> = []
        if let r = facts.kernelRelease, let t = source.read("/lib/modules/\(r)/modules.builtin").text {
            for line in t.split(separator: "\n") {
                var name = line.split(separator: "/").last.map(String.init) ?? ""
                if name.hasSuffix(".ko") { name.removeLast(3) }
                builtin.insert(name.replacingOccurrences(of: "-", with: "_"))
            }
        }
        var config: [String: String]??  = .none
        func cfg() -> [String: String]? {
            if case .none = config { config = .some(kernelConfig()) }
            return config ?? nil
        }
        let mounts = source.capture("mount")
        let filesystems = source.read("/proc/filesystems").text

        var missing: [ModuleSpec] = []
        var unsure: [ModuleSpec] = []
        var details: [String] = []
        var states: [String] = []
        for m in specs {
            defer {
                if let last = details.last, last.hasPrefix(m.name + ":") {
                    let state = last.dropFirst(m.name.count + 2)
                    states.append(state.hasPrefix("loaded") ? m.name : state.hasPrefix("built into") ? "\(m.name) (built in)" : "\(m.name) (present)")
                }
            }
            if loaded?.contains(m.name) == true { details.append("\(m.name): loaded"); continue }
            if source.fileKind("/sys/module/\(m.name)") == .directory {
                details.append("\(m.name): built into the kernel (/sys/module/\(m.name))"); continue
            }
            if builtin.contains(m.name) { details.append("\(m.name): built into the kernel (modules.builtin)"); continue }
            if let ev = m.evidence, source.fileKind(ev).exists == true {
                details.append(moduleSupport == false ? "\(m.name): built into the kernel (\(ev) exists, and this kernel has no loadable modules)" : "\(m.name): present (\(ev) exists)"); continue
            }
            if m.name == "overlay", let filesystems, filesystems.split(separator: "\n").contains(where: { $0.hasSuffix("\toverlay") || $0 == "nodev\toverlay" }) {
                details.append("overlay: present (/proc/filesystems lists overlay)"); continue
            }
            if m.name == "overlay", let mounts, mounts.contains(" type overlay ") {
                details.append("overlay: present (an overlay file system is mounted)"); continue
            }
            if let c = cfg()?[m.config] {
                if c == "y" { details.append("\(m.name): built into the kernel (\(m.config)=y)"); continue }
                if c == "m" {
                    details.append("\(m.name): a module of this kernel (\(m.config)=m) that is not loaded")
                    missing.append(m); continue
                }
            } else if cfg() != nil {
                details.append("\(m.name): not in this kernel (\(m.config) is not set)")
                missing.append(m); continue
            }
            if moduleSupport == nil {
                details.append("\(m.name): not listed " + (source.kind == .bundle ? "by lsmod (a built-in module would not be listed)" : "(/proc/modules is not readable)"))
                unsure.append(m)
            } else if moduleSupport == false {
                details.append("\(m.name): no sign of it (the kernel has no loadable modules: /proc/modules is missing, and it is not in /sys/module)")
                missing.append(m)
            } else if source.kind == .bundle {
                details.append("\(m.name): not listed by lsmod (a built-in module would not be listed)")
                unsure.append(m)
            } else {
                details.append("\(m.name): not loaded (not in /proc/modules, not built in)")
                missing.append(m)
            }
        }
        if case .unreadable(let r) = modulesProbe { details.append("/proc/modules: \(r)") }
        let required = specs.map(\.name).joined(separator: ", ")
        let bad = missing + unsure
        if bad.isEmpty {
            return CheckResult(id: id, title: title, status: .pass, found: "all present: " + states.joined(separator: ", "), details: details)
        }
        if modulesProbe == .notCaptured && source.kind == .bundle && builtin.isEmpty && missing.isEmpty && unsure.count == specs.count {
            return skipped(id, title, notCapturedReason("lsmod"))
        }
        let names = bad.map(\.name)
        let all = specs.map(\.name)
        let rules = bad.reduce(into: [String]()) { if !$0.contains($1.rule) { $0.append($1.rule) } }
        var fix = "Load them on the host that owns the kernel and keep them loaded: modprobe -a \(names.joined(separator: " ")); printf '%s\\n' \(all.joined(separator: " ")) > /etc/modules-load.d/k8s.conf."
        var commands = ["modprobe -a \(names.joined(separator: " "))"]
        if inLXC {
            fix += " Inside an LXC/LXD container modprobe cannot work: list them in the container's profile (lxc profile set NAME linux.kernel_modules \(all.joined(separator: ","))) and restart the container."
            commands.append("lxc profile set NAME linux.kernel_modules \(all.joined(separator: ","))")
        }
        if missing.contains(where: { m in details.contains { $0.hasPrefix("\(m.name): not in this kernel") } }) {
            fix += " A module this kernel was built without needs another kernel (or, for IPVS, another proxy mode)."
        }
        return CheckResult(
            id: id, title: title, status: missing.isEmpty ? .warn : .fail,
            found: (missing.isEmpty ? "cannot confirm " : "missing: ") + names.joined(separator: ", ") + " (needed: \(required))",
            why: "kube-proxy needs ip_tables, ip6_tables and nf_nat for its rules and nf_conntrack for connection tracking, the container runtime needs overlay, and pod-to-Service traffic over the bridge needs br_netfilter"
                + (options.proxyMode == .ipvs ? "; IPVS mode needs ip_vs, ip_vs_rr, ip_vs_wrr and ip_vs_sh" : "")
                + ". A container cannot load modules itself.",
            logLine: bad.first?.logLine, rules: rules, fix: fix, commands: commands, details: details)
    }

    // MARK: mounts

    func rootPropagation() -> CheckResult {
        let id = "root-propagation", title = "Mount propagation of /"
        let table = MountTable(source)
        guard table.available else { return skipped(id, title, notCapturedReason("/proc/self/mountinfo; `mount` output does not show propagation")) }
        guard let root = table.entries.last(where: { $0.mountPoint == "/" }) else {
            return CheckResult(id: id, title: title, status: .skip, found: "no mount for / in /proc/self/mountinfo")
        }
        let desc = "/ (\(root.fsType) \(root.source))"
        if let g = root.sharedPeerGroup {
            return CheckResult(id: id, title: title, status: .pass, found: "\(desc) is shared (peer group \(g))")
        }
        let kind = root.masterPeerGroup != nil ? "a slave mount (master:\(root.masterPeerGroup ?? "")), not shared" : "private (no shared:N field in /proc/self/mountinfo)"
        return CheckResult(
            id: id, title: title, status: .fail, found: "\(desc) is \(kind)",
            why: "The kubelet (RKE's kubelet container, or any kubelet whose pods use mount propagation) bind-mounts /var/lib/kubelet with rshared propagation; Docker refuses that when the mount holding it is not shared, and the kubelet container never starts. Private mounts are the default inside LXC/LXD containers.",
            logLine: DoctorLogLine.sharedMount, rules: ["node.root-not-shared-mount"],
            fix: "mount --make-rshared / now, and keep it across reboots: " + (inLXC
                ? "in the container create /etc/rc.local with `#!/bin/bash`, `mount --make-shared /`, `exit`, chmod 755 /etc/rc.local and systemctl restart rc-local (or a oneshot systemd unit)."
                : "a oneshot systemd unit running mount --make-rshared /; on hosts whose docker.service sets MountFlags=slave, remove that line and restart Docker."),
            commands: ["mount --make-rshared /"])
    }

    // MARK: /dev/kmsg

    func devKmsg() -> CheckResult {
        let id = "dev-kmsg", title = "/dev/kmsg"
        let why = "The kubelet opens /dev/kmsg to watch for OOM kills and refuses to start without it; LXC/LXD containers and Docker-in-Docker nodes have none unless it is passed in."
        let fix = inLXC
            ? "Pass the host's device in: lxc config device add NAME kmsg unix-char source=/dev/kmsg path=/dev/kmsg (or in the profile: lxc profile device add NAME kmsg unix-char source=/dev/kmsg path=/dev/kmsg). If the container may not read the host's log, a link makes the kubelet start without OOM events: echo 'L /dev/kmsg - - - - /dev/null' > /etc/tmpfiles.d/kmsg.conf and reboot the container."
            : "Give the node a /dev/kmsg: for a node container run it with --device /dev/kmsg (privileged); on a host with kernel.dmesg_restrict=1 run the kubelet as root. As a last resort inside a container: echo 'L /dev/kmsg - - - - /dev/null' > /etc/tmpfiles.d/kmsg.conf (the kubelet starts, OOM events are lost)."
        switch source.fileKind("/dev/kmsg") {
        case .notCaptured:
            return skipped(id, title, notCapturedReason("/dev"))
        case .missing:
            if source.kind == .tree, source.fileKind("/dev") == .missing {
                return skipped(id, title, "/dev is not in this tree")
            }
            return CheckResult(id: id, title: title, status: .fail, found: "/dev/kmsg does not exist", why: why,
                               logLine: DoctorLogLine.kmsgMissing, rules: ["node.dev-kmsg-missing"], fix: fix)
        case .symlink(let target):
            if target == "/dev/null" || target == "/dev/console" || target.hasSuffix("/null") || target.hasSuffix("/console") {
                return CheckResult(id: id, title: title, status: .warn,
                                   found: "/dev/kmsg is a link to \(target): the kubelet starts, but it sees no kernel messages, so OOM kills are not reported",
                                   why: "With the link the kubelet starts (the seed's tmpfiles.d workaround); cAdvisor then reads nothing and disables OOM events.",
                                   logLine: "W0502 04:48:23.711061    3377 manager.go:340] Could not configure a source for OOM detection, disabling OOM events: open /dev/kmsg: no such file or directory",
                                   rules: ["kubelet.cadvisor-oom-source-missing"],
                                   fix: "For OOM events pass the real device instead: " + (inLXC ? "lxc config device add NAME kmsg unix-char source=/dev/kmsg path=/dev/kmsg." : "run the node with --device /dev/kmsg."))
            }
            fallthrough
        default:
            switch source.openable("/dev/kmsg") {
            case .failure(let e)?:
                return CheckResult(id: id, title: title, status: .fail,
                                   found: "/dev/kmsg exists but cannot be opened for reading: \(e.message.lowercased()) (the devices cgroup, a container profile or kernel.dmesg_restrict)",
                                   why: why, logLine: DoctorLogLine.kmsgDenied, rules: ["node.dev-kmsg-missing"], fix: fix)
            case .success?:
                return CheckResult(id: id, title: title, status: .pass,
                                   found: source.kind == .live && geteuid() == 0 ? "/dev/kmsg exists and can be opened for reading" : "/dev/kmsg exists and its mode allows reading")
            case nil:
                return CheckResult(id: id, title: title, status: .pass, found: "/dev/kmsg exists")
            }
        }
    }

    // MARK: conntrack

    /// Whether the node may write a global conntrack setting: permissions first, then the namespace.
    func globalWritability(_ path: String, what: String) -> Writability {
        let perm = source.writability(path)
        if case .notWritable = perm { return perm }
        switch facts.netns {
        case .nonInitial:
            return .notWritable("this is not the initial network namespace (\(facts.netnsReason)); only the initial one may change \(what) (Linux 4.10 and later, read-only from 5.12)")
        case .initial:
            return perm
        case .unknown:
            if case .writable(let r) = perm {
                return .unknown("\(r), but the kernel refuses it outside the initial network namespace, and that cannot be told here (\(facts.netnsReason))")
            }
            return perm
        }
    }

    func wantedMax() -> (value: Int, text: String)? {
        guard let n = facts.cpus else { return nil }
        let scaled = 32768 * n
        let v = max(scaled, 131072)
        return (v, "\(v) (32768 × \(n) CPU\(n == 1 ? "" : "s") = \(scaled), at least 131072)")
    }

    func conntrackMax() -> CheckResult {
        let id = "conntrack-max", title = "net.netfilter.nf_conntrack_max and kube-proxy"
        let path = "/proc/sys/net/netfilter/nf_conntrack_max"
        let current: Int
        switch source.read(path) {
        case .notCaptured:
            return skipped(id, title, notCapturedReason("sysctl -a"))
        case .missing where treeLacks("/proc/sys/net"):
            return skipped(id, title, "/proc/sys/net is not in this tree")
        case .missing:
            return CheckResult(id: id, title: title, status: .fail,
                               found: "\(path) does not exist: nf_conntrack is not loaded, or this network namespace does not see it",
                               why: "kube-proxy reads and sets the conntrack sysctls at start-up and exits when they do not exist.",
                               logLine: DoctorLogLine.conntrackMissing, rules: ["kube-proxy.nf-conntrack-not-loaded"],
                               fix: "Load nf_conntrack on the host (modprobe nf_conntrack, persisted in /etc/modules-load.d/k8s.conf)" + (inLXC ? " or list it in the container's linux.kernel_modules" : "") + "; if the node still cannot see it, " + maxPerCoreZero + ".",
                               commands: ["modprobe nf_conntrack"])
        case .unreadable(let r):
            return CheckResult(id: id, title: title, status: .warn, found: "\(path) cannot be read: \(r.lowercased())",
                               why: "kube-proxy reads the value first; when it cannot, it tries to write it.",
                               logLine: DoctorLogLine.conntrackMax, rules: ["kube-proxy.conntrack-max-permission"], fix: maxPerCoreZero.prefix(1).uppercased() + maxPerCoreZero.dropFirst() + ".")
        case .text(let t):
            guard let v = Int(t.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                return CheckResult(id: id, title: title, status: .skip, found: "\(path) holds \"\(t.prefix(40))\", not a number")
            }
            current = v
        }
        guard let wanted = wantedMax() else {
            return CheckResult(id: id, title: title, status: .skip, found: "nf_conntrack_max is \(current); the CPU count is unknown (no /sys/devices/system/cpu/online or /proc/cpuinfo), so kube-proxy's value cannot be computed")
        }
        let w = globalWritability(path, what: "nf_conntrack_max")
        var details: [String] = ["CPUs: \(facts.cpus ?? 0) from \(facts.cpuSource)"]
        if let note = facts.cpuNote { details.append(note) }
        let writeText: String
        switch w {
        case .writable(let r): writeText = "it is writable here: \(r)" + (facts.netns == .initial ? ", and this is the initial network namespace (\(facts.netnsReason))" : "")
        case .notWritable(let r): writeText = "this namespace may not write it: \(r)"
        case .unknown(let r): writeText = "whether it may be written is unknown: \(r)"
        }
        var outcomes: [(band: KubeProxyBand, status: CheckStatus)] = []
        for band in KubeProxyBand.allCases {
            let writes = band.writes(current: current, wanted: wanted.value)
            let status: CheckStatus
            let text: String
            if !writes {
                status = .pass
                text = current == wanted.value ? "leaves it alone (it already has the wanted value)" : "leaves it alone (\(current) is already higher)"
            } else {
                switch w {
                case .writable:
                    status = .pass
                    text = "sets it to \(wanted.value)"
                case .notWritable:
                    status = .fail
                    text = "tries to set it to \(wanted.value) and exits: permission denied"
                case .unknown:
                    status = .warn
                    text = "tries to set it to \(wanted.value); the write may be refused"
                }
            }
            outcomes.append((band, status))
            details.append("kube-proxy \(band.rawValue): \(text)")
        }
        if facts.netns != .initial, current != wanted.value {
            details.append("kube-proxy 1.36 and 1.37 compute a capped value (kubernetes#141943), so the value they want may differ from \(wanted.value)")
        }
        let relevant = options.kubeProxyVersion.map { v in outcomes.filter { $0.band == KubeProxyBand(v) } } ?? outcomes
        let failing = relevant.filter { $0.status == .fail }.map(\.band)
        let warning = relevant.filter { $0.status == .warn }.map(\.band)
        let status: CheckStatus = failing.isEmpty ? (warning.isEmpty ? .pass : .warn) : (failing.count == relevant.count ? .fail : .warn)
        let found = "nf_conntrack_max is \(current); kube-proxy wants \(wanted.text); \(writeText)."
        if status == .pass {
            return CheckResult(id: id, title: title, status: .pass, found: found, details: details)
        }
        let bad = failing + warning
        let verdict = options.kubeProxyVersion.map { "kube-proxy \($0) (\(KubeProxyBand($0).rawValue))" }
            ?? "kube-proxy " + bad.map(\.rawValue).joined(separator: " and ")
        var fix: String
        var commands: [String] = []
        if current < wanted.value {
            fix = "Raise it on the host to what kube-proxy wants: sysctl -w net.netfilter.nf_conntrack_max=\(wanted.value), persisted in /etc/sysctl.d/ (then kube-proxy before 1.23 and 1.29 to 1.37 still write it unless it is exactly \(wanted.value); 1.23 to 1.28 and 1.38+ leave it), or \(maxPerCoreZero) so no release touches it."
            commands.append("sysctl -w net.netfilter.nf_conntrack_max=\(wanted.value)")
        } else {
            fix = "Stop kube-proxy from writing it: \(maxPerCoreZero). Or use kube-proxy 1.23 to 1.28 or 1.38 and later, which skip the write when the host value is already higher. Setting the host's value to exactly \(wanted.value) also stops every release from writing it, but lowers it for the whole host."
        }
        if facts.cpuNote != nil { fix += " The value depends on the CPUs kube-proxy sees." }
        return CheckResult(
            id: id, title: title, status: status, found: found,
            why: failing.isEmpty
                ? "\(verdict) will try to write nf_conntrack_max at start-up and the kernel may refuse; then kube-proxy exits and never answers its healthz port 10256, so Rancher/RKE waits on it."
                : "\(verdict) will write nf_conntrack_max at start-up, the kernel refuses, and kube-proxy exits; it never answers its healthz port 10256, so Rancher/RKE waits on it.",
            logLine: DoctorLogLine.conntrackMax, rules: ["kube-proxy.conntrack-max-permission", "rke.kube-proxy-healthz-refused"],
            fix: fix, commands: commands, details: details)
    }

    func conntrackHashsize() -> CheckResult {
        let id = "conntrack-hashsize", title = "nf_conntrack hashsize and kube-proxy"
        let path = "/sys/module/nf_conntrack/parameters/hashsize"
        var probe = source.read(path)
        var shown = path
        if probe.text == nil, let b = source.read("/proc/sys/net/netfilter/nf_conntrack_buckets").text {
            probe = .text(b)
            shown = "net.netfilter.nf_conntrack_buckets"
        }
        let current: Int
        switch probe {
        case .notCaptured:
            return skipped(id, title, notCapturedReason("the nf_conntrack hashsize"))
        case .missing:
            if treeLacks("/proc/sys/net") { return skipped(id, title, "/proc/sys/net is not in this tree") }
            if source.read("/proc/sys/net/netfilter/nf_conntrack_max") == .missing {
                return CheckResult(id: id, title: title, status: .fail, found: "nf_conntrack is not loaded: \(path) does not exist",
                                   why: "kube-proxy sizes the conntrack table at start-up and exits when nf_conntrack is missing.",
                                   logLine: DoctorLogLine.conntrackMissing, rules: ["kube-proxy.nf-conntrack-not-loaded"],
                                   fix: "Load nf_conntrack on the host: modprobe nf_conntrack, persisted in /etc/modules-load.d/k8s.conf.",
                                   commands: ["modprobe nf_conntrack"])
            }
            return skipped(id, title, "\(path) is not visible here")
        case .unreadable(let r):
            return CheckResult(id: id, title: title, status: .skip, found: "\(path) cannot be read: \(r.lowercased())")
        case .text(let t):
            guard let v = Int(t.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                return CheckResult(id: id, title: title, status: .skip, found: "\(shown) holds \"\(t.prefix(40))\", not a number")
            }
            current = v
        }
        guard let wanted = wantedMax() else {
            return CheckResult(id: id, title: title, status: .skip, found: "hashsize is \(current); the CPU count is unknown, so kube-proxy's value cannot be computed")
        }
        let want = wanted.value / 4
        if current >= want {
            return CheckResult(id: id, title: title, status: .pass,
                               found: "hashsize is \(current), at least nf_conntrack_max/4 = \(want): every kube-proxy release leaves it alone")
        }
        let base = "hashsize is \(current), below what kube-proxy wants (\(wanted.value)/4 = \(want)), so every release tries to raise it"
        if let m = MountTable(source).mount(containing: path), m.readOnly {
            return CheckResult(id: id, title: title, status: .warn, found: base + "; /sys is read-only here",
                               why: "kube-proxy sees the read-only /sys, records a warning event (\"/sys is read-only: cannot modify conntrack limits\") and carries on with the smaller table, which can fill under load.",
                               rules: ["kube-proxy.conntrack-hashsize-write-failed"],
                               fix: "Size it on the host: echo \(want) > /sys/module/nf_conntrack/parameters/hashsize, persisted with `options nf_conntrack hashsize=\(want)` in /etc/modprobe.d/; or \(maxPerCoreZero).",
                               commands: ["echo \(want) > /sys/module/nf_conntrack/parameters/hashsize"])
        }
        let w = globalWritability(path, what: "the conntrack hash size")
        let status: CheckStatus
        let found: String
        switch w {
        case .writable(let r):
            return CheckResult(id: id, title: title, status: .pass, found: base + ", and it may: \(r)" + (facts.netns == .initial ? ", and this is the initial network namespace" : ""))
        case .notWritable(let r):
            status = .fail
            found = base + "; the write will fail: \(r)"
        case .unknown(let r):
            status = .warn
            found = base + "; the write may fail: \(r)"
        }
        return CheckResult(
            id: id, title: title, status: status, found: found,
            why: "The kernel lets only the initial network namespace resize the conntrack hash table; elsewhere the write fails with \"operation not supported\" and kube-proxy exits. Raising nf_conntrack_max alone does not help.",
            logLine: DoctorLogLine.hashsize, rules: ["kube-proxy.conntrack-hashsize-write-failed", "rke.kube-proxy-healthz-refused"],
            fix: "Size the table on the host so no write is needed: echo \(want) > /sys/module/nf_conntrack/parameters/hashsize, persisted with `options nf_conntrack hashsize=\(want)` in /etc/modprobe.d/; or \(maxPerCoreZero).",
            commands: ["echo \(want) > /sys/module/nf_conntrack/parameters/hashsize"])
    }

    // MARK: swap

    func swap() -> CheckResult {
        let id = "swap", title = "Swap"
        let why = "The kubelet refuses to start while swap is on (failSwapOn: true, the default), is restarted, and never answers its healthz port."
        let fix = "Turn swap off: swapoff -a, comment the swap lines in /etc/fstab and mask swap units (systemctl mask swap.target)" + (inLXC ? "; for an LXD container also set limits.memory.swap false" : "") + ". Or allow it: failSwapOn: false in the KubeletConfiguration (RKE: services.kubelet.extra_args: {fail-swap-on: \"false\"})."
        switch source.read("/proc/swaps") {
        case .text(let t):
            let lines = t.split(separator: "\n").dropFirst().filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            if lines.isEmpty { return CheckResult(id: id, title: title, status: .pass, found: "no active swap (/proc/swaps is empty)") }
            let devs = lines.map { l -> String in
                let f = l.split(whereSeparator: { $0 == " " || $0 == "\t" })
                return f.count >= 3 ? "\(f[0]) (\(f[1]), \(f[2]) KiB)" : String(l)
            }
            return CheckResult(id: id, title: title, status: .fail, found: "swap is on: " + devs.joined(separator: ", "), why: why,
                               logLine: DoctorLogLine.swap, rules: ["kubelet.swap-enabled"], fix: fix, commands: ["swapoff -a"])
        case .unreadable(let r):
            return CheckResult(id: id, title: title, status: .skip, found: "/proc/swaps cannot be read: \(r.lowercased())")
        case .missing, .notCaptured:
            if let free = source.capture("freem"),
               let line = free.split(separator: "\n").first(where: { $0.hasPrefix("Swap:") }),
               let total = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
                if total == 0 { return CheckResult(id: id, title: title, status: .pass, found: "no swap (free -m: Swap total 0)") }
                return CheckResult(id: id, title: title, status: .fail, found: "swap is on: \(total) MB (free -m)", why: why,
                                   logLine: DoctorLogLine.swap, rules: ["kubelet.swap-enabled"], fix: fix, commands: ["swapoff -a"])
            }
            return skipped(id, title, notCapturedReason("/proc/swaps"))
        }
    }

    // MARK: cgroups

    static let v2Required = ["cpu", "cpuset", "memory", "pids"]
    static let v2Wanted = ["hugetlb", "io"]
    static let v1Required = ["cpu", "cpuacct", "cpuset", "memory", "pids"]
    static let v1Wanted = ["hugetlb", "blkio"]
    static let v1Known: Set<String> = ["cpu", "cpuacct", "cpuset", "memory", "pids", "hugetlb", "blkio", "devices", "freezer", "net_cls", "net_prio", "perf_event", "rdma", "misc"]

    func cgroups() -> CheckResult {
        let id = "cgroups", title = "cgroup version and controllers"
        let table = MountTable(source)
        var version: String
        var controllers: [String]
        var where_: String
        if let t = source.read("/sys/fs/cgroup/cgroup.controllers").text {
            version = "v2"
            controllers = t.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            where_ = "/sys/fs/cgroup/cgroup.controllers"
        } else if table.available {
            let v1 = table.entries.filter { $0.fsType == "cgroup" }
            let v2 = table.entries.filter { $0.fsType == "cgroup2" }
            if v1.isEmpty && v2.isEmpty {
                return CheckResult(id: id, title: title, status: .fail, found: "no cgroup file system is mounted",
                                   why: "The kubelet and the container runtime find their cgroup hierarchies in /proc/self/mountinfo and exit without one.",
                                   logLine: DoctorLogLine.cgroupMount, rules: ["node.cgroup-mount-missing"],
                                   fix: "Mount cgroup2 at /sys/fs/cgroup (systemd does this); for LXC/LXD set lxc.mount.auto = proc:rw sys:rw cgroup:rw and restart the container.")
            }
            if v1.isEmpty {
                version = "v2"
                where_ = "the cgroup2 mount"
                let mp = v2.last?.mountPoint ?? "/sys/fs/cgroup"
                controllers = source.read(mp + "/cgroup.controllers").text.map { $0.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init) } ?? []
            } else {
                version = v2.isEmpty ? "v1" : "v1 (hybrid: cgroup2 also at \(v2.last?.mountPoint ?? "?"))"
                where_ = "the cgroup v1 mounts"
                var set: [String] = []
                for e in v1 { for o in e.superOptions where NodeDoctor.v1Known.contains(o) && !set.contains(o) { set.append(o) } }
                controllers = set
            }
        } else if let mount = source.capture("mount") {
            let lines = mount.split(separator: "\n")
            let v1 = lines.filter { $0.contains(" type cgroup ") }
            if v1.isEmpty, lines.contains(where: { $0.contains(" type cgroup2 ") }) {
                return CheckResult(id: id, title: title, status: .pass, found: "cgroup v2 (from `mount`; the bundle does not list the controllers)")
            }
            guard !v1.isEmpty else { return skipped(id, title, "no cgroup mount in the bundle's `mount` output") }
            version = "v1"
            where_ = "`mount`"
            var set: [String] = []
            for l in v1 {
                guard let open = l.lastIndex(of: "("), let close = l.lastIndex(of: ")"), open < close else { continue }
                for o in l[l.index(after: open)..<close].split(separator: ",").map(String.init) where NodeDoctor.v1Known.contains(o) && !set.contains(o) { set.append(o) }
            }
            controllers = set
        } else {
            return skipped(id, title, notCapturedReason("/sys/fs/cgroup and the mount table"))
        }
        let isV2 = version == "v2"
        let required = isV2 ? NodeDoctor.v2Required : NodeDoctor.v1Required
        let wanted = isV2 ? NodeDoctor.v2Wanted : NodeDoctor.v1Wanted
        let missing = required.filter { !controllers.contains($0) }
        let absent = wanted.filter { !controllers.contains($0) }
        let found = "cgroup \(version), controllers from \(where_): \(controllers.isEmpty ? "none" : controllers.joined(separator: " "))"
        var details: [String] = []
        if !absent.isEmpty { details.append("also missing, not required: \(absent.joined(separator: " "))") }
        let fixControllers = inLXC
            ? "Let the container see every controller: no lxc.cgroup.* limits that hide them, security.nesting true, lxc.mount.auto with cgroup:rw; on a cgroup v2 host make sure the host's /sys/fs/cgroup/cgroup.subtree_control delegates them."
            : "Make the controllers available: on cgroup v2 enable them in the parent's cgroup.subtree_control (the kubelet's parent, or the container's cgroup for a node container); on Raspberry Pi add cgroup_enable=cpuset cgroup_enable=memory cgroup_memory=1 to cmdline.txt and reboot."
        if !missing.isEmpty {
            return CheckResult(
                id: id, title: title, status: .fail, found: found + "; missing: " + missing.joined(separator: " "),
                why: "The kubelet's container manager needs \(required.joined(separator: ", ")) to build the kubepods hierarchy and exits without them.",
                logLine: DoctorLogLine.cgroupController(missing.joined(separator: " ")),
                rules: ["node.cgroup-controller-missing", "kubelet.container-manager-failed"],
                fix: fixControllers, details: details)
        }
        if !isV2 {
            return CheckResult(
                id: id, title: title, status: .warn, found: found,
                why: "cgroup v1 is deprecated: since Kubernetes 1.35 the kubelet refuses to start on cgroup v1 unless failCgroupV1: false is set (KEP-5573), and new runtimes drop it.",
                fix: "Boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line, the default on current distributions), or set failCgroupV1: false in the KubeletConfiguration for 1.35 and later.",
                details: details)
        }
        if !absent.isEmpty {
            return CheckResult(id: id, title: title, status: .warn, found: found,
                               why: "The kubelet runs without \(absent.joined(separator: " ")), but hugepage limits and I/O accounting are then unavailable; some kubelet releases refuse to start without hugetlb.",
                               rules: ["node.cgroup-controller-missing"], fix: fixControllers, details: details)
        }
        return CheckResult(id: id, title: title, status: .pass, found: found, details: details)
    }

    // MARK: AppArmor

    func apparmor() -> CheckResult {
        let id = "apparmor", title = "AppArmor confinement of this process"
        if source.kind == .bundle { return skipped(id, title, notCapturedReason("/proc/self/attr")) }
        var label: String?
        var from = "/proc/self/attr/apparmor/current"
        if let v = source.read(from).value, !v.isEmpty { label = v }
        if label == nil {
            from = "/proc/self/attr/current"
            if let v = source.read(from).value, !v.isEmpty { label = v }
        }
        let enabled = source.read("/sys/module/apparmor/parameters/enabled").value
        guard var label else {
            if source.kind == .tree && source.fileKind("/proc/self/attr").exists != true && enabled == nil {
                return skipped(id, title, "/proc/self/attr is not in this tree")
            }
            return CheckResult(id: id, title: title, status: .pass,
                               found: "AppArmor is not active for this process (no label in /proc/self/attr" + (enabled.map { "; /sys/module/apparmor/parameters/enabled is \($0)" } ?? "; no AppArmor module") + ")")
        }
        label = label.replacingOccurrences(of: "\0", with: "")
        if label == "unconfined" {
            return CheckResult(id: id, title: title, status: .pass, found: "unconfined (\(from))")
        }
        let isAppArmor = label.hasSuffix("(enforce)") || label.hasSuffix("(complain)") || label.hasSuffix("(kill)") || label.hasSuffix("(unconfined)")
        guard isAppArmor else {
            return CheckResult(id: id, title: title, status: .pass, found: "not an AppArmor label: \(label) (another security module, e.g. SELinux, labels this process)")
        }
        let profile = label.components(separatedBy: " (").first ?? label
        if label.hasSuffix("(unconfined)") {
            return CheckResult(id: id, title: title, status: .pass, found: "profile \(profile) in unconfined mode (\(from))")
        }
        let complain = label.hasSuffix("(complain)")
        return CheckResult(
            id: id, title: title, status: complain ? .warn : .fail,
            found: "confined by the AppArmor profile \(profile) in \(complain ? "complain" : "enforce") mode (\(from))",
            why: complain ? "In complain mode the profile only logs what it would deny; the nested runtime works but the audit log fills with DENIED lines."
                : "A container profile (LXC's, LXD's, docker-default) denies the mounts, /proc and /sys writes and profile changes that Docker, containerd and runc need inside; the runtime cannot start containers or cannot apply its own AppArmor profile.",
            logLine: complain ? nil : DoctorLogLine.apparmorDenied(profile),
            rules: ["node.apparmor-denied", "node.apparmor-unavailable"],
            fix: inLXC ? "Run the container unconfined: lxc profile set NAME raw.lxc with the line lxc.apparmor.profile=unconfined (see --lxd-profile), together with security.nesting true, and restart it."
                : "Run the node container unconfined (docker run --security-opt apparmor=unconfined, or --privileged), or load a profile that allows what the runtime does.")
    }

    // MARK: sysctls

    func bridgeNfCallIptables() -> CheckResult {
        let id = "bridge-nf-call-iptables", title = "net.bridge.bridge-nf-call-iptables"
        let path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
        let fix = "modprobe br_netfilter on the host (persist it in /etc/modules-load.d/k8s.conf" + (inLXC ? "; for LXD list it in linux.kernel_modules" : "") + ") and set net.bridge.bridge-nf-call-iptables = 1 and net.bridge.bridge-nf-call-ip6tables = 1 in /etc/sysctl.d/k8s.conf (sysctl --system)."
        let why = "Pod-to-pod traffic over the Linux bridge skips iptables without it, so Service addresses are not translated: flannel refuses to start, kubeadm before 1.30 fails its preflight, later ones start and Services and DNS time out."
        switch source.read(path) {
        case .notCaptured: return skipped(id, title, notCapturedReason("sysctl -a"))
        case .missing where treeLacks("/proc/sys/net"):
            return skipped(id, title, "/proc/sys/net is not in this tree")
        case .missing:
            return CheckResult(id: id, title: title, status: .fail, found: "\(path) does not exist: br_netfilter is not loaded (or not visible in this network namespace)",
                               why: why, logLine: DoctorLogLine.brNetfilterMissing, rules: ["networking.br-netfilter-missing"], fix: fix,
                               commands: ["modprobe br_netfilter", "sysctl -w net.bridge.bridge-nf-call-iptables=1"])
        case .unreadable(let r):
            return CheckResult(id: id, title: title, status: .skip, found: "\(path) cannot be read: \(r.lowercased())")
        case .text(let t):
            let v = t.trimmingCharacters(in: .whitespacesAndNewlines)
            if v == "1" { return CheckResult(id: id, title: title, status: .pass, found: "net.bridge.bridge-nf-call-iptables is 1") }
            return CheckResult(id: id, title: title, status: .fail, found: "net.bridge.bridge-nf-call-iptables is \(v)", why: why,
                               logLine: DoctorLogLine.brNetfilterOff, rules: ["networking.br-netfilter-missing"], fix: fix,
                               commands: ["sysctl -w net.bridge.bridge-nf-call-iptables=1"])
        }
    }

    func ipForward() -> CheckResult {
        let id = "ip-forward", title = "net.ipv4.ip_forward"
        let path = "/proc/sys/net/ipv4/ip_forward"
        switch source.read(path) {
        case .notCaptured: return skipped(id, title, notCapturedReason("sysctl -a"))
        case .missing: return CheckResult(id: id, title: title, status: .skip, found: "\(path) does not exist (no IPv4 in this network namespace?)")
        case .unreadable(let r): return CheckResult(id: id, title: title, status: .skip, found: "\(path) cannot be read: \(r.lowercased())")
        case .text(let t):
            let v = t.trimmingCharacters(in: .whitespacesAndNewlines)
            if v == "1" { return CheckResult(id: id, title: title, status: .pass, found: "net.ipv4.ip_forward is 1") }
            return CheckResult(
                id: id, title: title, status: .fail, found: "net.ipv4.ip_forward is \(v)",
                why: "Without forwarding the node drops traffic between pods and to Service addresses: CoreDNS cannot reach the API server through the kubernetes Service and stays NotReady; kubeadm's preflight fails on it.",
                logLine: DoctorLogLine.ipForward, rules: ["networking.coredns-apiserver-unreachable"],
                fix: "sysctl -w net.ipv4.ip_forward=1 and persist net.ipv4.ip_forward = 1 in /etc/sysctl.d/k8s.conf (Docker and most CNIs also set it when they may).",
                commands: ["sysctl -w net.ipv4.ip_forward=1"])
        }
    }

    func inotify() -> CheckResult {
        let id = "inotify", title = "inotify limits"
        let ip = "/proc/sys/fs/inotify/max_user_instances", wp = "/proc/sys/fs/inotify/max_user_watches"
        let ir = source.read(ip), wr = source.read(wp)
        if ir == .notCaptured && wr == .notCaptured { return skipped(id, title, notCapturedReason("sysctl -a")) }
        let instances = ir.value.flatMap { Int($0) }
        let watches = wr.value.flatMap { Int($0) }
        guard instances != nil || watches != nil else {
            return CheckResult(id: id, title: title, status: .skip, found: "\(ip) and \(wp) cannot be read")
        }
        var parts: [String] = []
        if let instances { parts.append("max_user_instances \(instances)") }
        if let watches { parts.append("max_user_watches \(watches)") }
        let found = "fs.inotify " + parts.joined(separator: ", ")
        let low = (instances.map { $0 < 128 } ?? false) || (watches.map { $0 < 8192 } ?? false)
        let small = (instances.map { $0 < 8192 } ?? false) || (watches.map { $0 < 524288 } ?? false)
        if !low && !small { return CheckResult(id: id, title: title, status: .pass, found: found) }
        return CheckResult(
            id: id, title: title, status: low ? .fail : .warn,
            found: found + (low ? ", below the kernel defaults (128 instances, 8192 watches)" : ", below 8192 instances / 524288 watches"),
            why: "The kubelet, containerd, kubectl logs -f and many pods each take inotify instances and watches, limited per user for the whole node (for a container: for the host). When they run out the kubelet cannot start and pods crash-loop.",
            logLine: DoctorLogLine.inotify, rules: ["node.inotify-limit"],
            fix: "Raise them on the " + (facts.container == .none ? "node" : "host") + ": sysctl -w fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288, persisted in /etc/sysctl.d/99-inotify.conf.",
            commands: ["sysctl -w fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288"])
    }
}
