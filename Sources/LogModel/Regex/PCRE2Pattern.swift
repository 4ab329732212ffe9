import CPCRE2

/// A compiled, JIT-compiled PCRE2 pattern. Immutable after creation, so one instance is shared by
/// every thread; each thread matches with its own `PCRE2Pattern.Scratch`.
public final class PCRE2Pattern: @unchecked Sendable {
    /// The compiled pattern; `Diagnoser` calls PCRE2 with it directly on its hot path.
    let code: OpaquePointer
    public let source: String
    public let jitCompiled: Bool
    /// Named groups in group-number order.
    public let captureNames: [(name: String, group: Int)]
    public let groupCount: Int

    public struct CompileError: Error, CustomStringConvertible, Sendable {
        public let message: String
        public let offset: Int
        public var description: String { "\(message) at offset \(offset)" }
    }

    public init(_ pattern: String) throws(CompileError) {
        var errorCode: Int32 = 0
        var errorOffset: Int = 0
        let bytes = Array(pattern.utf8)
        // UTF mode with MATCH_INVALID_UTF: non-ASCII patterns work and invalid UTF-8 in logs is safe.
        let options = UInt32(PCRE2_UTF) | UInt32(PCRE2_MATCH_INVALID_UTF)
        let compiled = bytes.withUnsafeBufferPointer { p in
            pcre2_compile_8(p.baseAddress, p.count, options, &errorCode, &errorOffset, nil)
        }
        guard let compiled else {
            throw CompileError(message: PCRE2Pattern.message(for: errorCode), offset: errorOffset)
        }
        code = compiled
        source = pattern
        jitCompiled = pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0

        var count: UInt32 = 0
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        groupCount = Int(count)
        var nameCount: UInt32 = 0
        var entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>?
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_NAMECOUNT), &nameCount)
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        pcre2_pattern_info_8(compiled, UInt32(PCRE2_INFO_NAMETABLE), &table)
        var names: [(String, Int)] = []
        if let table {
            for i in 0..<Int(nameCount) {
                let entry = table + i * Int(entrySize)
                let group = Int(entry[0]) << 8 | Int(entry[1])
                names.append((String(cString: entry + 2), group))
            }
        }
        captureNames = names.sorted { $0.1 < $1.1 }
    }

    deinit { pcre2_code_free_8(code) }

    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return n > 0 ? String(decoding: buffer[0..<Int(n)], as: UTF8.self) : "PCRE2 error \(code)"
    }

    /// The match budget, on purpose rather than by default: at most `matchLimit` backtracking
    /// steps and `depthLimit` nested ones per match, and a JIT stack of up to 1 MiB. A match that
    /// runs out is an error that the diagnoser reports, never a silent "no match".
    public static let matchLimit: UInt32 = 10_000_000
    public static let depthLimit: UInt32 = 100_000

    /// The limits and JIT stack matches run with. One per thread (a diagnoser's rules share
    /// it): the JIT stack must not be used by two matches at once.
    public final class Budget {
        let context: OpaquePointer?
        let jitStack: OpaquePointer?
        public init(matchLimit: UInt32 = PCRE2Pattern.matchLimit) {
            context = pcre2_match_context_create_8(nil)
            jitStack = pcre2_jit_stack_create_8(32 << 10, 1 << 20, nil)
            if let context {
                pcre2_set_match_limit_8(context, matchLimit)
                pcre2_set_depth_limit_8(context, PCRE2Pattern.depthLimit)
                if let jitStack { pcre2_jit_stack_assign_8(context, nil, UnsafeMutableRawPointer(jitStack)) }
            }
        }
        deinit {
            if let context { pcre2_match_context_free_8(context) }
            if let jitStack { pcre2_jit_stack_free_8(jitStack) }
        }
    }

    /// Per-thread match state: reused across matches so matching allocates nothing.
    public final class Scratch {
        let matchData: OpaquePointer
        let budget: Budget
        var context: OpaquePointer? { budget.context }
        init(pattern: PCRE2Pattern, budget: Budget) {
            matchData = pcre2_match_data_create_from_pattern_8(pattern.code, nil)
            self.budget = budget
        }
        deinit { pcre2_match_data_free_8(matchData) }
    }

    /// True for PCRE2's "ran out of budget" results (match, depth or heap limit, JIT stack).
    public static func isLimit(_ rc: Int32) -> Bool {
        rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT
            || rc == PCRE2_ERROR_JIT_STACKLIMIT
    }

    /// Scratch with its own budget, or one shared with the other patterns of a thread.
    public func makeScratch(budget: Budget = Budget()) -> Scratch { Scratch(pattern: self, budget: budget) }

    /// Scratch with another step budget (the linearity test).
    public func makeScratch(matchLimit: UInt32) -> Scratch { Scratch(pattern: self, budget: Budget(matchLimit: matchLimit)) }

    /// True when the pattern matches somewhere in `subject`; the groups are left in `scratch`.
    public func matches(_ subject: UnsafeBufferPointer<UInt8>, scratch: Scratch) -> Bool {
        guard subject.baseAddress != nil else {
            // PCRE2 wants a valid pointer even for an empty subject.
            var zero: UInt8 = 0
            return withUnsafePointer(to: &zero) { p in
                pcre2_match_8(code, p, 0, 0, 0, scratch.matchData, scratch.context) > 0
            }
        }
        return match(subject, scratch: scratch) > 0
    }

    /// PCRE2's result for `subject`: > 0 matched, `PCRE2_ERROR_NOMATCH`, or an error such as a limit.
    public func match(_ subject: UnsafeBufferPointer<UInt8>, scratch: Scratch) -> Int32 {
        guard let base = subject.baseAddress else { return matches(subject, scratch: scratch) ? 1 : PCRE2_ERROR_NOMATCH }
        if jitCompiled {
            return pcre2_jit_match_8(code, base, subject.count, 0, 0, scratch.matchData, scratch.context)
        }
        return pcre2_match_8(code, base, subject.count, 0, 0, scratch.matchData, scratch.context)
    }

    /// The byte range of group `group` of the last successful match, or nil when it did not take part.
    public func range(ofGroup group: Int, scratch: Scratch) -> Range<Int>? {
        let ovector = pcre2_get_ovector_pointer_8(scratch.matchData)!
        let start = ovector[2 * group]
        let end = ovector[2 * group + 1]
        if start == .max || end < start { return nil }
        return Int(start)..<Int(end)
    }

    /// Named captures of the last successful match as strings: only for findings, never per line.
    public func captures(in subject: UnsafeBufferPointer<UInt8>, scratch: Scratch) -> [String: String] {
        var result: [String: String] = [:]
        for (name, group) in captureNames {
            if let r = range(ofGroup: group, scratch: scratch), r.upperBound <= subject.count {
                result[name] = ByteScan.slice(subject, r.lowerBound, r.upperBound).string
            }
        }
        return result
    }
}

