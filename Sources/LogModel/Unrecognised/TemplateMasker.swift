/// Turns a message into its template: the words kept, the variable parts (numbers, addresses, ids,
/// durations, names with digits, the variable segments of paths) replaced by typed masks such as
/// `<ip>:<port>` or `<num>`. Two lines of the same kind of failure give the same template.
///
/// Runs on bytes into a buffer the caller keeps; only error-level events that no rule explained
/// come here, so it is off the per-line path but still allocation-free in the steady state.
public struct TemplateMasker: Sendable {
    public enum Mask: String, Sendable, CaseIterable {
        case ip, port, num, hex, uuid, duration, name, any
        /// What `rules new` puts in the pattern for this mask.
        public var regex: String {
            switch self {
            case .ip: #"[0-9A-Fa-f.:\[\]]+"#
            case .port: #"\d+"#
            case .num: #"-?\d+(?:\.\d+)?"#
            case .hex: #"[0-9a-fA-F]+"#
            case .uuid: #"[0-9a-fA-F-]{36}"#
            case .duration: #"[0-9.]+[a-zµ]+(?:[0-9.]+[a-zµ]+)*"#
            case .name, .any: #"\S+?"#
            }
        }
    }

    /// One masked part of the message: its kind and where it was.
    public struct MaskedPart: Sendable, Equatable {
        public let mask: Mask
        public let range: Range<Int>
    }

    /// Templates are cut here: two messages that agree this far are the same kind of failure.
    public static let maxTemplateBytes = 240

    public init() {}

    /// Masks the first line of `message` into `out` (cleared first). When `parts` is given, the
    /// masked parts are appended to it with their offsets in `message`.
    /// Returns how many bytes of `message` the template covers.
    @discardableResult
    public func mask(_ message: UnsafeBufferPointer<UInt8>, into out: inout [UInt8], parts: UnsafeMutablePointer<[MaskedPart]>? = nil) -> Int {
        out.removeAll(keepingCapacity: true)
        var n = message.count
        if let nl = ByteScan.index(of: 0x0A, in: message) { n = nl }
        var i = 0
        while i < n, out.count < TemplateMasker.maxTemplateBytes {
            let b = message[i]
            if TemplateMasker.isDelimiter(b), !(b == 0x5B && TemplateMasker.bracketedAddressEnd(message, i, n) != nil) {
                // Collapse runs of spaces so alignment padding does not split templates.
                if !(b == 0x20 && out.last == 0x20) { out.append(b) }
                i += 1
                continue
            }
            var end = i
            if b == 0x5B, let close = TemplateMasker.bracketedAddressEnd(message, i, n) {
                end = close  // `[fd00::1]:53` is one address, not brackets around words
            } else {
                while end < n, !TemplateMasker.isDelimiter(message[end]) { end += 1 }
                // A URL runs to the next space or quote, `?a=b&c=d` included.
                if end - i > 3, ByteScan.find("://", in: ByteScan.slice(message, i, end)) != nil {
                    while end < n, ![0x20, 0x09, 0x22, 0x27, 0x60, 0x3E, 0x5C].contains(message[end]) { end += 1 }
                }
            }
            token(message, i, end, into: &out, parts: parts)
            i = end
        }
        while out.last == 0x20 { out.removeLast() }
        if out.count > TemplateMasker.maxTemplateBytes { out.removeLast(out.count - TemplateMasker.maxTemplateBytes) }
        return i
    }

