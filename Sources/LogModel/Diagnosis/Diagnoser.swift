import CPCRE2
import Glibc

/// Runs the rule library over events: one prefilter pass per message selects the few rules whose
/// PCRE2 pattern runs; matches are grouped into findings by rule and key captures.
///
/// One diagnoser per thread: it owns per-pattern match scratch. Results of several diagnosers
/// combine with `merge`.
///
/// The per-event path allocates nothing and touches no reference-counted value: what it needs of
/// each rule is copied into plain values at `init`, its per-event state lives in memory it owns, and
/// a match of a finding already held is counted in place, found by the raw bytes of its key
/// captures. Strings are made only for what a finding keeps (its first captures, its evidence).
public final class Diagnoser {
    public let ruleSet: RuleSet
    public let evidenceLimit: Int
    private let scratch: [PCRE2Pattern.Scratch]
    private let versionScratch: PCRE2Pattern.Scratch
    private let prefilter: LiteralPrefilter
    private let ruleCount: Int

    /// What the hot path needs of one rule, as plain values.
    private struct RuleFilter {
        /// Bit per component id, severity and format the rule is limited to; 0 when it is not.
        var components: UInt64 = 0
        /// A component id beyond the mask: check `ruleSet.componentIDs` instead.
        var componentsBeyondMask = false
        var severities: UInt32 = 0
        var formats: UInt32 = 0
        var hasField = false
        var noise = false
        var keyed = false
        var thresholdCount = 0
        var thresholdWithin: Int64 = 0
        var hasThreshold = false
        /// Keyed, with a threshold of two or more: a key's first match can be deferred.
        var deferrable = false
        var code: OpaquePointer
        var matchData: OpaquePointer
        var context: OpaquePointer?
        var jit = false
    }

    private let filters: UnsafeMutablePointer<RuleFilter>
    /// Per rule with `field`: the needles `"name":` and `name=`.
    private let fieldNeedles: [(json: [UInt8], kv: [UInt8])?]
    /// Per rule, per key name: the capture groups of that name, and whether it is `host` (which
    /// falls back to the host the event names).
    private let keyGroups: [[(groups: [Int], isHost: Bool)]]

    /// Per-event state: the rule markers (each rule is tried once per event however many of its
    /// literals occur), the candidate list, the epoch and event counters.
    private let seen: UnsafeMutablePointer<UInt32>
    private let candidates: UnsafeMutablePointer<Int32>
    private let counters: UnsafeMutablePointer<Int>
    private static let epochCounter = 0, eventCounter = 1, severityCounter = 2

    // The diagnoser's state below is used by one thread and never accessed reentrantly (the
    // `onNewFinding` callback runs after each update is complete), so the per-match paths skip the
    // runtime exclusivity checks.

    /// Everything but the findings and the per-event counters.
    @exclusivity(unchecked) private var base = DiagnosisResults()
    /// The findings, their keys, and where to find them.
    @exclusivity(unchecked) private var store: [Finding] = []
    @exclusivity(unchecked) private var storeKeys: [FindingKey] = []
    @exclusivity(unchecked) private var storeLastInput: [Int] = []
    @exclusivity(unchecked) private var keyIndex: [FindingKey: Int] = [:]
    @exclusivity(unchecked) private var unkeyedSlot: [Int32]
    @exclusivity(unchecked) private var noiseSlot: [Int32]
    /// Keyed findings by the raw bytes of their key captures (each preceded by its length), so a
    /// match finds its finding without making strings: open addressing over `fastEntries`, keys in
    /// `keyArena`. Complete for ASCII keys: every keyed finding and every deferred match with an
    /// ASCII key has an entry (a non-ASCII key takes the string path every time).
    private struct FastEntry {
        let hash: UInt64
        let rule: Int
        let keyStart: Int
        let keyCount: Int
        /// A slot in `store`, or `-1 - index` of a deferred match.
        var target: Int
    }
    @exclusivity(unchecked) private var fastTable: [Int32] = []
    @exclusivity(unchecked) private var fastEntries: [FastEntry] = []
    @exclusivity(unchecked) private var keyArena: [UInt8] = []
    @exclusivity(unchecked) private var keyBytes: [UInt8] = []

    /// The first match of a key of a rule with a threshold of two or more, kept as bytes instead of
    /// a finding: alone it cannot meet the threshold, so it shows in no report; a second match of the
    /// key replays it into a new finding first. Most keys of a noisy keyed rule (a connection
    /// refused to a different address on every line) are never seen twice.
    private struct Deferred {
        let rule: Int
        let time: Timestamp?
        let line: Int
        let input: Int
        let component: Component?
        let quoted: Bool
        /// Ranges in `deferArena`: the raw key, the text the pattern matched, the payload, the
        /// event's host.
        let key: Range<Int>
        let subject: Range<Int>
        let payload: Range<Int>
        let host: Range<Int>?
        var alive = true
    }
    @exclusivity(unchecked) private var deferred: [Deferred] = []
    /// Deferred matches dropped before their threshold was met, per rule (the below-threshold list).
    @exclusivity(unchecked) private var belowDeferred: [Finding?] = []
    @exclusivity(unchecked) private var deferArena: [UInt8] = []
    @exclusivity(unchecked) private var liveDeferred = 0

    /// Unexplained error-level events by template, and the reusable buffer they are masked into.
    @exclusivity(unchecked) private var miner: TemplateMiner
    @exclusivity(unchecked) private var warningMiner: TemplateMiner
    @exclusivity(unchecked) private var maskBuffer: [UInt8] = []
    private let masker = TemplateMasker()
    private let hasGeneric: Bool

    /// Newest event time of a match, for dropping threshold windows that can no longer fill.
    @exclusivity(unchecked) private var latestMatchTime: Int64?
    private static let pruneFloor = 4096
    @exclusivity(unchecked) private var pruneAt = Diagnoser.pruneFloor

