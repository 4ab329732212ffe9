import CArchive
import Glibc
import LogModel

/// Reads .tar, .tar.gz/.tgz, .tar.xz, .tar.zst, .tar.bz2, .zip and bare .gz/.xz/.zst/.bz2 files with
/// libarchive, in one streaming pass: nothing is written to disk, nothing is run, only regular
/// members are read, links resolve only to members of the same archive, and every byte
/// decompressed counts against the input's budget.
public struct LibArchiveReader: PackedReading {
    public init() {}

    public func read(path: String, limits: UnpackLimits,
                     member: (_ name: String, _ mtime: time_t?, _ source: inout PullSource) throws(InputError) -> Void,
                     skipped: (_ name: String, _ reason: String) -> Void) throws(InputError) -> UnpackOutcome {
        let file = try FileDescriptorSource.open(path: path)
        defer { close(file.fd) }
        let pass = try ArchivePass(fd: file.fd, path: path, limits: limits)
        return try pass.run(member: member, skipped: skipped)
    }
}

/// The state of one pass over one archive.
final class ArchivePass {
    let archive: OpaquePointer
    let path: String
    let limits: UnpackLimits
    /// Bytes decompressed so far at every level (members read or drained, nested streams).
    var spent = 0
    var stopped: String?
    var problem: String?
    private var chunk = [UInt8](repeating: 0, count: 64 << 10)

    init(fd: Int32, path: String, limits: UnpackLimits) throws(InputError) {
        guard let a = archive_read_new() else { throw InputError("\(path): out of memory") }
        archive = a
        self.path = path
        self.limits = limits
        // Only the formats bundles come in: every extra format is more parser exposed to strangers.
        ArchivePass.supportFilters(a)
        archive_read_support_format_tar(a)
        archive_read_support_format_zip(a)
        archive_read_support_format_raw(a)
        archive_read_support_format_empty(a)
        guard archive_read_open_fd(a, fd, 64 << 10) == ARCHIVE_OK else {
            // deinit frees the reader.
            throw InputError("\(path): \(ArchivePass.errorString(a))")
        }
    }

    deinit { archive_read_free(archive) }

    /// gzip, bzip2, xz/lzma and zstd, each only when libarchive has the library for it.
    /// Never `archive_read_support_filter_all`: for a format whose library it lacks (lrzip, lzop,
    /// grzip ...) libarchive runs an external program on the data, and nothing from a bundle runs.
    static func supportFilters(_ a: OpaquePointer) {
        if archive_zlib_version() != nil { archive_read_support_filter_gzip(a) }
        if archive_bzlib_version() != nil { archive_read_support_filter_bzip2(a) }
        if archive_liblzma_version() != nil {
            archive_read_support_filter_xz(a)
            archive_read_support_filter_lzma(a)
        }
        if archive_libzstd_version() != nil { archive_read_support_filter_zstd(a) }
    }

    static func errorString(_ a: OpaquePointer) -> String {
        archive_error_string(a).map { String(cString: $0) } ?? "unreadable archive"
    }

    private var budgetLeft: Int { limits.maxBytes - spent }

    private func stop() {
        if stopped == nil {
            stopped = "stopped after \(UnpackLimits.show(limits.maxBytes)) of decompressed data (--max-bytes); the rest was not read"
        }
    }

    /// Reads member data of the current entry into `buffer`, within the budget. 0 at the end of
    /// the member, at a damaged stream (recorded in `problem`) and once the budget is spent.
    func data(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard stopped == nil, problem == nil else { return 0 }
        guard budgetLeft > 0 else { stop(); return 0 }
        let n = archive_read_data(archive, buffer.baseAddress, min(buffer.count, budgetLeft))
        if n < 0 {
            problem = ArchivePass.errorString(archive)
            return 0
        }
        spent += n
        return n
    }

    /// Up to `count` bytes from the start of the current member's data.
    private func head(_ read: (UnsafeMutableRawBufferPointer) -> Int, count: Int = 8192) -> [UInt8] {
        var head = [UInt8](repeating: 0, count: count)
        var have = 0
        while have < count {
            let n = head.withUnsafeMutableBytes { read(UnsafeMutableRawBufferPointer(rebasing: $0[have...])) }
            if n <= 0 { break }
            have += n
        }
        head.removeSubrange(have...)
        return head
    }

    /// Reads and drops the rest of the current member, within the budget (libarchive's own skip
    /// would decompress any amount without a chance to stop).
    private func drain() {
        while chunk.withUnsafeMutableBytes({ data(into: $0) }) > 0 {}
    }

