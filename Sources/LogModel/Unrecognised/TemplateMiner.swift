/// Error-level events that no rule explained, grouped by template (docs/unrecognised.md).
public struct UnrecognisedGroup: Sendable {
    /// The masked message; positions where grouped lines differed read `<*>`.
    public internal(set) var template: String
    var tokens: [[UInt8]]
    public internal(set) var severity: Severity
    public internal(set) var component: Component?
    public internal(set) var count = 0
    public internal(set) var first: Timestamp?
    public internal(set) var last: Timestamp?
    public internal(set) var evidence: [Evidence] = []
    /// Inputs the lines came from (indexes into the results' input list).
    public internal(set) var inputs: Set<Int> = []
    /// The last unexplained error of its input before the process exited or restarted (systemd's
    /// exit line, a new version banner).
    public internal(set) var beforeExit = false
    /// The last unexplained error of its input when the input ended (weaker: a saved log may
    /// simply stop there).
    public internal(set) var endOfInput = false
    /// The first unexplained line of its input: the start of a cascade.
    public internal(set) var firstInInput = false
    /// The earliest, by event time, of all the groups shown (the first of a cascade across components).
    public internal(set) var earliest = false
    /// Where the group's first line is: input index and line number.
    public internal(set) var firstInput: Int
    public internal(set) var firstLine: Int
    /// Said by another component about this one (Rancher relaying a host's service, systemd).
    public internal(set) var relayed = false
    /// The message names what went wrong in the environment (an errno text, a certificate, a
    /// refused or invalid thing), not only that something failed.
    public internal(set) var namesCause = false
    /// A summary of an earlier error: "command failed", "failed to start", "Error: ...".
    public internal(set) var summary = false
    /// The input of the latest line, so `inputs` is touched only when it changes.
    var lastInput = -1
    var lastSeq: Int

    /// The group with its template and evidence masked (`--redact`).
    func redacted(evidence: (Evidence) -> Evidence, text: (String) -> String) -> UnrecognisedGroup {
        var g = self
        g.template = text(template)
        g.evidence = self.evidence.map(evidence)
        return g
    }

    /// How likely this group is the cause; higher first (docs/unrecognised.md).
    public var score: Int {
        var s = severity == .fatal ? 50 : severity == .error ? 20 : 15
        if firstInInput { s += 20 }
        if earliest { s += 10 }
        if beforeExit { s += 15 } else if endOfInput { s += 5 }
        if namesCause { s += 10 }
        if summary { s -= 15 }
        if relayed { s -= 25 }
        return s
    }

    /// Words of messages that say what is wrong, lowercase.
    static let causeWords = [
        "permission denied", "not permitted", "not supported", "no such file", "read-only file system",
        "no space left", "address already in use", "connection refused", "i/o timeout", "no route to host",
        "no such host", "x509", "certificate", "invalid", "unable to", "cannot", "can't", "could not", "not found",
        "does not exist", "mismatch", "exceeded", "timed out", "too many", "unknown", "corrupt", "unhealthy",
        "forbidden", "unauthorized", "denied", "missing", "conflict", "out of memory", "already", "parse", "parsing",
        "unexpected", "malformed", "syntax", "slow", "took too long", "overloaded",
    ]

    /// Words of messages that only summarise an error said before them, lowercase.
    static let summaryWords = [
        "command failed", "failed to start", "exited", "terminating", "error: <*>", "back-off",
        "crashloopbackoff", "failed to run", "shutting down", "stopping", "exiting",
    ]

    static func classify(_ template: String) -> (namesCause: Bool, summary: Bool) {
        let t = template.lowercased()
        let summary = summaryWords.contains { t.contains($0) }
        return (causeWords.contains { t.contains($0) }, summary)
    }

    /// The most likely cause first; ties by first occurrence, then template, so the order never
    /// depends on timing.
    public static func ranked(_ groups: [UnrecognisedGroup]) -> [UnrecognisedGroup] {
        groups.sorted { a, b in
            if a.score != b.score { return a.score > b.score }
            let ta = a.first?.nanos ?? .max, tb = b.first?.nanos ?? .max
            if ta != tb { return ta < tb }
            if a.firstInput != b.firstInput { return a.firstInput < b.firstInput }
            if a.firstLine != b.firstLine { return a.firstLine < b.firstLine }
            return a.template < b.template
        }
    }