    /// Called when a finding is reported for the first time or its threshold is met (follow mode).
    public var onNewFinding: ((Finding) -> Void)?
    /// Called when an error-level line no rule knows starts a new group (follow mode).
    public var onNewUnrecognised: ((UnrecognisedGroup) -> Void)?

    /// Groups every line no rule explained, whatever its severity (`logdiag diff`, `--baseline`),
    /// not only error- and warning-level ones.
    public let mineEverything: Bool

    public init(ruleSet: RuleSet, evidenceLimit: Int = 5, templateCapacity: Int = 1000, mineEverything: Bool = false) {
        self.ruleSet = ruleSet
        self.evidenceLimit = evidenceLimit
        self.mineEverything = mineEverything
        miner = TemplateMiner(capacity: templateCapacity, evidenceLimit: min(5, evidenceLimit))
        warningMiner = TemplateMiner(capacity: mineEverything ? templateCapacity * 20 : templateCapacity / 2,
                                     evidenceLimit: min(5, evidenceLimit))
        hasGeneric = ruleSet.rules.contains(where: \.generic)
        maskBuffer.reserveCapacity(TemplateMasker.maxTemplateBytes + 16)
        // One match budget (limits, JIT stack) for all of this thread's patterns.
        let budget = PCRE2Pattern.Budget()
        let scratch = ruleSet.patterns.map { $0.makeScratch(budget: budget) }
        self.scratch = scratch
        versionScratch = ruleSet.versionPattern.makeScratch(budget: budget)
        prefilter = ruleSet.prefilter
        let n = ruleSet.rules.count
        ruleCount = n
        filters = .allocate(capacity: max(1, n))
        var needles: [(json: [UInt8], kv: [UInt8])?] = []
        var groups: [[(groups: [Int], isHost: Bool)]] = []
        for (i, rule) in ruleSet.rules.enumerated() {
            let pattern = ruleSet.patterns[i]
            var f = RuleFilter(code: pattern.code, matchData: scratch[i].matchData, context: scratch[i].context)
            f.jit = pattern.jitCompiled
            for id in ruleSet.componentIDs[i] {
                if id < 64 { f.components |= 1 << UInt64(id) } else { f.componentsBeyondMask = true }
            }
            if f.componentsBeyondMask { f.components = 0 }
            for s in rule.severities { f.severities |= 1 << UInt32(s.rawValue) }
            for fm in rule.formats { f.formats |= 1 << UInt32(fm.rawValue) }
            f.noise = rule.noise
            f.keyed = !rule.key.isEmpty
            if let th = rule.threshold {
                f.hasThreshold = true
                f.thresholdCount = th.count
                f.thresholdWithin = th.within
                f.deferrable = f.keyed && th.count >= 2
            }
            f.hasField = rule.field != nil
            (filters + i).initialize(to: f)
            needles.append(rule.field.map { FieldLookup.needles($0) })
            groups.append(rule.key.map { name in
                (pattern.captureNames.filter { $0.name == name }.map(\.group), name == "host")
            })
        }
        fieldNeedles = needles
        keyGroups = groups
        seen = .allocate(capacity: n + 1)
        seen.initialize(repeating: 0, count: n + 1)
        candidates = .allocate(capacity: n + 1)
        counters = .allocate(capacity: 2 + Severity.allCases.count)
        counters.initialize(repeating: 0, count: 2 + Severity.allCases.count)
        unkeyedSlot = [Int32](repeating: -1, count: n)
        noiseSlot = [Int32](repeating: -1, count: n)
        keyBytes.reserveCapacity(256)
    }

    deinit {
        filters.deinitialize(count: ruleCount)
        filters.deallocate()
        seen.deallocate()
        candidates.deallocate()
        counters.deallocate()
    }

    /// What this diagnoser has seen so far.
    public var results: DiagnosisResults {
        var r = base
        r.events += counters[Diagnoser.eventCounter]
        for k in r.severityCounts.indices { r.severityCounts[k] += counters[Diagnoser.severityCounter + k] }
        r.findings.reserveCapacity(r.findings.count + store.count)
        for (k, f) in zip(storeKeys, store) { r.findings[k] = f }
        var below = belowDeferred
        for d in deferred where d.alive { countBelow(d, into: &below) }
        for f in below { if let f { r.addBelowThreshold(f) } }
        r.unrecognised = miner
        r.unrecognisedWarnings = warningMiner
        return r
    }

    /// Counts a deferred match into the below-threshold list of `r`: the first of its rule as a
    /// finding with captures, the rest as counts and (up to five) evidence lines, so a rule whose
    /// every key is new (a refusal to a different address on each line) costs no pattern run.
    private func countBelow(_ m: Deferred, into below: inout [Finding?]) {
        if below.isEmpty { below = [Finding?](repeating: nil, count: ruleCount) }
        guard below[m.rule] != nil else {
            below[m.rule] = deferredFinding(m)
            return
        }
        // Mutated in place: a copy of the finding would copy its arrays on every match.
        below[m.rule]!.count += 1
        if let t = m.time {
            if below[m.rule]!.first.map({ t < $0 }) ?? true { below[m.rule]!.first = t }
            if below[m.rule]!.last.map({ t > $0 }) ?? true { below[m.rule]!.last = t }
        }
        if below[m.rule]!.evidence.count < 5 {
            below[m.rule]!.evidence.append(Evidence(input: inputName(m.input), line: m.line,
                                                    text: String(decoding: deferArena[m.payload], as: UTF8.self),
                                                    time: m.time, quoted: m.quoted))
        }
        if !below[m.rule]!.inputs.contains(m.input) { below[m.rule]!.inputs.insert(m.input) }
    }