    func run(member: (_ name: String, _ mtime: time_t?, _ source: inout PullSource) throws(InputError) -> Void,
             skipped: (_ name: String, _ reason: String) -> Void) throws(InputError) -> UnpackOutcome {
        var isArchive = false
        var format = ""
        var entries = 0
        var regular = Set<String>()
        var links: [(name: String, target: String, hard: Bool)] = []
        while stopped == nil, problem == nil {
            var entry: OpaquePointer?
            let r = archive_read_next_header(archive, &entry)
            if r == ARCHIVE_EOF { break }
            if r < ARCHIVE_WARN || entry == nil {
                if entries == 0 { throw InputError("\(path): \(ArchivePass.errorString(archive))") }
                problem = ArchivePass.errorString(archive)
                break
            }
            entries += 1
            if entries == 1 {
                let base = archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK
                isArchive = base != ARCHIVE_FORMAT_RAW && base != ARCHIVE_FORMAT_EMPTY
                format = describeFormat(isArchive: isArchive)
            }
            if entries > limits.maxEntries {
                stopped = "stopped after \(limits.maxEntries) entries; the rest was not read"
                break
            }
            if !isArchive {
                // One compressed file: its only entry is the file itself, and nothing follows it
                // (asking for a next entry would decompress the rest without a budget).
                try readMember(name: "", mtime: nil, member: member, skipped: skipped)
                break
            }
            let name = ArchivePath.clean(archive_entry_pathname(entry).map { String(cString: $0) } ?? "")
            if let hard = archive_entry_hardlink(entry) {
                links.append((name, ArchivePath.clean(String(cString: hard)), true))
                drain()
                continue
            }
            let type = archive_entry_filetype(entry) & 0o170000
            switch type {
            case 0o040000:  // directory
                continue
            case 0o120000:  // symbolic link
                links.append((name, archive_entry_symlink(entry).map { String(cString: $0) } ?? "", false))
            case 0o100000:  // regular file
                regular.insert(name)
                let mtime = archive_entry_mtime_is_set(entry) != 0 ? archive_entry_mtime(entry) : nil
                try readMember(name: name, mtime: mtime, member: member, skipped: skipped)
            default:
                skipped(name, ArchivePath.describe(type))
            }
            drain()
        }
        if entries == 0 {
            // Nothing at all, or only the end-of-archive blocks (all zeros reads as an empty tar).
            isArchive = archive_format(archive) & ARCHIVE_FORMAT_BASE_MASK != ARCHIVE_FORMAT_EMPTY
            if stopped == nil, problem == nil { skipped("", isArchive ? "empty archive" : "empty compressed file") }
        } else if isArchive, regular.isEmpty, links.isEmpty, stopped == nil, problem == nil {
            skipped("", "no files in the archive")
        }
        for link in links {
            skipped(link.name, ArchivePath.linkReason(link.name, target: link.target, hard: link.hard, members: regular))
        }
        if format.isEmpty { format = describeFormat(isArchive: isArchive) }
        return UnpackOutcome(isArchive: isArchive, format: format, stopped: stopped, problem: problem)
    }

    private func describeFormat(isArchive: Bool) -> String {
        var filters: [String] = []
        for i in 0..<max(0, archive_filter_count(archive) - 1) {
            if let n = archive_filter_name(archive, i) { filters.append(String(cString: n)) }
        }
        let packed = filters.filter { $0 != "none" }
        let what = isArchive ? (archive_format_name(archive).map { String(cString: $0) } ?? "archive") : "compressed file"
        return packed.isEmpty ? what : "\(what), \(packed.joined(separator: "+"))-compressed"
    }

    /// Hands the current member to `member` when it holds text: compressed members (rotated
    /// `kubelet.log.1.gz`) are decompressed on the way, archives inside the archive and binary
    /// data are listed as skipped.
    private func readMember(name: String, mtime: time_t?,
                            member: (_ name: String, _ mtime: time_t?, _ source: inout PullSource) throws(InputError) -> Void,
                            skipped: (_ name: String, _ reason: String) -> Void) throws(InputError) {
        let first = head { data(into: $0) }
        switch InputKind.detect(head: first) {
        case .text:
            var source = PullSource(head: first) { [unowned self] (b: UnsafeMutableRawBufferPointer) throws(InputError) -> Int in self.data(into: b) }
            try member(name, mtime, &source)
        case .compressed(let what) where !name.isEmpty:
            guard let nested = NestedStream(parent: self, head: first) else {
                skipped(name, "\(what) data that cannot be read")
                return
            }
            let inner = head { nested.data(into: $0) }
            switch InputKind.detect(head: inner) {
            case .text:
                var source = PullSource(head: inner) { (b: UnsafeMutableRawBufferPointer) throws(InputError) -> Int in nested.data(into: b) }
                try member(name, mtime, &source)
            case .compressed(let w), .archive(let w):
                skipped(name, "\(what) \(w.replacingOccurrences(of: "a ", with: "")) inside the archive; not read")
            case let kind:
                skipped(name, "\(what) \(kind.skipReason)")
            }
            if let p = nested.problem, problem == nil { problem = "\(name): \(p)" }
        case .compressed(let what), .archive(let what):
            skipped(name, name.isEmpty ? "\(what) inside compressed data; not read" : "\(what) inside the archive; not read")
        case let kind:
            skipped(name, kind.skipReason)
        }
    }
}