    /// Ranks the groups shown together (error-level ones and the warnings that say what is
    /// wrong): which is first in its input and which is earliest of all is decided across them.
    public static func rankedTogether(_ groups: [UnrecognisedGroup]) -> [UnrecognisedGroup] {
        var gs = groups
        var firstOf: [Int: Int] = [:]
        var earliestIndex: Int?
        for (i, g) in gs.enumerated() {
            if let j = firstOf[g.firstInput] {
                if g.firstLine < gs[j].firstLine { firstOf[g.firstInput] = i }
            } else {
                firstOf[g.firstInput] = i
            }
            if let t = g.first, earliestIndex.map({ t < gs[$0].first! }) ?? true { earliestIndex = i }
            gs[i].firstInInput = false
            gs[i].earliest = false
        }
        for (_, i) in firstOf { gs[i].firstInInput = true }
        if let e = earliestIndex, Set(gs.map(\.firstInput)).count > 1 { gs[e].earliest = true }
        return ranked(gs)
    }

    /// A warning worth showing among the errors: it says what is wrong and is not a summary.
    public var isTellingWarning: Bool { severity == .warning && namesCause && !summary && !relayed }
}

/// Streaming template miner in the manner of Drain (He et al., ICWS 2017): a message is masked,
/// looked up by its exact template, else compared with the groups of the same length and first
/// word; one close enough (most words equal) absorbs it, the differing words becoming `<*>`.
/// Memory is bounded: beyond `capacity` groups the least recently seen quarter is dropped and
/// counted.
public struct TemplateMiner: Sendable {
    public let capacity: Int
    public let evidenceLimit: Int
    /// Share of equal words for a line to join a group.
    static let similarity = 0.6

    public private(set) var groups: [UnrecognisedGroup] = []

    /// Rewrites every group (redaction); the grouping itself is left as it was.
    mutating func redact(_ transform: (UnrecognisedGroup) -> UnrecognisedGroup) {
        groups = groups.map(transform)
    }
    /// Groups dropped to stay within `capacity`, and the lines they held.
    public private(set) var droppedGroups = 0
    public private(set) var droppedLines = 0
    private var exact: [[UInt8]: Int] = [:]
    private var buckets: [BucketKey: [Int]] = [:]
    private var seq = 0
    /// Per input index: the group of its last unexplained error, -1 when an explained error came
    /// after, -2 when there is none.
    private var lastError: [Int] = []
    /// A line's digit-blind hash -> its group: a repeat of a known message (the same words, other
    /// numbers) skips masking. Cleared when groups move.
    private var quick: [UInt64: Int] = [:]
    private var inputsWithFirst: Set<Int> = []

    struct BucketKey: Hashable, Sendable {
        let words: Int
        let first: [UInt8]
    }

    public init(capacity: Int = 1000, evidenceLimit: Int = 5) {
        self.capacity = max(8, capacity)
        self.evidenceLimit = evidenceLimit
    }

    /// Adds one unexplained error-level line whose template is `template`; true when it started
    /// a new group.
    @discardableResult
    mutating func add(template: [UInt8], severity: Severity, component: Component?, input: Int, line: Int, relayed: Bool,
                      time: Timestamp?, quickHash: UInt64? = nil, evidence: @autoclosure () -> Evidence) -> Bool {
        seq += 1
        let g: Int
        if let i = exact[template] {
            g = i
        } else {
            let words = TemplateMiner.split(template)
            let key = BucketKey(words: words.count, first: TemplateMiner.bucketWord(words.first))
            if let i = closest(words, in: buckets[key] ?? []) {
                g = i
                absorb(words, into: i)
            } else {
                if groups.count >= capacity { evict() }
                g = groups.count
                let text = String(decoding: template, as: UTF8.self)
                let kind = UnrecognisedGroup.classify(text)
                groups.append(UnrecognisedGroup(template: text, tokens: words, severity: severity, component: component,
                                                firstInput: input, firstLine: line, namesCause: kind.namesCause,
                                                summary: kind.summary, lastSeq: seq))
                buckets[key, default: []].append(g)
                if inputsWithFirst.insert(input).inserted { groups[g].firstInInput = true }
            }
            // Every distinct spelling of a group is remembered, up to a bound: past it a line takes
            // the slower similarity path, memory stays flat.
            if exact.count < capacity * 8 { exact[template] = g }
        }
        if let h = quickHash {
            if quick.count >= capacity * 8 { quick.removeAll(keepingCapacity: true) }
            quick[h] = g
        }
        update(g, severity: severity, component: component, input: input, relayed: relayed, time: time, evidence: evidence())
        return groups[g].count == 1
    }