    /// A deferred first match as the finding it would start (for the below-threshold list).
    private func deferredFinding(_ m: Deferred) -> Finding {
        let pattern = ruleSet.patterns[m.rule]
        let subject = Array(deferArena[m.subject])
        var captures: [String: String] = [:]
        subject.withUnsafeBufferPointer { sub in
            let sc = scratch[m.rule]
            if pattern.matches(sub, scratch: sc) { captures = pattern.captures(in: sub, scratch: sc) }
        }
        if captures["host"] == nil, let h = m.host { captures["host"] = String(decoding: deferArena[h], as: UTF8.self) }
        var f = Finding(ruleIndex: m.rule, keyValues: ruleSet.rules[m.rule].key.map { captures[$0] ?? "" }, captures: captures)
        f.count = 1
        f.first = m.time
        f.last = m.time
        f.component = m.component
        f.inputs = [m.input]
        f.evidence = [Evidence(input: inputName(m.input), line: m.line, text: String(decoding: deferArena[m.payload], as: UTF8.self),
                               time: m.time, quoted: m.quoted)]
        return f
    }

    /// Registers an input and returns its index for events.
    public func addInput(_ name: String) -> Int {
        base.inputs.append(name)
        base.linesPerInput.append(0)
        return base.inputs.count - 1
    }

    /// The input's year was a guess (no `--year`, no dated line in it).
    public func markYearGuessed(_ index: Int) { base.guessedYearInputs.insert(index) }

    /// Takes input statistics the event source counted.
    public func finishInput(_ index: Int, lines: Int, bytes: Int, splitLines: Int) {
        miner.noteExit(input: index, ended: true)
        warningMiner.noteExit(input: index, ended: true)
        base.linesPerInput[index] = lines
        base.lines += lines
        base.bytes += bytes
        base.splitLines += splitLines
    }

    /// Counts the events an event source skipped (info level, no rule's literal in them).
    public func count(_ skipped: SkippedEvents) {
        counters[Diagnoser.eventCounter] &+= skipped.events
        counters[Diagnoser.severityCounter + Int(Severity.info.rawValue)] &+= skipped.events
    }

    public func consume(_ e: borrowing LogEvent) {
        counters[Diagnoser.eventCounter] &+= 1
        counters[Diagnoser.severityCounter + Int(e.severity.rawValue)] &+= 1
        var hit = match(e, quoted: false)
        var severity = e.severity
        if let inner = e.innerEvent {
            if match(inner.pointee, quoted: true) { hit = true }
            if inner.pointee.severity > severity { severity = inner.pointee.severity }
        }
        // Only error- and warning-level events reach the fallback: the per-line cost of the rest is
        // one compare.
        if severity >= .error { fallback(e, hit: hit) } else if !hit, severity == .warning || mineEverything { mineWarning(e) }
    }

    /// A warning no rule explained: kept in its own groups, shown when nothing at error level is.
    /// With `mineEverything` (diff, baselines) info and debug lines come here too.
    @inline(never)
    private func mineWarning(_ e: borrowing LogEvent) {
        if let inner = e.innerEvent, inner.pointee.severity == .warning || mineEverything {
            mine(inner.pointee, relayed: false, quoted: true, into: &warningMiner)
        } else {
            mine(e, relayed: Diagnoser.isRelayed(e), quoted: false, into: &warningMiner)
        }
    }

    /// An error-level event: if no rule explained it, a generic rule may (an error class such as
    /// "address already in use"); else it joins the unrecognised groups.
    @inline(never)
    private func fallback(_ e: borrowing LogEvent, hit: Bool) {
        let message = e.message, input = e.input
        let exited = Diagnoser.isExitLine(message)
        if exited {
            miner.noteExit(input: input)
            warningMiner.noteExit(input: input)
        }
        if hit { miner.noteExplainedError(input: input); return }
        // The component's own words: the quoted line when Rancher relays one.
        if let inner = e.innerEvent, inner.pointee.severity >= .error {
            if matchGeneric(inner.pointee, quoted: true) { miner.noteExplainedError(input: e.input); return }
            mine(inner.pointee, relayed: false, quoted: true, into: &miner)
        } else {
            if matchGeneric(e, quoted: false) { miner.noteExplainedError(input: e.input); return }
            let relayed = Diagnoser.isRelayed(e)
            mine(e, relayed: relayed || exited, quoted: false, into: &miner)
        }
    }

    /// Orchestrators (systemd, RKE, the Rancher server) mostly report other components' failures.
    static let reporterIDs: Set<UInt16> = Set(["systemd", "rke", "rancher"].compactMap { Component(name: $0)?.id })

    /// Said about another component: Rancher's `on host [x]`, or an orchestrator's line.
    static func isRelayed(_ e: borrowing LogEvent) -> Bool {
        if e.host != nil { return true }
        guard let c = e.component else { return false }
        return reporterIDs.contains(c.id)
    }

    /// systemd's `Main process exited, code=exited, status=1/FAILURE`: the service's process is gone.
    static func isExitLine(_ m: UnsafeBufferPointer<UInt8>) -> Bool {
        ByteScan.find("Main process exited, code=", in: m) != nil
    }

    private func mine(_ e: borrowing LogEvent, relayed: Bool, quoted: Bool, into miner: inout TemplateMiner) {
        let line = e.lineNumber
        let payload = e.payload
        let time = e.time
        let input = e.input
        // A repeat of a message seen before, other numbers aside, skips masking.
        let h = TemplateMiner.digitBlindHash(e.message)
        if let g = miner.quickGroup(h) {
            miner.count(into: g, severity: e.severity, input: input, relayed: relayed, time: time,
                        evidence: Evidence(input: inputName(input), line: line, text: payload.string, time: time, quoted: quoted))
            return
        }
        masker.mask(e.message, into: &maskBuffer)
        // An error with no words is still an error: it is grouped, not dropped.
        if maskBuffer.isEmpty { maskBuffer.append(contentsOf: Array("(empty message)".utf8)) }
        let created = miner.add(template: maskBuffer, severity: e.severity, component: e.component, input: input, line: line,
                                relayed: relayed, time: time, quickHash: h,
                                evidence: Evidence(input: inputName(input), line: line, text: payload.string, time: time, quoted: quoted))
        if created, e.severity >= .error, let onNewUnrecognised, let g = miner.groups.last { onNewUnrecognised(g) }
    }

