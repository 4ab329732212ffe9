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
    public let name: String
    /// The captures, by their path below the collection's folder (`systeminfo/sysctla`).
    let files: [String: String]
    let sysctls: [String: String]?
    let hasSysctls: Bool

    public var kind: NodeSourceKind { .bundle }
    public var label: String { "the logs-collector bundle \(name)" }

    /// `files`: the captures by their path below the collection's folder.
    public init(files: [String: String], name: String) {
        self.files = files
        self.name = name
        let text = ["systeminfo/sysctla", "systeminfo/sysctl-a", "systeminfo/sysctl"].lazy.compactMap { files[$0] }.first
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

    /// The two folders doctor reads: small captures, never the logs beside them.
    static let captureFolders = ["systeminfo", "networking"]

    /// The captures of an unpacked bundle: regular files in `directory`'s capture folders, each
    /// read up to the doctor's limit without waiting on a FIFO.
    public init(directory: String, name: String) {
        var files: [String: String] = [:]
        for folder in BundleSource.captureFolders {
            let dir = directory + "/" + folder
            for entry in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
                guard let source = try? FileDescriptorSource.open(path: dir + "/" + entry) else { continue }
                defer { close(source.fd) }
                var bytes = [UInt8](repeating: 0, count: doctorReadLimit)
                var have = 0
                while have < bytes.count {
                    let n = bytes.withUnsafeMutableBytes { Glibc.read(source.fd, $0.baseAddress! + have, $0.count - have) }
                    if n <= 0 { break }
                    have += n
                }
                files[folder + "/" + entry] = String(decoding: bytes[..<have], as: UTF8.self)
            }
        }
        self.init(files: files, name: name)
    }

    /// Where a member of a bundle sits: `node1-2024/systeminfo/sysctla` is the capture
    /// `systeminfo/sysctla` of the collection `node1-2024`. Nil for anything else (logs, deeper files).
    public static func capturePath(of member: String) -> (collection: String, capture: String)? {
        let parts = member.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 2, parts.count <= 5 else { return nil }
        let folder = parts[parts.count - 2]
        guard captureFolders.contains(String(folder)) else { return nil }
        return (parts.dropLast(2).joined(separator: "/"), "\(folder)/\(parts[parts.count - 1])")
    }

    func sysctlKey(_ path: String) -> String? {
        guard path.hasPrefix("/proc/sys/") else { return nil }
        return path.dropFirst("/proc/sys/".count).replacingOccurrences(of: "/", with: ".")
    }

    public func capture(_ name: String) -> String? {
        if name.contains("/") { return files[name] }
        return files["systeminfo/" + name] ?? files["networking/" + name]
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

/// Finds a logs-collector bundle's captures: in an unpacked folder, or read from the archive in
/// one pass (nothing is unpacked to disk; only `systeminfo/` and `networking/` members are kept).
public enum BundleCaptures {
    public static func load(path: String, packed: (any PackedReading)?) throws(DoctorError) -> BundleSource {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DoctorError("\(path): No such file or directory")
        }
        let shown = (path as NSString).lastPathComponent
        if isDir.boolValue {
            guard let dir = collectionDirectory(in: path) else {
                throw DoctorError("\(path): no systeminfo/ folder: not a logs-collector bundle")
            }
            return BundleSource(directory: dir, name: shown)
        }
        guard let packed else { throw DoctorError("\(path): this build of logdiag reads no archives") }
        var collection: String?
        var files: [String: String] = [:]
        let outcome: UnpackOutcome
        do throws(InputError) {
            outcome = try packed.read(path: path, limits: UnpackLimits(), member: { (name, _, source) throws(InputError) in
                guard let (dir, capture) = BundleSource.capturePath(of: name) else { return }
                // The first collection found is the bundle's; a second one is not mixed in.
                if collection == nil { collection = dir }
                guard collection == dir else { return }
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: doctorReadLimit, alignment: 1)
                defer { buffer.deallocate() }
                var have = 0
                while have < buffer.count {
                    let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[have...]))
                    if n <= 0 { break }
                    have += n
                }
                files[capture] = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[..<have]), as: UTF8.self)
            }, skipped: { _, _ in })
        } catch {
            throw DoctorError("\(path): cannot read it as a bundle: \(error.reason.replacingOccurrences(of: path + ": ", with: ""))")
        }
        guard outcome.isArchive, collection != nil else {
            let why = outcome.problem.map { "; \($0)" } ?? ""
            throw DoctorError("\(path): no systeminfo/ folder inside: not a logs-collector bundle\(why)")
        }
        return BundleSource(files: files, name: shown)
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
}