    private mutating func update(_ g: Int, severity: Severity, component: Component?, input: Int, relayed: Bool,
                                 time: Timestamp?, evidence: @autoclosure () -> Evidence) {
        groups[g].count += 1
        groups[g].lastSeq = seq
        if severity > groups[g].severity { groups[g].severity = severity }
        if groups[g].component == nil, let component { groups[g].component = component }
        if relayed { groups[g].relayed = true }
        if groups[g].lastInput != input {
            groups[g].lastInput = input
            groups[g].inputs.insert(input)
        }
        if let t = time {
            if groups[g].first == nil || t < groups[g].first! { groups[g].first = t }
            if groups[g].last == nil || t > groups[g].last! { groups[g].last = t }
        }
        if groups[g].evidence.count < evidenceLimit { groups[g].evidence.append(evidence()) }
        setLast(input, g)
    }

    /// An error-level line of `input` that a rule explained: the unexplained one before it is no
    /// longer the input's last word.
    mutating func noteExplainedError(input: Int) {
        setLast(input, -1)
    }

    private mutating func setLast(_ input: Int, _ g: Int) {
        guard input >= 0 else { return }
        if input >= lastError.count { lastError += [Int](repeating: -2, count: input - lastError.count + 1) }
        lastError[input] = g
    }

    /// The group a line with digit-blind hash `h` joined before, if any.
    func quickGroup(_ h: UInt64) -> Int? { quick[h] }

    /// Counts one more line into group `g` (found by `quickGroup`).
    mutating func count(into g: Int, severity: Severity, input: Int, relayed: Bool, time: Timestamp?,
                        evidence: @autoclosure () -> Evidence) {
        seq += 1
        update(g, severity: severity, component: nil, input: input, relayed: relayed, time: time, evidence: evidence())
    }

    /// FNV-1a over the first line of `m` with each run of digits as one byte: messages that differ
    /// only in their numbers (addresses, ids, counts, times) hash alike.
    static func digitBlindHash(_ m: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var inDigits = false
        var n = 0
        for b in m {
            if b == 0x0A || n >= 400 { break }
            n += 1
            if ByteScan.isDigit(b) {
                if inDigits { continue }
                inDigits = true
                h = (h ^ 0x23) &* 0x0000_0100_0000_01B3
            } else {
                inDigits = false
                h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
            }
        }
        return h
    }

    /// The process behind `input` exited or restarted (a version banner, systemd's exit line), or
    /// the input ended: its last unexplained error is what it said before it went.
    mutating func noteExit(input: Int, ended: Bool = false) {
        guard input >= 0, input < lastError.count else { return }
        let g = lastError[input]
        if g >= 0, g < groups.count {
            if ended { groups[g].endOfInput = true } else { groups[g].beforeExit = true }
        }
        lastError[input] = -2
    }

    /// Adds another miner's groups (parallel triage), in order; `inputOffset` renumbers its inputs.
    mutating func merge(_ other: TemplateMiner, inputOffset: Int = 0) {
        droppedGroups += other.droppedGroups
        droppedLines += other.droppedLines
        for o in other.groups {
            let key = BucketKey(words: o.tokens.count, first: TemplateMiner.bucketWord(o.tokens.first))
            let target: Int
            if let i = exact[Array(o.template.utf8)] {
                target = i
            } else if let i = closest(o.tokens, in: buckets[key] ?? []) {
                target = i
                absorb(o.tokens, into: i)
            } else {
                if groups.count >= capacity { evict() }
                seq += 1
                var g = o
                g.count = 0
                g.evidence = []
                g.inputs = []
                g.lastSeq = seq + o.lastSeq
                g.firstInput = o.firstInput + inputOffset
                target = groups.count
                groups.append(g)
                buckets[key, default: []].append(target)
                exact[Array(o.template.utf8)] = target
            }
            var g = groups[target]
            g.count += o.count
            if o.severity > g.severity { g.severity = o.severity }
            if g.component == nil { g.component = o.component }
            g.relayed = g.relayed || o.relayed
            g.beforeExit = g.beforeExit || o.beforeExit
            g.endOfInput = g.endOfInput || o.endOfInput
            g.firstInInput = g.firstInInput || o.firstInInput
            g.inputs.formUnion(o.inputs.map { $0 + inputOffset })
            if let f = o.first, g.first == nil || f < g.first! { g.first = f }
            if let l = o.last, g.last == nil || l > g.last! { g.last = l }
            for e in o.evidence where g.evidence.count < evidenceLimit && !g.evidence.contains(e) { g.evidence.append(e) }
            groups[target] = g
        }
        seq += other.seq
    }