    /// Generic rules on an event no specific rule matched.
    private func matchGeneric(_ e: borrowing LogEvent, quoted: Bool) -> Bool {
        if !hasGeneric { return false }
        var n = 0
        let candidates = self.candidates
        ruleSet.genericPrefilter.scan(e.message) { tag in
            for k in 0..<n where candidates[k] == Int32(truncatingIfNeeded: tag) { return }
            if n < ruleCount { candidates[n] = Int32(truncatingIfNeeded: tag); n += 1 }
        }
        var hit = false
        for k in 0..<n where !hit {
            if tryRule(Int(candidates[k]), e, quoted: quoted) { hit = true }
        }
        return hit
    }

    @inline(__always)
    @discardableResult
    private func match(_ e: borrowing LogEvent, quoted: Bool) -> Bool {
        var ep = UInt32(truncatingIfNeeded: counters[Diagnoser.epochCounter]) &+ 1
        if ep == 0 {
            seen.update(repeating: 0, count: ruleCount + 1)
            ep = 1
        }
        counters[Diagnoser.epochCounter] = Int(ep)
        let seen = self.seen, candidates = self.candidates
        var n = 0
        prefilter.scan(e.message) { tag in
            if seen[tag] != ep {
                seen[tag] = ep
                candidates[n] = Int32(truncatingIfNeeded: tag)
                n &+= 1
            }
        }
        if n == 0 { return false }
        let versionTag = ruleCount
        var hit = false
        for k in 0..<n {
            let tag = Int(candidates[k])
            if tag == versionTag { noteVersion(e) } else if tryRule(tag, e, quoted: quoted) { hit = true }
        }
        return hit
    }

    private func noteVersion(_ e: borrowing LogEvent) {
        let p = ruleSet.versionPattern
        guard p.matches(e.message, scratch: versionScratch),
              let r = p.range(ofGroup: p.captureNames[0].group, scratch: versionScratch),
              let v = Version(ByteScan.slice(e.message, r.lowerBound, r.upperBound).string)
        else { return }
        // A version banner after errors: the process restarted.
        miner.noteExit(input: e.input)
        warningMiner.noteExit(input: e.input)
        if let c = e.component { base.versions[c.name] = v } else { base.inputVersions[e.input] = v }
    }

    /// Runs rule `i` on `e`; true when it matched (and the match was recorded).
    @inline(__always)
    @discardableResult
    private func tryRule(_ i: Int, _ e: borrowing LogEvent, quoted: Bool) -> Bool {
        let f = filters[i]
        if f.components != 0 || f.componentsBeyondMask, let c = e.component {
            if f.componentsBeyondMask {
                if !ruleSet.componentIDs[i].contains(c.id) { return false }
            } else if c.id >= 64 || f.components & (1 << UInt64(c.id)) == 0 {
                return false
            }
        }
        if f.severities != 0, f.severities & (1 << UInt32(e.severity.rawValue)) == 0 { return false }
        if f.formats != 0, f.formats & (1 << UInt32(e.format.rawValue)) == 0 { return false }
        var subject = e.message
        if f.hasField, let needles = fieldNeedles[i] {
            // Read before the `??`: its autoclosure cannot capture a borrowed event.
            let payload = e.payload
            guard let v = FieldLookup.value(needles, in: e.message) ?? FieldLookup.value(needles, in: payload) else {
                return false
            }
            subject = v
        }
        if let base = subject.baseAddress {
            let rc = f.jit ? pcre2_jit_match_8(f.code, base, subject.count, 0, 0, f.matchData, f.context)
                : pcre2_match_8(f.code, base, subject.count, 0, 0, f.matchData, f.context)
            guard rc > 0 else {
                if rc != PCRE2_ERROR_NOMATCH { noteLimit(i, e, rc) }
                return false
            }
        } else {
            guard ruleSet.patterns[i].matches(subject, scratch: scratch[i]) else { return false }
        }
        record(i, e, subject, quoted: quoted)
        return true
    }

    /// A pattern that ran out of its budget on a line: counted and kept, so the report can say the
    /// line may hold a match that was not seen.
    @inline(never)
    private func noteLimit(_ i: Int, _ e: borrowing LogEvent, _ rc: Int32) {
        if var hit = base.patternLimits[i] {
            hit.count += 1
            base.patternLimits[i] = hit
        } else {
            base.patternLimits[i] = PatternLimitHit(ruleIndex: i, count: 1, reason: PCRE2Pattern.message(for: rc),
                                                    input: inputName(e.input), line: e.lineNumber)
        }
    }

    private func inputName(_ i: Int) -> String {
        base.inputs.indices.contains(i) ? base.inputs[i] : "-"
    }

    /// A match of rule `i` on `e`: counted as noise, or added to its finding.
    @inline(never)
    private func record(_ i: Int, _ e: borrowing LogEvent, _ subject: UnsafeBufferPointer<UInt8>, quoted: Bool) {
        let f = filters[i]
        if f.noise {
            base.noiseLines += 1
            let s = Int(noiseSlot[i])
            if s >= 0 {
                base.noise[s].count += 1
            } else {
                let ev = Evidence(input: inputName(e.input), line: e.lineNumber, text: e.payload.string, time: e.time,
                                  quoted: quoted)
                noiseSlot[i] = Int32(base.noise.count)
                base.noise.append(NoiseCount(ruleIndex: i, count: 1, example: ev))
            }
            return
        }
        if f.hasThreshold, let t = e.time, latestMatchTime == nil || t.nanos > latestMatchTime! {
            latestMatchTime = t.nanos
        }
        let s: Int
        if f.keyed {
            guard let k = keyedSlot(i, e, subject, quoted: quoted) else { return }
            s = k
        } else {
            s = unkeyedSlot[i] >= 0 ? Int(unkeyedSlot[i]) : slowSlot(i, subject, host: e.host)
        }
        count(into: s, filter: f, time: e.time, component: e.component, input: e.input, repeats: Int(e.repeats),
              evidence: store[s].evidence.count < evidenceLimit
                  ? Evidence(input: inputName(e.input), line: e.lineNumber, text: e.payload.string, time: e.time,
                             quoted: quoted) : nil)
    }

