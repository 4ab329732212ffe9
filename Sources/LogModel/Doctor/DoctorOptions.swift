import Foundation

/// kube-proxy's mode: IPVS needs its own modules.
public enum ProxyMode: String, Sendable, CaseIterable {
    case iptables, ipvs, nftables
}

/// A Kubernetes release, `1.20.8`, `v1.23` or `1.29.0-rc.1`.
public struct KubeVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int?

    public init(_ major: Int, _ minor: Int, _ patch: Int? = nil) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    public init?(_ text: String) {
        var t = Substring(text.trimmingCharacters(in: .whitespaces))
        if t.hasPrefix("v") || t.hasPrefix("V") { t = t.dropFirst() }
        let core = t.split(whereSeparator: { $0 == "-" || $0 == "+" }).first ?? t
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= 3, let ma = Int(parts[0]), let mi = Int(parts[1]), ma >= 0, mi >= 0 else { return nil }
        var p: Int?
        if parts.count == 3 {
            guard let v = Int(parts[2]), v >= 0 else { return nil }
            p = v
        }
        self.init(ma, mi, p)
    }

    public static func < (a: KubeVersion, b: KubeVersion) -> Bool {
        (a.major, a.minor, a.patch ?? 0) < (b.major, b.minor, b.patch ?? 0)
    }

    public var description: String { patch.map { "\(major).\(minor).\($0)" } ?? "\(major).\(minor)" }
}

/// kube-proxy's conntrack behaviour by release, as in the rule kube-proxy.conntrack-max-permission
/// (Sources/LogModel/Rules/Builtin/kube-proxy.yaml):
/// before 1.23 it writes nf_conntrack_max whenever the value differs from the one it wants;
/// 1.23 to 1.28 only when lower (kubernetes#103174); 1.29 to 1.37 whenever it differs again
/// (kubernetes#120448); 1.38 and later only when lower (kubernetes#142035).
public enum KubeProxyBand: String, Sendable, CaseIterable {
    case before1_23 = "before 1.23"
    case from1_23to1_28 = "1.23 to 1.28"
    case from1_29to1_37 = "1.29 to 1.37"
    case since1_38 = "1.38 and later"

    public init(_ v: KubeVersion) {
        if v < KubeVersion(1, 23) { self = .before1_23 }
        else if v < KubeVersion(1, 29) { self = .from1_23to1_28 }
        else if v < KubeVersion(1, 38) { self = .from1_29to1_37 }
        else { self = .since1_38 }
    }

    /// Whether this release rewrites the sysctl also when the current value is higher.
    public var rewritesWhenHigher: Bool { self == .before1_23 || self == .from1_29to1_37 }

    /// Whether kube-proxy of this release writes nf_conntrack_max, given the current and wanted values.
    public func writes(current: Int, wanted: Int) -> Bool {
        rewritesWhenHigher ? current != wanted : current < wanted
    }
}

/// What `logdiag doctor` assumes about the cluster it prepares for.
public struct DoctorOptions: Sendable {
    public var proxyMode: ProxyMode
    /// The kube-proxy release; nil: give the verdict for every release.
    public var kubeProxyVersion: KubeVersion?

    public init(proxyMode: ProxyMode = .iptables, kubeProxyVersion: KubeVersion? = nil) {
        self.proxyMode = proxyMode
        self.kubeProxyVersion = kubeProxyVersion
    }

    public var assumptions: [String] {
        ["kube-proxy mode \(proxyMode.rawValue)",
         "kube-proxy " + (kubeProxyVersion.map { "\($0) (\(KubeProxyBand($0).rawValue))" } ?? "any release (verdicts per release)"),
         "kube-proxy defaults --conntrack-max-per-core=32768 --conntrack-min=131072"]
    }
}
