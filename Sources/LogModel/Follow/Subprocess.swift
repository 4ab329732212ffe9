import Foundation

/// Runs the programs follow reads from (docker, kubectl). Nothing from a log or a bundle is ever run.
public enum Subprocess {
    /// Runs to completion; returns the exit status and the first line of stderr.
    public static func run(_ executable: String, _ args: [String]) -> (status: Int32, stderr: String) {
        do {
            let r = try collect(executable, args, standardOutput: false)
            return (r.status, firstLine(r.data))
        } catch {
            return (127, "\(executable): \(error.localizedDescription)")
        }
    }

    /// Runs to completion; its standard output, or nil when it cannot run or exits non-zero.
    public static func output(_ executable: String, _ args: [String]) -> String? {
        guard let r = try? collect(executable, args, standardOutput: true), r.status == 0 else { return nil }
        return String(decoding: r.data, as: UTF8.self)
    }

    /// Runs with no input and keeps one of its outputs (the other is discarded); throws when it cannot start.
    private static func collect(_ executable: String, _ args: [String], standardOutput: Bool)
        throws -> (status: Int32, data: Data) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        let kept = Pipe()
        p.standardOutput = standardOutput ? kept : FileHandle.nullDevice
        p.standardError = standardOutput ? FileHandle.nullDevice : kept
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = kept.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }

    static func firstLine(_ data: Data) -> String {
        String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }

    /// A child whose standard output is read as a byte source.
    public final class Child: @unchecked Sendable {
        public let process: Process
        public let source: FileDescriptorSource
        let stdout: Pipe
        let stderr: Pipe?

        init(process: Process, stdout: Pipe, stderr: Pipe?) {
            self.process = process
            self.stdout = stdout
            self.stderr = stderr
            source = FileDescriptorSource(fd: stdout.fileHandleForReading.fileDescriptor, name: process.executableURL?.lastPathComponent ?? "child")
        }

        /// Waits for the child; its exit status and the first line of its stderr.
        public func finish() -> (Int32, String) {
            let data = stderr?.fileHandleForReading.readDataToEndOfFile() ?? Data()
            process.waitUntilExit()
            return (process.terminationStatus, Subprocess.firstLine(data))
        }
    }

    /// Starts `executable` with its stdout (and, when `mergeStderr`, its stderr) on a pipe.
    public static func spawnReading(_ executable: String, _ args: [String], mergeStderr: Bool = false) throws(InputError) -> Child {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = mergeStderr ? out : err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { throw InputError("\(executable): \(error.localizedDescription)") }
        return Child(process: p, stdout: out, stderr: mergeStderr ? nil : err)
    }

    /// The full path of `name` on PATH, or nil.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let full = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: full) { return full }
        }
        return nil
    }
}