    /// Counts one match into the finding in slot `s`, and announces it when it meets its threshold.
    private func count(into s: Int, filter: RuleFilter, time: Timestamp?, component: Component?, input: Int,
                       repeats: Int = 1, evidence: Evidence?) {
        let newInput = storeLastInput[s] != input
        storeLastInput[s] = input
        let newlyMet = Diagnoser.update(&store[s], time: time, component: component, input: input, repeats: repeats,
                                        evidence: evidence,
                                        newInput: newInput, filter: filter)
        if newlyMet, let onNewFinding { onNewFinding(store[s]) }
    }

    /// Counts one match into `f`; true when this match met the rule's threshold.
    private static func update(_ f: inout Finding, time: Timestamp?, component: Component?, input: Int,
                               repeats: Int = 1, evidence: Evidence?, newInput: Bool, filter: RuleFilter) -> Bool {
        let wasMet = f.thresholdMet
        // An event row stands for its count (`x12 over 3m`).
        f.count += max(1, repeats)
        if let t = time {
            if f.first == nil || t < f.first! { f.first = t }
            if f.last == nil || t > f.last! { f.last = t }
        }
        if f.component == nil { f.component = component }
        if newInput { f.inputs.insert(input) }
        if let evidence { f.evidence.append(evidence) }
        if filter.hasThreshold, !f.thresholdMet {
            let within = filter.thresholdWithin
            if let t = time {
                f.window.append(contentsOf: repeatElement(t, count: min(max(1, repeats), filter.thresholdCount)))
                // Times from corrupt lines can be far apart: compare without overflowing.
                f.window.removeAll {
                    let (d, o) = t.nanos.subtractingReportingOverflow($0.nanos)
                    return o || d > within || d < -within
                }
                if f.window.count >= filter.thresholdCount { f.thresholdMet = true; f.window = [] }
            } else if f.count >= filter.thresholdCount {
                f.thresholdMet = true
            }
        } else if !filter.hasThreshold {
            f.thresholdMet = true
        }
        return f.thresholdMet && !wasMet
    }

    // MARK: finding slots

    /// The slot of the finding a match of keyed rule `i` belongs to, made when new; nil when the
    /// match was deferred (the first of its key).
    private func keyedSlot(_ i: Int, _ e: borrowing LogEvent, _ subject: UnsafeBufferPointer<UInt8>,
                           quoted: Bool) -> Int? {
        // The raw bytes of the key captures, each preceded by its length.
        keyBytes.removeAll(keepingCapacity: true)
        let pattern = ruleSet.patterns[i]
        var ascii = true
        for key in keyGroups[i] {
            var value: UnsafeBufferPointer<UInt8>?
            for g in key.groups {
                if let r = pattern.range(ofGroup: g, scratch: scratch[i]), r.upperBound <= subject.count {
                    value = ByteScan.slice(subject, r.lowerBound, r.upperBound)
                }
            }
            if value == nil, key.isHost { value = e.host }
            let v = value ?? UnsafeBufferPointer(start: nil, count: 0)
            Diagnoser.appendLength(v.count, to: &keyBytes)
            for b in v { ascii = ascii && b < 0x80; keyBytes.append(b) }
        }
        // A key that is not ASCII may spell a key string several ways: match it by its strings.
        guard ascii else {
            pruneIfNeeded()
            return slowSlot(i, subject, host: e.host)
        }
        let h = Diagnoser.hash(keyBytes, rule: i)
        if let n = findFast(h, rule: i) {
            let target = fastEntries[n].target
            if target >= 0 { return target }
            let s = promote(-1 - target)
            fastEntries[n].target = s
            return s
        }
        pruneIfNeeded()
        // An event row that stands for several occurrences is counted at once, never deferred.
        if filters[i].deferrable, e.repeats <= 1 {
            deferMatch(i, e, subject, quoted: quoted)
            addFast(hash: h, rule: i, key: keyBytes, target: -deferred.count)
            return nil
        }
        return slowSlot(i, subject, host: e.host)
    }

    private static func appendLength(_ n: Int, to bytes: inout [UInt8]) {
        var len = UInt32(truncatingIfNeeded: n)
        withUnsafeBytes(of: &len) { bytes.append(contentsOf: $0) }
    }

    private static func hash(_ bytes: [UInt8], rule: Int) -> UInt64 {
        bytes.withUnsafeBufferPointer { hash($0, rule: rule) }
    }

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, rule: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ UInt64(truncatingIfNeeded: rule)
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// The raw key of a finding's key strings: what a match with those (ASCII) captures produces.
    private static func rawKey(_ values: [String]) -> (bytes: [UInt8], ascii: Bool) {
        var bytes: [UInt8] = []
        var ascii = true
        for v in values {
            appendLength(v.utf8.count, to: &bytes)
            for b in v.utf8 { ascii = ascii && b < 0x80; bytes.append(b) }
        }
        return (bytes, ascii)
    }

    /// The entry for `keyBytes` of rule `i`, if any.
    private func findFast(_ h: UInt64, rule i: Int) -> Int? {
        keyBytes.withUnsafeBufferPointer { findFast(h, rule: i, key: $0) }
    }

