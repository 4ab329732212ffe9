import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What reading one file of the node gave.
public enum FileProbe: Sendable, Equatable {
    case text(String)
    /// The file does not exist (on the node, in the tree, or among the bundle's captured values).
    case missing
    /// It exists but could not be read (the reason, e.g. "Permission denied").
    case unreadable(String)
    /// A bundle does not capture this file at all.
    case notCaptured

    public var text: String? {
        if case .text(let t) = self { return t }
        return nil
    }

    /// The first line, trimmed.
    public var value: String? {
        text.map { String($0.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "").trimmingCharacters(in: .whitespaces) }
    }
}

/// The type of a path, as `lstat` sees it.
public enum FileKind: Sendable, Equatable {
    case missing
    case regular
    case directory
    case charDevice
    case symlink(String)
    case other
    case notCaptured

    public var exists: Bool? {
        switch self {
        case .missing: return false
        case .notCaptured: return nil
        default: return true
        }
    }
}

/// Whether this process (live) or a process on the node (tree) could write a file, judged without writing.
public enum Writability: Sendable, Equatable {
    case writable(String)
    case notWritable(String)
    case unknown(String)
}

/// Where the node's files come from.
public enum NodeSourceKind: String, Sendable {
    /// This machine, through `/`.
    case live
    /// A copied tree (`--root DIR`).
    case tree
    /// A Rancher logs-collector bundle's `systeminfo` and `networking` captures.
    case bundle
}

/// The node's `/proc`, `/sys`, `/dev` and `/etc`, read only. Every path is absolute, as on the node.
public protocol NodeSource: Sendable {
    var label: String { get }
    var kind: NodeSourceKind { get }
    func read(_ path: String) -> FileProbe
    func fileKind(_ path: String) -> FileKind
    /// Directory entries, or nil when it is missing or not captured.
    func list(_ path: String) -> [String]?
    /// Could the node's root write `path`? From permissions and mounts, never by writing.
    func writability(_ path: String) -> Writability
    /// Can the file be opened for reading? nil when that cannot be seen from here.
    func openable(_ path: String) -> Result<Void, DoctorError>?
    /// A raw capture of a bundle (`systeminfo/freem`); nil for trees and the live system.
    func capture(_ name: String) -> String?
    /// A gzip-compressed file, uncompressed (`/proc/config.gz`).
    func readGzip(_ path: String) -> FileProbe
}

/// Files larger than this are cut: nothing doctor reads is that large.
let doctorReadLimit = 16 << 20

private func systemRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.read(fd, buf, count)
    #else
    return Darwin.read(fd, buf, count)
    #endif
}

/// Reads through the real file system under a root: `/` for this machine, or a copied tree.
public struct TreeSource: NodeSource {
    public let root: String
    public var kind: NodeSourceKind { root == "/" ? .live : .tree }
    public var label: String { root == "/" ? "this machine (/)" : "the tree \(root)" }

    /// Decompresses `/proc/config.gz` (LogArchive's reader); nil: that check cannot read it.
    public var packed: (any PackedReading)?

