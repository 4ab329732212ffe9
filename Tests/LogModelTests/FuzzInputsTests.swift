import Foundation
import Testing
import LogArchive
@testable import LogModel

/// The fuzzer's other targets: damaged archives and damaged rule files. Like the pipeline fuzzer
/// they run LOGDIAG_FUZZ_SECONDS (default 2) each; `make fuzz` runs them longer.
@Suite(.serialized) struct FuzzInputsTests {
    var seconds: Double { Double(ProcessInfo.processInfo.environment["LOGDIAG_FUZZ_SECONDS"] ?? "") ?? 2 }
    var seed: UInt64 { UInt64(ProcessInfo.processInfo.environment["LOGDIAG_FUZZ_SEED"] ?? "") ?? 0x2545_F491_4F6C_DD1D }

    mutating func mutate(_ bytes: [UInt8], _ rng: inout XorShift) -> [UInt8] {
        var b = bytes
        for _ in 0..<(1 + rng.below(8)) where !b.isEmpty {
            let at = rng.below(b.count)
            switch rng.below(5) {
            case 0: b[at] = UInt8(truncatingIfNeeded: rng.next())
            case 1: b.removeSubrange(at..<min(b.count, at + 1 + rng.below(64)))
            case 2: b.insert(contentsOf: b[at..<min(b.count, at + rng.below(512))], at: rng.below(b.count))
            case 3: b.removeSubrange(at...)
            default: b[at] ^= 1 << UInt8(rng.below(8))
            }
        }
        return b
    }

    /// Mutated tar, tar.gz, tar.xz, zip and gz files: every read ends (an outcome or an
    /// InputError), never crashes, and never hands out more than the byte budget.
    @Test mutating func fuzzArchives() throws {
        let dir = try tempDir("fuzz-archives")
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import tarfile, zipfile, gzip, io
            a = b'E0101 10:00:00.000000 1 x.go:1] one\\n' * 40
            b = gzip.compress(b'I0101 10:00:00.000000 1 x.go:1] two\\n' * 40)
            for mode, name in [('w', 's.tar'), ('w:gz', 's.tgz'), ('w:xz', 's.txz'), ('w:bz2', 's.tbz')]:
                with tarfile.open(name, mode) as t:
                    for n, d in [('n/a.log', a), ('n/b.log.gz', b)]:
                        i = tarfile.TarInfo(n); i.size = len(d); t.addfile(i, io.BytesIO(d))
                    i = tarfile.TarInfo('n/l'); i.type = tarfile.SYMTYPE; i.linkname = 'a.log'; t.addfile(i)
            with zipfile.ZipFile('s.zip', 'w', zipfile.ZIP_DEFLATED) as z:
                z.writestr('n/a.log', a); z.writestr('n/b.log.gz', b)
            open('s.gz', 'wb').write(gzip.compress(a))
            """]
        p.currentDirectoryURL = dir
        try p.run()
        p.waitUntilExit()
        let seeds = try ["s.tar", "s.tgz", "s.txz", "s.tbz", "s.zip", "s.gz"].map {
            [UInt8](try Data(contentsOf: dir.appendingPathComponent($0)))
        }
        var rng = XorShift(state: seed)
        let file = dir.appendingPathComponent("m.bin").path
        let end = Date().addingTimeInterval(seconds)
        var runs = 0, outcomes = 0
        let budget = 64 << 10
        while Date() < end {
            let bytes = mutate(seeds[rng.below(seeds.count)], &rng)
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            var handed = 0
            do throws(InputError) {
                _ = try LibArchiveReader().read(path: file, limits: UnpackLimits(maxBytes: budget, maxEntries: 50), member: { (_, _, source) throws(InputError) in
                    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
                    defer { buf.deallocate() }
                    while true {
                        let n = try source.read(into: buf)
                        if n <= 0 { break }
                        handed += n
                    }
                }, skipped: { _, _ in })
                outcomes += 1
            } catch {
                #expect(!error.description.isEmpty)
            }
            #expect(handed <= budget + 8192, "a member handed out more than the budget")
            runs += 1
        }
        #expect(runs > 0 && outcomes > 0)
    }

    /// Mutated built-in rule files: loading reports errors or rules, compiling them never crashes.
    @Test mutating func fuzzRuleFiles() throws {
        let files = BuiltinRuleFiles.all.map { Array($0.text.utf8) }
        var rng = XorShift(state: seed)
        let end = Date().addingTimeInterval(seconds)
        var runs = 0
        while Date() < end {
            let text = String(decoding: mutate(files[rng.below(files.count)], &rng), as: UTF8.self)
            let (rules, errors) = RuleLoader.load(text: text, file: "fuzz.yaml")
            for e in errors { #expect(!e.description.isEmpty) }
            if !rules.isEmpty { _ = try? RuleSet(rules: rules) }
            runs += 1
        }
        #expect(runs > 0)
    }
}
