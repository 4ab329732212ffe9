import Glibc

/// Anything logdiag can read bytes from. `read` returns 0 at end of input.
public protocol ByteSource {
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
}

/// An error reading input, with the message the user sees.
public struct InputError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// The reason without the path, for tables that show the path already.
    public let reason: String
    /// Not an error but a file that is not read by design (a FIFO, a device, binary data).
    public let skipped: Bool
    public init(_ description: String) {
        self.description = description
        reason = description
        skipped = false
    }

    public init(path: String, reason: String, skipped: Bool) {
        description = "\(path): \(reason)\(skipped ? "; skipped" : "")"
        self.reason = reason
        self.skipped = skipped
    }

    static func errno(_ what: String, _ code: Int32) -> InputError {
        InputError("\(what): \(String(cString: strerror(code)))")
    }
}

/// Reads a file descriptor with read(2), retrying EINTR. The caller owns the descriptor.
public struct FileDescriptorSource: ByteSource {
    public let fd: Int32
    public let name: String

    public init(fd: Int32, name: String) {
        self.fd = fd
        self.name = name
    }

    /// Opens `path` read-only; the error names the path and the reason.
    /// Only regular files are read: the open does not wait (`O_NONBLOCK`, so a FIFO cannot hang
    /// it) and `fstat` turns away FIFOs, devices (`/dev/urandom` behind a symlink) and sockets.
    ///
    /// `streams`: a path the user typed may also be a FIFO or a character device
    /// (`logdiag <(docker logs x)`, `/dev/stdin`); it is then read as a stream, blocking.
    public static func open(path: String, streams: Bool = false) throws(InputError) -> FileDescriptorSource {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { throw InputError.errno(path, errno) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw InputError.errno(path, code)
        }
        let type = st.st_mode & S_IFMT
        if streams, type == S_IFIFO || type == S_IFCHR {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            return FileDescriptorSource(fd: fd, name: path)
        }
        if type != S_IFREG {
            close(fd)
            throw InputError(path: path, reason: FileDescriptorSource.describe(type), skipped: type != S_IFDIR)
        }
        return FileDescriptorSource(fd: fd, name: path)
    }

    /// Why a file that is not a regular file is not read.
    public static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFDIR: "is a directory"
        case S_IFIFO: "is a FIFO, not a regular file"
        case S_IFCHR: "is a character device, not a regular file"
        case S_IFBLK: "is a block device, not a regular file"
        case S_IFSOCK: "is a socket, not a regular file"
        default: "is not a regular file"
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            if errno == EAGAIN { return 0 }
            throw InputError.errno(name, errno)
        }
    }
}

/// A source over bytes in memory: tests, samples, and decompressed archive members.
public struct MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    /// At most this many bytes per read, to make lines straddle refills in tests.
    private let chunk: Int

    public init(_ bytes: [UInt8], chunk: Int = .max) {
        self.bytes = bytes
        self.chunk = max(1, chunk)
    }

    public init(_ text: String, chunk: Int = .max) {
        self.init(Array(text.utf8), chunk: chunk)
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = min(buffer.count, bytes.count - offset, chunk)
        if n <= 0 { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