/// A compressed member read through a second libarchive reader whose input is the member's data.
final class NestedStream {
    let archive: OpaquePointer
    unowned let parent: ArchivePass
    var pending: [UInt8]
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    var problem: String?
    var open = false

    init?(parent: ArchivePass, head: [UInt8]) {
        guard let a = archive_read_new() else { return nil }
        archive = a
        self.parent = parent
        pending = head
        ArchivePass.supportFilters(a)
        archive_read_support_format_raw(a)
        archive_read_support_format_empty(a)
        let me = Unmanaged.passUnretained(self).toOpaque()
        let read: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutablePointer<UnsafeRawPointer?>?) -> la_ssize_t = { _, client, out in
            let s = Unmanaged<NestedStream>.fromOpaque(client!).takeUnretainedValue()
            return s.feed(out!)
        }
        guard archive_read_open(a, me, nil, read, nil) == ARCHIVE_OK else { return nil }
        var entry: OpaquePointer?
        guard archive_read_next_header(a, &entry) == ARCHIVE_OK else { return nil }
        open = true
    }

    deinit { archive_read_free(archive) }

    /// Gives libarchive the next block of the member's compressed bytes.
    private func feed(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> la_ssize_t {
        if !pending.isEmpty {
            buffer.replaceSubrange(0..<pending.count, with: pending)
            let n = pending.count
            pending = []
            out.pointee = buffer.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }
            return n
        }
        let n = buffer.withUnsafeMutableBytes { parent.data(into: $0) }
        out.pointee = buffer.withUnsafeBytes { UnsafeRawPointer($0.baseAddress!) }
        return n
    }

    /// Decompressed bytes; each counts against the parent's budget too.
    func data(into b: UnsafeMutableRawBufferPointer) -> Int {
        guard open, problem == nil, parent.stopped == nil else { return 0 }
        let n = archive_read_data(archive, b.baseAddress, b.count)
        if n < 0 {
            problem = archive_error_string(archive).map { String(cString: $0) } ?? "damaged compressed data"
            return 0
        }
        parent.spent += n
        if parent.spent > parent.limits.maxBytes {
            parent.stopped = "stopped after \(UnpackLimits.show(parent.limits.maxBytes)) of decompressed data (--max-bytes); the rest was not read"
            return 0
        }
        return n
    }
}

/// Member paths: as stored, made relative, and links resolved inside the archive only.
enum ArchivePath {
    /// `./a/b` and `/a/b` are `a/b`.
    static func clean(_ p: String) -> String {
        var s = Substring(p)
        while s.hasPrefix("./") { s = s.dropFirst(2) }
        while s.hasPrefix("/") { s = s.dropFirst() }
        return String(s)
    }

    /// `target` as a member path, `..` resolved; nil when it climbs out of the archive.
    static func resolve(_ target: String, from name: String, hard: Bool) -> String? {
        var parts: [Substring] = []
        if !hard, !target.hasPrefix("/") { parts = name.split(separator: "/").dropLast() }
        for seg in target.split(separator: "/") {
            switch seg {
            case ".": continue
            case "..":
                if parts.isEmpty { return nil }
                parts.removeLast()
            default: parts.append(seg)
            }
        }
        return parts.joined(separator: "/")
    }

    /// Why a link member is not read on its own: its target is read under its own name, is not in
    /// the archive, or lies outside it.
    static func linkReason(_ name: String, target: String, hard: Bool, members: Set<String>) -> String {
        let kind = hard ? "hard link" : "symbolic link"
        guard let resolved = resolve(target, from: name, hard: hard) else {
            return "\(kind) to \(target), outside the archive"
        }
        if members.contains(resolved) { return "\(kind) to \(resolved), read under that name" }
        return "\(kind) to \(target), which is not in the archive"
    }

    static func describe(_ type: UInt32) -> String {
        switch type {
        case 0o010000: "a FIFO, not a regular file"
        case 0o020000: "a character device, not a regular file"
        case 0o060000: "a block device, not a regular file"
        case 0o140000: "a socket, not a regular file"
        default: "not a regular file"
        }
    }
}