    private func findFast(_ h: UInt64, rule i: Int, key: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !fastTable.isEmpty else { return nil }
        let mask = fastTable.count - 1
        var k = Int(truncatingIfNeeded: h) & mask
        while fastTable[k] >= 0 {
            let n = Int(fastTable[k])
            let entry = fastEntries[n]
            if entry.hash == h, entry.rule == i, entry.keyCount == key.count {
                let same = key.count == 0 || keyArena.withUnsafeBufferPointer { arena in
                    memcmp(arena.baseAddress! + entry.keyStart, key.baseAddress!, key.count) == 0
                }
                if same { return n }
            }
            k = (k + 1) & mask
        }
        return nil
    }

    private func addFast(hash h: UInt64, rule: Int, key: [UInt8], target: Int) {
        key.withUnsafeBufferPointer { addFast(hash: h, rule: rule, key: $0, target: target) }
    }

    private func addFast(hash h: UInt64, rule: Int, key: UnsafeBufferPointer<UInt8>, target: Int) {
        let entry = FastEntry(hash: h, rule: rule, keyStart: keyArena.count, keyCount: key.count, target: target)
        keyArena.append(contentsOf: key)
        fastEntries.append(entry)
        if fastEntries.count * 2 > fastTable.count {
            fastTable = [Int32](repeating: -1, count: max(64, fastTable.count * 2))
            for (n, e) in fastEntries.enumerated() { insertFast(e.hash, Int32(n)) }
        } else {
            insertFast(h, Int32(fastEntries.count - 1))
        }
    }

    private func insertFast(_ h: UInt64, _ n: Int32) {
        let mask = fastTable.count - 1
        var k = Int(truncatingIfNeeded: h) & mask
        while fastTable[k] >= 0 { k = (k + 1) & mask }
        fastTable[k] = n
    }

    /// The finding for a match of rule `i` (its groups in `scratch[i]`) by its key strings, made
    /// when new with the captures of this match.
    private func slowSlot(_ i: Int, _ subject: UnsafeBufferPointer<UInt8>, host: UnsafeBufferPointer<UInt8>?) -> Int {
        let rule = ruleSet.rules[i]
        var captures = ruleSet.patterns[i].captures(in: subject, scratch: scratch[i])
        if captures["host"] == nil, let h = host { captures["host"] = h.string }
        let keyValues = rule.key.map { captures[$0] ?? "" }
        let key = FindingKey(rule: i, values: keyValues)
        if let s = keyIndex[key] { return s }
        return append(key, Finding(ruleIndex: i, keyValues: keyValues, captures: captures))
    }

    private func append(_ key: FindingKey, _ f: Finding) -> Int {
        let s = store.count
        store.append(f)
        storeKeys.append(key)
        storeLastInput.append(-1)
        keyIndex[key] = s
        if key.rule >= 0, key.rule < ruleCount {
            if !filters[key.rule].keyed {
                unkeyedSlot[key.rule] = Int32(s)
            } else {
                let (raw, ascii) = Diagnoser.rawKey(key.values)
                if ascii {
                    let h = Diagnoser.hash(raw, rule: key.rule)
                    if raw.withUnsafeBufferPointer({ findFast(h, rule: key.rule, key: $0) }) == nil {
                        addFast(hash: h, rule: key.rule, key: raw, target: s)
                    }
                }
            }
        }
        return s
    }

    /// Keeps the first match of a key as bytes (see `Deferred`).
    private func deferMatch(_ i: Int, _ e: borrowing LogEvent, _ subject: UnsafeBufferPointer<UInt8>, quoted: Bool) {
        func keep(_ b: UnsafeBufferPointer<UInt8>) -> Range<Int> {
            let start = deferArena.count
            deferArena.append(contentsOf: b)
            return start..<deferArena.count
        }
        let key = keyBytes.withUnsafeBufferPointer { keep($0) }
        deferred.append(Deferred(rule: i, time: e.time, line: e.lineNumber, input: e.input, component: e.component,
                                 quoted: quoted, key: key, subject: keep(subject), payload: keep(e.payload),
                                 host: e.host.map(keep)))
        liveDeferred += 1
    }

    /// Turns deferred match `d` into its finding, as if it had been counted when it happened.
    private func promote(_ d: Int) -> Int {
        let m = deferred[d]
        deferred[d].alive = false
        liveDeferred -= 1
        let i = m.rule
        let pattern = ruleSet.patterns[i]
        let subject = Array(deferArena[m.subject])
        let host = m.host.map { Array(deferArena[$0]) }
        let text = String(decoding: deferArena[m.payload], as: UTF8.self)
        let s = subject.withUnsafeBufferPointer { sub in
            // The same bytes and pattern: the match, and so its groups, are the ones seen then.
            _ = pattern.matches(sub, scratch: scratch[i])
            if let host { return host.withUnsafeBufferPointer { slowSlot(i, sub, host: $0) } }
            return slowSlot(i, sub, host: nil)
        }
        count(into: s, filter: filters[i], time: m.time, component: m.component, input: m.input,
              evidence: store[s].evidence.count < evidenceLimit
                  ? Evidence(input: inputName(m.input), line: m.line, text: text, time: m.time, quoted: m.quoted) : nil)
        return s
    }