    /// Whether `template` is one of this miner's templates, or one of them with `<*>` where it differs.
    public func knows(_ words: [[UInt8]]) -> Bool {
        let key = BucketKey(words: words.count, first: TemplateMiner.bucketWord(words.first))
        for i in buckets[key] ?? [] where TemplateMiner.agree(groups[i].tokens, words) { return true }
        return false
    }

    // MARK: internals

    static func split(_ t: [UInt8]) -> [[UInt8]] {
        t.split(separator: 0x20, omittingEmptySubsequences: true).map(Array.init)
    }

    static let wildcard = Array("<*>".utf8)

    /// The bucket of a template: masked first words share one.
    static func bucketWord(_ w: [UInt8]?) -> [UInt8] {
        guard let w else { return [] }
        return w.first == 0x3C ? wildcard : w
    }

    /// Two templates that are the same but where one has `<*>`.
    static func agree(_ a: [[UInt8]], _ b: [[UInt8]]) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y && x != wildcard && y != wildcard { return false }
        return true
    }

    private func closest(_ words: [[UInt8]], in candidates: [Int]) -> Int? {
        var best: (Int, Double)?
        for i in candidates {
            let t = groups[i].tokens
            guard t.count == words.count else { continue }
            var same = 0
            var fixedDiffer = false
            for (x, y) in zip(t, words) {
                if x == y || x == TemplateMiner.wildcard { same += 1 } else if x.first != 0x3C && y.first != 0x3C {
                    fixedDiffer = true
                }
            }
            // Two words that are both vocabulary and differ in a short line are different failures.
            if fixedDiffer, words.count < 4 { continue }
            let sim = Double(same) / Double(max(1, words.count))
            if sim >= TemplateMiner.similarity, best == nil || sim > best!.1 { best = (i, sim) }
        }
        return best?.0
    }

    private mutating func absorb(_ words: [[UInt8]], into i: Int) {
        var t = groups[i].tokens
        var changed = false
        for k in t.indices where t[k] != words[k] && t[k] != TemplateMiner.wildcard {
            t[k] = TemplateMiner.wildcard
            changed = true
        }
        if changed {
            groups[i].tokens = t
            groups[i].template = t.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        }
    }

    /// Drops the least recently seen quarter of the groups and rebuilds the indexes.
    private mutating func evict() {
        let drop = max(1, groups.count / 4)
        let order = groups.indices.sorted { groups[$0].lastSeq < groups[$1].lastSeq }
        let gone = Set(order.prefix(drop))
        var remap = [Int](repeating: -1, count: groups.count)
        var kept: [UnrecognisedGroup] = []
        kept.reserveCapacity(groups.count - drop)
        for (i, g) in groups.enumerated() {
            if gone.contains(i) {
                droppedGroups += 1
                droppedLines += g.count
            } else {
                remap[i] = kept.count
                kept.append(g)
            }
        }
        groups = kept
        exact = exact.compactMapValues { remap[$0] >= 0 ? remap[$0] : nil }
        buckets = [:]
        for (i, g) in groups.enumerated() {
            buckets[BucketKey(words: g.tokens.count, first: TemplateMiner.bucketWord(g.tokens.first)), default: []].append(i)
        }
        lastError = lastError.map { $0 < 0 ? $0 : (remap[$0] >= 0 ? remap[$0] : -2) }
        quick.removeAll(keepingCapacity: true)
    }
}