    /// Fails when `root` is not a readable directory.
    public init(root: String, packed: (any PackedReading)? = nil) throws(DoctorError) {
        self.packed = packed
        var r = root.isEmpty ? "/" : root
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        var st = stat()
        guard stat(r, &st) == 0 else {
            throw DoctorError("\(root): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw DoctorError("\(root): not a directory") }
        guard access(r, R_OK | X_OK) == 0 else { throw DoctorError("\(root): \(String(cString: strerror(errno)))") }
        self.root = r
    }

    func full(_ path: String) -> String { root == "/" ? path : root + (path.hasPrefix("/") ? path : "/" + path) }

    public func read(_ path: String) -> FileProbe {
        let fd = open(full(path), O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { return TreeSource.probe(errno: errno) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { return .unreadable("is a directory") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < doctorReadLimit {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if bytes.isEmpty { return .unreadable(String(cString: strerror(errno))) }
                break
            }
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        return .text(String(decoding: bytes, as: UTF8.self))
    }

    static func probe(errno e: Int32) -> FileProbe {
        switch e {
        case ENOENT, ENOTDIR: return .missing
        default: return .unreadable(String(cString: strerror(e)))
        }
    }

    public func fileKind(_ path: String) -> FileKind {
        var st = stat()
        guard lstat(full(path), &st) == 0 else {
            return errno == ENOENT || errno == ENOTDIR ? .missing : .other
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFCHR: return .charDevice
        case S_IFLNK: return .symlink(readLink(path) ?? "")
        default: return .other
        }
    }

    func readLink(_ path: String) -> String? {
        var buf = [Int8](repeating: 0, count: 4096)
        let target = full(path)
        let n = buf.withUnsafeMutableBufferPointer { p -> Int in
            guard let base = p.baseAddress else { return -1 }
            return readlink(target, base, p.count - 1)
        }
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func list(_ path: String) -> [String]? {
        guard let d = opendir(full(path)) else { return nil }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func writability(_ path: String) -> Writability {
        var st = stat()
        guard stat(full(path), &st) == 0 else { return .notWritable("it does not exist") }
        if let m = MountTable(self).mount(containing: path), m.readOnly {
            return .notWritable("\(m.mountPoint) is mounted read-only")
        }
        if st.st_uid == 65534 {
            return .notWritable("it is owned by nobody (65534): the container's root is not the host's root")
        }
        // As root, ask the kernel (it applies /proc/sys's own rules); as another user, judge for
        // root (who runs kube-proxy) from the owner and mode.
        if kind == .live && geteuid() == 0 {
            if access(path, W_OK) != 0 {
                let e = errno
                return .notWritable(e == EROFS ? "read-only file system" : String(cString: strerror(e)).lowercased())
            }
            return .writable("access(W_OK) allows it")
        }
        if st.st_mode & 0o200 == 0 {
            return .notWritable("its mode is \(String(st.st_mode & 0o777, radix: 8)): no one may write it")
        }
        if kind == .live {
            return .writable("mode \(String(st.st_mode & 0o777, radix: 8)), owned by uid \(st.st_uid) (judged for root: doctor runs as uid \(geteuid()))")
        }
        return .writable("mode \(String(st.st_mode & 0o777, radix: 8)), owned by uid \(st.st_uid)")
    }

    public func openable(_ path: String) -> Result<Void, DoctorError>? {
        if kind == .live && geteuid() == 0 {
            let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
            if fd < 0 { return .failure(DoctorError(String(cString: strerror(errno)))) }
            close(fd)
            return .success(())
        }
        var st = stat()
        guard stat(full(path), &st) == 0 else { return .failure(DoctorError(String(cString: strerror(errno)))) }
        return st.st_mode & 0o444 == 0 ? .failure(DoctorError("no read permission (mode \(String(st.st_mode & 0o777, radix: 8)))")) : .success(())
    }

    public func capture(_ name: String) -> String? { nil }

    public func readGzip(_ path: String) -> FileProbe {
        switch fileKind(path) {
        case .missing: return .missing
        case .notCaptured: return .notCaptured
        default: break
        }
        guard let packed else { return .unreadable("this build of logdiag reads no compressed files") }
        var text: String?
        do throws(InputError) {
            let outcome = try packed.read(path: full(path), limits: UnpackLimits(maxBytes: doctorReadLimit), member: { (_, _, source) throws(InputError) in
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: doctorReadLimit, alignment: 1)
                defer { buffer.deallocate() }
                var have = 0
                while have < buffer.count {
                    let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[have...]))
                    if n <= 0 { break }
                    have += n
                }
                text = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[..<have]), as: UTF8.self)
            }, skipped: { _, _ in })
            if let problem = outcome.problem { return .unreadable(problem) }
        } catch {
            return .unreadable(error.reason)
        }
        return text.map { .text($0) } ?? .unreadable("not compressed text")
    }
}

/// One line of `/proc/self/mountinfo`.
public struct MountEntry: Sendable, Equatable {
    public var mountPoint: String
    public var options: [String]
    public var optionalFields: [String]
    public var fsType: String
    public var source: String
    public var superOptions: [String]

    public var readOnly: Bool { options.contains("ro") }
    public var sharedPeerGroup: String? {
        optionalFields.first { $0.hasPrefix("shared:") }.map { String($0.dropFirst(7)) }
    }
    public var masterPeerGroup: String? {
        optionalFields.first { $0.hasPrefix("master:") }.map { String($0.dropFirst(7)) }
    }

    /// Parses one mountinfo line; nil when it is not one.
    public init?(line: Substring) {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count >= 10, let dash = fields.firstIndex(of: "-"), dash >= 6, dash + 2 < fields.count else { return nil }
        mountPoint = MountEntry.unescape(fields[4])
        options = fields[5].split(separator: ",").map(String.init)
        optionalFields = Array(fields[6..<dash])
        fsType = fields[dash + 1]
        source = MountEntry.unescape(fields[dash + 2])
        superOptions = dash + 3 < fields.count ? fields[dash + 3].split(separator: ",").map(String.init) : []
    }

    /// `\040` and friends (octal escapes of space, tab, newline, backslash).
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out: [UInt8] = []
        let b = Array(s.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 3 < b.count,
               let v = UInt8(String(decoding: b[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                out.append(v)
                i += 4
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The node's mount table, from `/proc/self/mountinfo`.
public struct MountTable: Sendable {
    public var entries: [MountEntry]
    public var available: Bool

    public init(_ source: any NodeSource) {
        if let text = source.read("/proc/self/mountinfo").text {
            entries = text.split(separator: "\n").compactMap { MountEntry(line: $0) }
            available = true
        } else {
            entries = []
            available = false
        }
    }

    public init(text: String) {
        entries = text.split(separator: "\n").compactMap { MountEntry(line: $0) }
        available = true
    }

    /// The mount that holds `path`: the longest mount point above it, the last one mounted when stacked.
    public func mount(containing path: String) -> MountEntry? {
        var best: MountEntry?
        for e in entries {
            let mp = e.mountPoint
            let inside = mp == "/" || path == mp || path.hasPrefix(mp.hasSuffix("/") ? mp : mp + "/")
            guard inside else { continue }
            if let b = best, mp.count < b.mountPoint.count { continue }
            best = e
        }
        return best
    }
}