    /// Keeps memory bounded whatever the input size: when many findings and deferred matches are
    /// held, the ones whose threshold is not met and whose every windowed match is older than the
    /// rule's window before the newest match are dropped. A later match of such a key would find
    /// its window empty in any case; it starts a new finding, whose count and evidence begin with
    /// it. (Findings whose threshold is not met are in no report.)
    private func pruneIfNeeded() {
        guard store.count + liveDeferred >= pruneAt else { return }
        defer { pruneAt = max(Diagnoser.pruneFloor, (store.count + liveDeferred) * 2) }
        guard let latest = latestMatchTime else { return }
        func stale(_ newest: Timestamp, _ within: Int64) -> Bool {
            let (d, o) = latest.subtractingReportingOverflow(newest.nanos)
            return o || d > within
        }
        var keep: [Int] = []
        keep.reserveCapacity(store.count)
        for (s, f) in store.enumerated() {
            let filter = filters[f.ruleIndex]
            if filter.hasThreshold, !f.thresholdMet, let newest = f.window.max(), stale(newest, filter.thresholdWithin) {
                base.addBelowThreshold(f)
                continue
            }
            keep.append(s)
        }
        if keep.count < store.count {
            var w = 0
            for r in keep {
                if w != r {
                    store.swapAt(w, r)
                    storeKeys.swapAt(w, r)
                }
                w += 1
            }
            store.removeLast(store.count - w)
            storeKeys.removeLast(storeKeys.count - w)
            storeLastInput = [Int](repeating: -1, count: store.count)
            keyIndex = [:]
            for i in unkeyedSlot.indices { unkeyedSlot[i] = -1 }
            for (s, k) in storeKeys.enumerated() {
                keyIndex[k] = s
                if k.rule >= 0, k.rule < ruleCount, !filters[k.rule].keyed { unkeyedSlot[k.rule] = Int32(s) }
            }
        }
        // Deferred matches: the live, recent ones move to a new arena.
        var liveDeferredList: [Deferred] = []
        var arena: [UInt8] = []
        arena.reserveCapacity(deferArena.count / 2)
        for m in deferred where m.alive {
            if let t = m.time, stale(t, filters[m.rule].thresholdWithin) {
                countBelow(m, into: &belowDeferred)
                continue
            }
            func move(_ r: Range<Int>) -> Range<Int> {
                let start = arena.count
                arena.append(contentsOf: deferArena[r])
                return start..<arena.count
            }
            liveDeferredList.append(Deferred(rule: m.rule, time: m.time, line: m.line, input: m.input,
                                             component: m.component, quoted: m.quoted, key: move(m.key),
                                             subject: move(m.subject), payload: move(m.payload),
                                             host: m.host.map(move)))
        }
        deferred = liveDeferredList
        deferArena = arena
        liveDeferred = deferred.count
        // The raw-key table again, from what is left: deferred matches first, so a finding with the
        // same key (merged in meanwhile) is reached through the deferred match, which joins it.
        fastEntries = []
        fastTable = []
        keyArena = []
        deferArena.withUnsafeBufferPointer { arena in
            for (d, m) in deferred.enumerated() {
                let key = UnsafeBufferPointer(rebasing: arena[m.key])
                addFast(hash: Diagnoser.hash(key, rule: m.rule), rule: m.rule, key: key, target: -1 - d)
            }
        }
        for (s, k) in storeKeys.enumerated() where k.rule >= 0 && k.rule < ruleCount && filters[k.rule].keyed {
            let (raw, ascii) = Diagnoser.rawKey(k.values)
            guard ascii else { continue }
            let h = Diagnoser.hash(raw, rule: k.rule)
            if raw.withUnsafeBufferPointer({ findFast(h, rule: k.rule, key: $0) }) == nil {
                addFast(hash: h, rule: k.rule, key: raw, target: s)
            }
        }
    }

    /// Adds another diagnoser's results (parallel triage).
    public func merge(_ other: DiagnosisResults) {
        for (k, f) in other.findings {
            if let s = keyIndex[k] { store[s].merge(f, evidenceLimit: evidenceLimit) } else { _ = append(k, f) }
        }
        var rest = other
        rest.findings = [:]
        miner.merge(rest.unrecognised)
        rest.unrecognised = TemplateMiner()
        warningMiner.merge(rest.unrecognisedWarnings)
        rest.unrecognisedWarnings = TemplateMiner()
        base.merge(rest, evidenceLimit: evidenceLimit)
        for i in noiseSlot.indices { noiseSlot[i] = -1 }
        for (s, n) in base.noise.enumerated() where n.ruleIndex >= 0 && n.ruleIndex < ruleCount && noiseSlot[n.ruleIndex] < 0 {
            noiseSlot[n.ruleIndex] = Int32(s)
        }
    }
}

struct FindingKey: Hashable, Sendable {
    let rule: Int
    let values: [String]
    /// The node the finding was seen on, when it names no host (`Report.nodeScope`): triage keeps
    /// the same rule on two machines' logs as two findings. Empty within one diagnoser.
    var scope = ""
}

/// What a diagnoser has seen: findings, noise, versions and counts. Plain data, mergeable.
public struct DiagnosisResults: Sendable {
    var findings: [FindingKey: Finding] = [:]
    public var noise: [NoiseCount] = []
    public var inputs: [String] = []
    public var linesPerInput: [Int] = []
    /// Inputs whose lines carry no year and got a guessed one: their times may be off by whole
    /// years, so time windows between findings compare them by time of year.
    public var guessedYearInputs: Set<Int> = []
    public var lines = 0
    public var bytes = 0
    public var events = 0
    public var splitLines = 0
    public var noiseLines = 0
    public var severityCounts = [Int](repeating: 0, count: Severity.allCases.count)
    /// Versions stated in the logs, by component name.
    public var versions: [String: Version] = [:]
    /// Versions stated by lines whose component is unknown, by input.
    public var inputVersions: [Int: Version] = [:]
    /// Error-level events no rule explained, by template.
    public var unrecognised = TemplateMiner()
    /// Warning-level events no rule explained, by template.
    public var unrecognisedWarnings = TemplateMiner(capacity: 500)
    /// Matches of threshold rules dropped from memory before their threshold was met, per rule.
    var belowThreshold: [Int: Finding] = [:]
    /// Rules whose pattern ran out of its match budget on some line, per rule.
    public var patternLimits: [Int: PatternLimitHit] = [:]

    /// Every finding in a fixed order (rule, then key values): dictionary order changes from run
    /// to run, and reports must not.
    public var allFindings: [Finding] {
        findings.sorted { a, b in
            if a.key.rule != b.key.rule { return a.key.rule < b.key.rule }
            if a.key.values != b.key.values { return a.key.values.lexicographicallyPrecedes(b.key.values) }
            return a.key.scope < b.key.scope
        }.map(\.value)
    }

