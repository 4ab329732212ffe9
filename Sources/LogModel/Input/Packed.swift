import Glibc

/// Reads compressed files and archives in one pass, member by member, without writing anything
/// to disk. LogModel only states what it needs; the `LogArchive` target implements it with
/// libarchive, so the core library links no archive code and the command chooses.
public protocol PackedReading: Sendable {
    /// Reads the compressed file or archive at `path`. `member` is called for every regular member
    /// that holds text (for a single compressed file: once, with the name ""), with a source of its
    /// decompressed bytes that is valid during the call only; `skipped` for every entry that is not
    /// read, with the reason. Throws only when `path` cannot be opened or is not a known format.
    func read(path: String, limits: UnpackLimits,
              member: (_ name: String, _ mtime: time_t?, _ source: inout PullSource) throws(InputError) -> Void,
              skipped: (_ name: String, _ reason: String) -> Void) throws(InputError) -> UnpackOutcome
}

/// How much one packed input may unpack to: a bomb ends with a line in the report, not a full disk
/// or an hour of CPU.
public struct UnpackLimits: Sendable, Equatable {
    /// Decompressed bytes per input (all members and nested compressed members together).
    public var maxBytes: Int
    /// Entries per archive.
    public var maxEntries: Int

    public static let defaultMaxBytes = 4 << 30
    public static let defaultMaxEntries = 100_000

    public init(maxBytes: Int = UnpackLimits.defaultMaxBytes, maxEntries: Int = UnpackLimits.defaultMaxEntries) {
        self.maxBytes = maxBytes
        self.maxEntries = maxEntries
    }

    /// Parses a size such as `4G`, `512MiB`, `1000000` (bytes). Nil when it is not one.
    public static func parseSize(_ text: String) -> Int? {
        var digits = ""
        var rest = Substring(text)
        while let c = rest.first, c.isASCII, c.isNumber { digits.append(c); rest = rest.dropFirst() }
        guard let n = Int(digits), n > 0 else { return nil }
        let unit = rest.lowercased()
        let shift: Int
        switch unit {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        case "t", "tb", "tib": shift = 40
        default: return nil
        }
        guard n <= Int.max >> shift else { return nil }
        return n << shift
    }

    /// `4 GiB`, `512 MiB`: how a limit is shown.
    public static func show(_ bytes: Int) -> String {
        for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift {
            let v = Double(bytes) / Double(1 << shift)
            return v == v.rounded() ? "\(Int(v)) \(unit)" : "\((v * 10).rounded() / 10) \(unit)"
        }
        return "\(bytes) bytes"
    }
}

/// How reading a packed input ended.
public struct UnpackOutcome: Sendable, Equatable {
    /// True for an archive of members (tar, zip); false for one compressed file.
    public var isArchive: Bool
    /// What it was: "tar archive, gzip-compressed".
    public var format: String
    /// Set when a limit ended the input early ("stopped after 4 GiB of decompressed data").
    public var stopped: String?
    /// Set when the data was damaged part-way (a truncated gzip): the members before it were read.
    public var problem: String?

    public init(isArchive: Bool, format: String, stopped: String? = nil, problem: String? = nil) {
        self.isArchive = isArchive
        self.format = format
        self.stopped = stopped
        self.problem = problem
    }
}

/// A byte source backed by a function, for members that exist only while an archive is being read.
public struct PullSource: ByteSource {
    let pull: (UnsafeMutableRawBufferPointer) throws(InputError) -> Int
    public init(_ pull: @escaping (UnsafeMutableRawBufferPointer) throws(InputError) -> Int) { self.pull = pull }
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        try pull(buffer)
    }
}

extension PullSource {
    /// A source that yields `head` first, then what `rest` returns.
    public init(head: [UInt8], rest: @escaping (UnsafeMutableRawBufferPointer) throws(InputError) -> Int) {
        var offset = 0
        self.init { (buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int in
            if offset < head.count {
                let n = min(buffer.count, head.count - offset)
                head.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
                offset += n
                return n
            }
            return try rest(buffer)
        }
    }
}
