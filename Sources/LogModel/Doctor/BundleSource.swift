import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Rancher logs-collector bundle (rancherlabs/support-tools, `rancher2_logs_collector.sh`), read
/// through what it captured in `systeminfo/` and `networking/`:
///
/// - `sysctla` (older collectors: `sysctl-a`): `sysctl -a`, so every `/proc/sys` value;
/// - `lsmod`: the loaded modules (built-in ones are not listed);
/// - `cpuinfo`: `/proc/cpuinfo`; `freem`: `free -m` (swap); `mount`: `mount` (no propagation);
/// - `uname` / `uname-a`, `ubuntu-apparmorstatus` / `sles-apparmorstatus`.
///
/// Anything else (mountinfo, `/dev`, `/proc/1`, `/proc/self/attr`) is not captured: those checks skip.
public struct BundleSource: NodeSource {
    /// The collection's directory (the one holding `systeminfo/`).
    public let directory: String
    public let name: String
    let sysctls: [String: String]?
    let hasSysctls: Bool

    public var kind: NodeSourceKind { .bundle }
    public var label: String { "the logs-collector bundle \(name)" }

    /// `directory` is the folder that holds `systeminfo/`.
    public init(directory: String, name: String) {
        self.directory = directory
        self.name = name
        var text: String?
        for f in ["systeminfo/sysctla", "systeminfo/sysctl-a", "systeminfo/sysctl"] {
            if let t = BundleSource.file(directory + "/" + f) { text = t; break }
        }
        if let text {
            var map: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let eq = line.range(of: " = ") ?? line.range(of: "=") else { continue }
                let key = line[..<eq.lowerBound].trimmingCharacters(in: .whitespaces)
                let value = line[eq.upperBound...].trimmingCharacters(in: .whitespaces)
                if !key.isEmpty, !key.contains(" ") { map[key] = value }
            }
            sysctls = map
            hasSysctls = true
        } else {
            sysctls = nil
            hasSysctls = false
        }
    }

    static func file(_ path: String) -> String? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: d.prefix(doctorReadLimit), as: UTF8.self)
    }

    func sysctlKey(_ path: String) -> String? {
        guard path.hasPrefix("/proc/sys/") else { return nil }
        return path.dropFirst("/proc/sys/".count).replacingOccurrences(of: "/", with: ".")
    }

    public func capture(_ name: String) -> String? {
        if name.contains("/") { return BundleSource.file(directory + "/" + name) }
        return BundleSource.file(directory + "/systeminfo/" + name) ?? BundleSource.file(directory + "/networking/" + name)
    }

    public func read(_ path: String) -> FileProbe {
        if let key = sysctlKey(path) {
            guard let sysctls else { return .notCaptured }
            return sysctls[key].map { .text($0 + "\n") } ?? .missing
        }
        switch path {
        case "/proc/modules":
            // lsmod: a header, then "name size used-by": the first column is what /proc/modules has too.
            guard let t = capture("lsmod") else { return .notCaptured }
            return .text(t.split(separator: "\n").filter { !$0.hasPrefix("Module ") }.joined(separator: "\n") + "\n")
        case "/proc/cpuinfo":
            return capture("cpuinfo").map { .text($0) } ?? .notCaptured
        case "/sys/module/nf_conntrack/parameters/hashsize":
            // net.netfilter.nf_conntrack_buckets is the same number.
            guard let sysctls else { return .notCaptured }
            return sysctls["net.netfilter.nf_conntrack_buckets"].map { .text($0 + "\n") } ?? .notCaptured
        default:
            return .notCaptured
        }
    }

    public func fileKind(_ path: String) -> FileKind {
        if let key = sysctlKey(path), let sysctls {
            if sysctls[key] != nil { return .regular }
            return sysctls.keys.contains { $0.hasPrefix(key + ".") } ? .directory : .missing
        }
        return .notCaptured
    }

    public func list(_ path: String) -> [String]? { nil }

    public func writability(_ path: String) -> Writability {
        .unknown("a logs-collector bundle does not record who may write \(path)")
    }

    public func openable(_ path: String) -> Result<Void, DoctorError>? { nil }

    public func readGzip(_ path: String) -> FileProbe { .notCaptured }
}

/// Unpacks a logs-collector `.tar.gz` into a temporary directory (only `systeminfo/` and
/// `networking/` when tar allows it) and finds the collection's folder in it.
public final class BundleUnpacker: Sendable {
    /// The temporary directory (removed by `cleanUp()`), nil when the bundle was a directory.
    public let temporary: String?
    public let source: BundleSource

    public init(path: String) throws(DoctorError) {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DoctorError("\(path): No such file or directory")
        }
        let shown = (path as NSString).lastPathComponent
        if isDir.boolValue {
            guard let dir = BundleUnpacker.collectionDirectory(in: path) else {
                throw DoctorError("\(path): no systeminfo/ folder: not a logs-collector bundle")
            }
            temporary = nil
            source = BundleSource(directory: dir, name: shown)
            return
        }
        guard access(path, R_OK) == 0 else { throw DoctorError("\(path): \(String(cString: strerror(errno)))") }
        let dir = NSTemporaryDirectory() + "logdiag-doctor-\(getpid())-\(UUID().uuidString.prefix(8))"
        do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw DoctorError("cannot make a folder to unpack into: \(error.localizedDescription)")
        }
        let tar = access("/usr/bin/tar", X_OK) == 0 ? "/usr/bin/tar" : "/bin/tar"
        // Only the captures doctor reads: logs can be gigabytes.
        var (status, err) = Subprocess.run(tar, ["-xf", path, "-C", dir, "--no-same-owner",
                                                 "--wildcards", "--wildcards-match-slash",
                                                 "*systeminfo/*", "*networking/*"])
        if status != 0 || BundleUnpacker.collectionDirectory(in: dir) == nil {
            // bsdtar, or an unusual layout: unpack everything.
            (status, err) = Subprocess.run(tar, ["-xf", path, "-C", dir, "--no-same-owner"])
        }
        guard status == 0 else {
            try? fm.removeItem(atPath: dir)
            throw DoctorError("\(path): cannot unpack: \(err.isEmpty ? "tar exited with status \(status)" : err)")
        }
        guard let found = BundleUnpacker.collectionDirectory(in: dir) else {
            try? fm.removeItem(atPath: dir)
            throw DoctorError("\(path): no systeminfo/ folder inside: not a logs-collector bundle")
        }
        temporary = dir
        source = BundleSource(directory: found, name: shown)
    }

    /// The folder holding `systeminfo/` or `networking/`: the top, or up to three levels down.
    static func collectionDirectory(in top: String) -> String? {
        let fm = FileManager.default
        var queue: [(String, Int)] = [(top, 0)]
        while !queue.isEmpty {
            let (dir, depth) = queue.removeFirst()
            var isDir: ObjCBool = false
            for marker in ["systeminfo", "networking"] {
                if fm.fileExists(atPath: dir + "/" + marker, isDirectory: &isDir), isDir.boolValue { return dir }
            }
            guard depth < 3, let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for n in names.sorted() {
                let sub = dir + "/" + n
                if fm.fileExists(atPath: sub, isDirectory: &isDir), isDir.boolValue { queue.append((sub, depth + 1)) }
            }
        }
        return nil
    }

    public func cleanUp() {
        if let temporary { try? FileManager.default.removeItem(atPath: temporary) }
    }
}