    /// Findings that never met their rule's threshold, including those pruned from memory.
    public var belowThresholdFindings: [Finding] {
        allFindings.filter { !$0.thresholdMet } + belowThreshold.keys.sorted().map { belowThreshold[$0]! }
    }

    mutating func addBelowThreshold(_ f: Finding) {
        if var old = belowThreshold[f.ruleIndex] {
            old.merge(f, evidenceLimit: 5)
            belowThreshold[f.ruleIndex] = old
        } else {
            belowThreshold[f.ruleIndex] = f
        }
    }

    mutating func merge(_ o: DiagnosisResults, evidenceLimit: Int) {
        for (k, f) in o.findings {
            if var mine = findings[k] { mine.merge(f, evidenceLimit: evidenceLimit); findings[k] = mine } else { findings[k] = f }
        }
        for n in o.noise {
            if let k = noise.firstIndex(where: { $0.ruleIndex == n.ruleIndex }) { noise[k].count += n.count } else { noise.append(n) }
        }
        lines += o.lines
        bytes += o.bytes
        events += o.events
        splitLines += o.splitLines
        noiseLines += o.noiseLines
        for i in severityCounts.indices { severityCounts[i] += o.severityCounts[i] }
        versions.merge(o.versions) { a, _ in a }
        inputVersions.merge(o.inputVersions) { a, _ in a }
        guessedYearInputs.formUnion(o.guessedYearInputs)
        for k in o.belowThreshold.keys.sorted() { addBelowThreshold(o.belowThreshold[k]!) }
        for k in o.patternLimits.keys.sorted() {
            if var mine = patternLimits[k] { mine.count += o.patternLimits[k]!.count; patternLimits[k] = mine } else {
                patternLimits[k] = o.patternLimits[k]
            }
        }
        unrecognised.merge(o.unrecognised, inputOffset: 0)
        unrecognisedWarnings.merge(o.unrecognisedWarnings, inputOffset: 0)
    }
}

/// Finds a structured field's raw value in a message: klog/logrus `key=value` or `key="..."`,
/// JSON `"key":"..."`.
public enum FieldLookup {
    public static func value(_ name: String, in m: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8>? {
        value(needles(name), in: m)
    }

    /// The needles for `name`: JSON `"name":` and `name=`, made once per rule.
    static func needles(_ name: String) -> (json: [UInt8], kv: [UInt8]) {
        let n = Array(name.utf8)
        return ([0x22] + n + [0x22, 0x3A], n + [0x3D])
    }

    static func value(_ needles: (json: [UInt8], kv: [UInt8]), in m: UnsafeBufferPointer<UInt8>)
        -> UnsafeBufferPointer<UInt8>? {
        var result: UnsafeBufferPointer<UInt8>?
        // JSON first: "name":
        needles.json.withUnsafeBufferPointer { needle in
            if let at = ByteScan.find(needle, in: m) {
                var i = JSONScanner.skipWhite(m, at + needle.count)
                if i < m.count, m[i] == 0x22, let end = JSONScanner.stringEnd(m, i + 1) {
                    result = ByteScan.slice(m, i + 1, end)
                } else {
                    let start = i
                    while i < m.count, m[i] != 0x2C, m[i] != 0x7D { i += 1 }
                    result = ByteScan.slice(m, start, i)
                }
            }
        }
        if result != nil { return result }
        // key=value: the key must start the message or follow a space.
        needles.kv.withUnsafeBufferPointer { needle in
            var from = 0
            while let at = ByteScan.find(needle, in: m, from: from) {
                if at == 0 || m[at - 1] == 0x20 {
                    let start = at + needle.count
                    if start < m.count, m[start] == 0x22, let end = JSONScanner.stringEnd(m, start + 1) {
                        result = ByteScan.slice(m, start + 1, end)
                    } else {
                        var i = start
                        while i < m.count, m[i] != 0x20 { i += 1 }
                        result = ByteScan.slice(m, start, i)
                    }
                    return
                }
                from = at + 1
            }
        }
        return result
    }
}

extension Diagnoser {
    /// Whether rule `i` matches `e` or its quoted inner event, ignoring the prefilter, with the
    /// captures and whether one of the rule's literals occurs in the matched text. For rule checks.
    public func probe(rule i: Int, _ e: borrowing LogEvent) -> (captures: [String: String], literalSeen: Bool)? {
        if let r = probeOne(i, e) { return r }
        if let inner = e.innerEvent, let r = probeOne(i, inner.pointee) { return r }
        return nil
    }

    private func probeOne(_ i: Int, _ e: borrowing LogEvent) -> (captures: [String: String], literalSeen: Bool)? {
        let rule = ruleSet.rules[i]
        if let c = e.component, !ruleSet.componentIDs[i].isEmpty, !ruleSet.componentIDs[i].contains(c.id) { return nil }
        if !rule.severities.isEmpty, !rule.severities.contains(e.severity) { return nil }
        if !rule.formats.isEmpty, !rule.formats.contains(e.format) { return nil }
        var subject = e.message
        if let field = rule.field {
            let payload = e.payload
            guard let v = FieldLookup.value(field, in: e.message) ?? FieldLookup.value(field, in: payload) else { return nil }
            subject = v
        }
        let pattern = ruleSet.patterns[i]
        let scratch = self.scratch[i]
        guard pattern.matches(subject, scratch: scratch) else { return nil }
        var seenLiteral = false
        (rule.generic ? ruleSet.genericPrefilter : ruleSet.prefilter).scan(e.message) { tag in if tag == i { seenLiteral = true } }
        return (pattern.captures(in: subject, scratch: scratch), seenLiteral)
    }
}

/// A rule's pattern that ran out of its match budget (docs/security.md): the first line where it
/// did, and how often.
public struct PatternLimitHit: Sendable {
    public let ruleIndex: Int
    public var count: Int
    public let reason: String
    public let input: String
    public let line: Int
}