    /// The template of `text` as a string (tests, `rules new`).
    public func template(of text: String) -> String {
        var out: [UInt8] = []
        var t = text
        _ = t.withUTF8 { mask($0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The end of `[ipv6]` or `[ipv6]:port` starting at `i`, or nil when the brackets hold something else.
    static func bracketedAddressEnd(_ m: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int? {
        var j = i + 1
        var colons = 0
        while j < n, j - i < 48, isHex(m[j]) || m[j] == 0x3A || m[j] == 0x2E {
            if m[j] == 0x3A { colons += 1 }
            j += 1
        }
        guard colons >= 2, j < n, m[j] == 0x5D else { return nil }
        j += 1
        if j + 1 < n, m[j] == 0x3A, ByteScan.isDigit(m[j + 1]) {
            j += 1
            while j < n, ByteScan.isDigit(m[j]) { j += 1 }
        }
        return j
    }

    static func isDelimiter(_ b: UInt8) -> Bool {
        switch b {
        case 0x20, 0x09, 0x22, 0x27, 0x3D, 0x2C, 0x28, 0x29, 0x5B, 0x5D, 0x7B, 0x7D, 0x3B, 0x3C, 0x3E, 0x5C, 0x60:
            true  // space tab " ' = , ( ) [ ] { } ; < > \ `
        default: false
        }
    }

    private func append(_ s: StaticString, _ out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    private func emit(_ m: Mask, _ r: Range<Int>, _ out: inout [UInt8], _ parts: UnsafeMutablePointer<[MaskedPart]>?) {
        switch m {
        case .ip: append("<ip>", &out)
        case .port: append("<port>", &out)
        case .num: append("<num>", &out)
        case .hex: append("<hex>", &out)
        case .uuid: append("<uuid>", &out)
        case .duration: append("<duration>", &out)
        case .name: append("<name>", &out)
        case .any: append("<*>", &out)
        }
        parts?.pointee.append(MaskedPart(mask: m, range: r))
    }

    /// One token (a run between delimiters), masked where it varies.
    private func token(_ m: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into out: inout [UInt8],
                       parts: UnsafeMutablePointer<[MaskedPart]>?) {
        // Keep punctuation that ends a word in a sentence: `10.0.0.1:6443:` masks to `<ip>:<port>:`.
        var stop = end
        while stop > start, m[stop - 1] == 0x3A || m[stop - 1] == 0x2E || m[stop - 1] == 0x21 { stop -= 1 }
        var s = start
        // `*v1.Pod`, `&{...}`: the sigil stays.
        while s < stop, m[s] == 0x2A || m[s] == 0x26 || m[s] == 0x2B || m[s] == 0x23 { out.append(m[s]); s += 1 }
        defer { for k in stop..<end { out.append(m[k]) } }
        guard s < stop else { return }
        let word = ByteScan.slice(m, s, stop)
        if word[0] == 0x2F {  // a path: keep its fixed segments
            path(m, s, stop, into: &out, parts: parts)
            return
        }
        if let scheme = ByteScan.find("://", in: word) {
            for k in s..<(s + scheme + 3) { out.append(m[k]) }
            let rest = s + scheme + 3
            if rest < stop { emit(.any, rest..<stop, &out, parts) }
            return
        }
        var hasDigit = false
        for b in word where ByteScan.isDigit(b) { hasDigit = true; break }
        if !hasDigit {
            if word.count >= 24, TemplateMasker.allHex(word) { emit(.hex, s..<stop, &out, parts) } else { out.append(contentsOf: word) }
            return
        }
        if TemplateMasker.isKeptWord(word) || TemplateMasker.isDottedName(word) {
            out.append(contentsOf: word)
            return
        }
        if let (ipEnd, port) = TemplateMasker.address(word) {
            emit(.ip, s..<(s + ipEnd), &out, parts)
            if let port {
                out.append(0x3A)
                emit(.port, (s + port)..<stop, &out, parts)
            }
            return
        }
        if TemplateMasker.isUUID(word) { emit(.uuid, s..<stop, &out, parts); return }
        if TemplateMasker.isNumber(word) { emit(.num, s..<stop, &out, parts); return }
        if TemplateMasker.isDuration(word) { emit(.duration, s..<stop, &out, parts); return }
        if word.count >= 8, TemplateMasker.allHex(word) { emit(.hex, s..<stop, &out, parts); return }
        // host:port where the host has no digits (`rancher.example.com:443`).
        if let colon = ByteScan.lastIndex(of: 0x3A, in: word, before: word.count), colon > 0, colon + 1 < word.count,
           TemplateMasker.isNumber(ByteScan.slice(word, colon + 1, word.count)),
           !ByteScan.slice(word, 0, colon).contains(where: ByteScan.isDigit) {
            out.append(contentsOf: ByteScan.slice(word, 0, colon + 1))
            emit(.port, (s + colon + 1)..<stop, &out, parts)
            return
        }
        emit(TemplateMasker.looksLikeName(word) ? .name : .any, s..<stop, &out, parts)
    }

    /// A path: segments with digits or long hex ids are masked, the others kept (`/var/lib/kubelet/pods/<uuid>/volumes`).
    private func path(_ m: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into out: inout [UInt8],
                      parts: UnsafeMutablePointer<[MaskedPart]>?) {
        var i = start
        while i < end {
            if m[i] == 0x2F { out.append(0x2F); i += 1; continue }
            var j = i
            while j < end, m[j] != 0x2F { j += 1 }
            let seg = ByteScan.slice(m, i, j)
            if TemplateMasker.isUUID(seg) {
                emit(.uuid, i..<j, &out, parts)
            } else if seg.contains(where: ByteScan.isDigit), !TemplateMasker.isKeptWord(seg) {
                // Keep a file's extension: `<*>.log`.
                if let dot = ByteScan.lastIndex(of: 0x2E, in: seg, before: seg.count), dot > 0,
                   !ByteScan.slice(seg, dot, seg.count).contains(where: ByteScan.isDigit) {
                    emit(.any, i..<(i + dot), &out, parts)
                    out.append(contentsOf: ByteScan.slice(seg, dot, seg.count))
                } else {
                    emit(.any, i..<j, &out, parts)
                }
            } else {
                out.append(contentsOf: seg)
            }
            i = j
        }
    }

    // MARK: token classes

    /// Words with digits that are vocabulary, not values: x509, ipv4, tcp6, k8s, sha256, v1, v1beta1, *v1.Pod, ...
    static func isKeptWord(_ w: UnsafeBufferPointer<UInt8>) -> Bool {
        let lower = w.map { $0 | 0x20 }
        let s = String(decoding: lower, as: UTF8.self)
        if ["x509", "ipv4", "ipv6", "tcp4", "tcp6", "udp4", "udp6", "k8s", "k3s", "rke2", "sha256", "sha1", "md5", "http2",
            "utf8", "utf-8", "base64", "int32", "int64", "uint32", "uint64", "float64", "ec2", "s3", "oom", "cgroup2",
            "cgroupv2", "cgroupv1", "cgroup1", "e2e", "iptables-nft", "nf_conntrack", "etcd3", "ip6tables", "http/1.1",
            "http/2", "h2", "k8s.io", "p2p", "v1", "v2", "v3", "v1alpha1", "v1alpha2", "v1beta1", "v1beta2", "v1beta3", "crd"]
            .contains(s) {
            return true
        }
        // API versions with a kind: v1.Pod, v1beta1.Event, apps/v1.
        if lower.first == 0x76, lower.count >= 2, ByteScan.isDigit(lower[1]) {
            var k = 1
            while k < lower.count, ByteScan.isDigit(lower[k]) { k += 1 }
            let rest = String(decoding: lower[k...], as: UTF8.self)
            if rest.isEmpty { return w.count <= 3 }
            for tag in ["alpha", "beta"] where rest.hasPrefix(tag) {
                let after = rest.dropFirst(tag.count).drop { $0.isNumber }
                return after.isEmpty || after.hasPrefix(".")
            }
            return rest.hasPrefix(".") && rest.dropFirst().allSatisfy { $0.isLetter }
        }
        return false
    }

    /// A dotted identifier whose only digits are in vocabulary segments: `io.containerd.grpc.v1.cri`,
    /// `k8s.io`, `apps.v1.Deployment`.
    static func isDottedName(_ w: UnsafeBufferPointer<UInt8>) -> Bool {
        guard w.contains(0x2E) else { return false }
        for seg in w.split(separator: 0x2E, omittingEmptySubsequences: false) {
            guard !seg.isEmpty else { return false }
            if seg.contains(where: ByteScan.isDigit) {
                let ok = isKeptWord(UnsafeBufferPointer(rebasing: seg))
                if !ok { return false }
            } else if !seg.allSatisfy({ ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }) {
                return false
            }
        }
        return true
    }

    static func isHex(_ b: UInt8) -> Bool { ByteScan.isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66) }

    static func allHex(_ w: UnsafeBufferPointer<UInt8>) -> Bool { w.allSatisfy(isHex) }

    static func isNumber(_ w: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        if i < w.count, w[i] == 0x2D || w[i] == 0x2B { i += 1 }
        guard i < w.count else { return false }
        var digits = 0, dots = 0
        while i < w.count {
            if ByteScan.isDigit(w[i]) { digits += 1 } else if w[i] == 0x2E { dots += 1 } else if w[i] == 0x25, i == w.count - 1 {
                // 95%
            } else if w[i] | 0x20 == 0x78, i == 1, w[0] == 0x30 {
                // 0x00004000
                return allHex(ByteScan.slice(w, 2, w.count)) && w.count > 2
            } else {
                return false
            }
            i += 1
        }
        return digits > 0 && dots <= 1
    }

    /// 1.5s, 300ms, 2m0s, 10µs.
    static func isDuration(_ w: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        var groups = 0
        while i < w.count {
            let ds = i
            while i < w.count, ByteScan.isDigit(w[i]) || w[i] == 0x2E { i += 1 }
            guard i > ds else { return false }
            let us = i
            while i < w.count, (w[i] | 0x20 >= 0x61 && w[i] | 0x20 <= 0x7A) || w[i] >= 0xC2 { i += 1 }
            let unit = String(decoding: w[us..<i], as: UTF8.self)
            guard ["ns", "us", "µs", "ms", "s", "m", "h", "d"].contains(unit) else { return false }
            groups += 1
        }
        return groups > 0
    }

    static func isUUID(_ w: UnsafeBufferPointer<UInt8>) -> Bool {
        guard w.count == 36 else { return false }
        for (k, b) in w.enumerated() {
            if k == 8 || k == 13 || k == 18 || k == 23 {
                if b != 0x2D { return false }
            } else if !isHex(b) {
                return false
            }
        }
        return true
    }

    /// An IPv4 or IPv6 address, optionally with a port: (end of the address, start of the port).
    static func address(_ w: UnsafeBufferPointer<UInt8>) -> (Int, Int?)? {
        // [::1]:6443
        if w.first == 0x5B, let close = w.firstIndex(of: 0x5D) {
            if close + 2 < w.count, w[close + 1] == 0x3A, isNumber(ByteScan.slice(w, close + 2, w.count)) { return (close + 1, close + 2) }
            return close == w.count - 1 ? (w.count, nil) : nil
        }
        // a.b.c.d or a.b.c.d:port or a.b.c.d/len
        var i = 0, dots = 0, groupDigits = 0
        while i < w.count, ByteScan.isDigit(w[i]) || w[i] == 0x2E {
            if w[i] == 0x2E {
                if groupDigits == 0 { return nil }
                dots += 1; groupDigits = 0
            } else {
                groupDigits += 1
                if groupDigits > 3 { return nil }
            }
            i += 1
        }
        if dots == 3, groupDigits > 0 {
            if i == w.count { return (i, nil) }
            if w[i] == 0x3A, i + 1 < w.count, isNumber(ByteScan.slice(w, i + 1, w.count)) { return (i, i + 1) }
            if w[i] == 0x2F, i + 1 < w.count, isNumber(ByteScan.slice(w, i + 1, w.count)) { return (w.count, nil) }
            return nil
        }
        // IPv6: hex groups and at least two colons, nothing else (fd00::1, 2001:db8::5).
        var colons = 0
        var hexOnly = true
        for b in w {
            if b == 0x3A { colons += 1 } else if !isHex(b) && b != 0x2E { hexOnly = false; break }
        }
        if hexOnly, colons >= 2, w.count >= 3 { return (w.count, nil) }
        return nil
    }

    /// A name with digits in it: letters, digits, dashes, dots, underscores (pod, node, container names).
    static func looksLikeName(_ w: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = w.first, (first | 0x20 >= 0x61 && first | 0x20 <= 0x7A) else { return false }
        return w.allSatisfy { b in
            ByteScan.isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F
        }
    }
}
