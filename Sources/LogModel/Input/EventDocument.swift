import Foundation
import Yams

/// `kubectl get events -o json` / `-o yaml` (a List of Events, one Event, or a sequence of them;
/// core/v1 and events.k8s.io/v1 fields) turned into one row per event in the shape
/// `KubeEventFormat` reads: `LAST-TIME  TYPE  REASON  KIND/NAME  (xCOUNT over SPAN)  MESSAGE`.
/// Each row remembers the document line of its event's message, so evidence points into the file
/// as it is. Anything that does not parse as such a document is read as lines, as before.
public enum EventDocument {
    /// Documents above this are read as lines: a bound on what the YAML parser holds.
    public static let maxBytes = 16 << 20

    public struct Converted {
        public var text: [UInt8]
        /// `lineMap[i]` is the document line the `i+1`-th made row stands for.
        public var lineMap: [Int]
        public var events: Int
    }

    /// True when the start of an input looks like a serialized event list.
    public static func looksLikeEvents(_ head: UnsafeBufferPointer<UInt8>) -> Bool {
        let i = ByteScan.skipSpaces(head, 0)
        var j = i
        while j < head.count, head[j] == 0x0A || head[j] == 0x0D || head[j] == 0x20 { j += 1 }
        guard j < head.count else { return false }
        let window = ByteScan.slice(head, j, min(head.count, j + (64 << 10)))
        if head[j] == 0x7B || head[j] == 0x5B {  // { [
            return ByteScan.find(#""kind": "Event""#, in: window) != nil || ByteScan.find(#""kind":"Event""#, in: window) != nil
        }
        let yamlStart = ByteScan.hasPrefix("apiVersion:", window) || ByteScan.hasPrefix("items:", window)
            || ByteScan.hasPrefix("- apiVersion:", window) || ByteScan.hasPrefix("kind:", window)
            || ByteScan.hasPrefix("---", window)
        return yamlStart && (ByteScan.find("kind: Event\n", in: window) != nil || ByteScan.find("kind: Event\r\n", in: window) != nil)
    }

    /// The rows of a document, or nil when it is not an event list logdiag can read.
    public static func convert(_ bytes: [UInt8]) -> Converted? {
        guard bytes.count <= maxBytes else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        // Anchors and aliases are refused like in rule files: kubectl never writes them, and a
        // few hundred bytes of them expand without bound.
        guard RuleLoader.anchorLine(text) == nil, !RuleLoader.nestsDeeperThan(256, bytes),
              let root = try? Yams.compose(yaml: text, Resolver.basic) else { return nil }
        var items: [Node] = []
        switch root {
        case .mapping(let m):
            if case .sequence(let s)? = m["items"] { items = Array(s) } else { items = [root] }
        case .sequence(let s):
            items = Array(s)
        default:
            return nil
        }
        var out: [UInt8] = []
        var map: [Int] = []
        for item in items {
            guard case .mapping(let m) = item, m["kind"]?.string ?? "Event" == "Event",
                  let reason = m["reason"]?.string, !reason.isEmpty else { continue }
            let message = m["message"]?.string ?? m["note"]?.string ?? ""
            let type = m["type"]?.string == "Warning" ? "Warning" : "Normal"
            let object = m["involvedObject"] ?? m["regarding"]
            var kind = "event", name = "-"
            if case .mapping(let o)? = object {
                kind = (o["kind"]?.string ?? kind).lowercased()
                name = o["name"]?.string ?? name
            }
            let count: Int = {
                if let c = m["count"]?.string.flatMap({ Int($0) }) { return c }
                if case .mapping(let series)? = m["series"], let c = series["count"]?.string.flatMap({ Int($0) }) { return c }
                return m["deprecatedCount"]?.string.flatMap { Int($0) } ?? 1
            }()
            let first = stamp(m["firstTimestamp"]) ?? stamp(m["deprecatedFirstTimestamp"])
            let last = stamp(m["lastTimestamp"]) ?? stamp(m["deprecatedLastTimestamp"]) ?? stamp(m["eventTime"]) ?? first
            var row = ""
            if let last { row += last + " " }
            row += "\(type)  \(clean(reason))  \(clean(kind))/\(clean(name))  "
            if count > 1 {
                let span = first.flatMap { f in last.flatMap { l in age(from: f, to: l) } }
                row += span.map { "(x\(count) over \($0))  " } ?? "(x\(count))  "
            }
            row += clean(message).isEmpty ? "-" : clean(message)
            out += Array(row.utf8)
            out.append(0x0A)
            map.append((m["message"] ?? m["note"] ?? item).mark?.line ?? 1)
        }
        guard !map.isEmpty else { return nil }
        return Converted(text: out, lineMap: map, events: map.count)
    }

    /// One row per event: line breaks and control bytes in a value become spaces.
    private static func clean(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
            .trimmingCharacters(in: .whitespaces)
    }

    /// An RFC 3339 time as the docker-ts envelope reads it (`2021-07-23T07:30:08Z`).
    private static func stamp(_ n: Node?) -> String? {
        guard let s = n?.string, s.count >= 20, s.count <= 40, s.utf8.first.map({ ByteScan.isDigit($0) }) == true,
              s.contains("T") else { return nil }
        return s
    }

    /// `3m10s` between two RFC 3339 times, as kubectl prints ages.
    private static func age(from a: String, to b: String) -> String? {
        func secs(_ s: String) -> Int64? {
            var t = s
            return t.withUTF8 { u in ByteScan.rfc3339(u, 0).map { $0.0.nanos / 1_000_000_000 } }
        }
        guard let x = secs(a), let y = secs(b), y >= x else { return nil }
        var d = y - x
        if d == 0 { return "0s" }
        var out = ""
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where d >= size {
            out += "\(d / size)\(unit)"
            d %= size
        }
        return out
    }
}

private extension Node {
    subscript(_ key: String) -> Node? {
        guard case .mapping(let m) = self else { return nil }
        return m[Node(key)]
    }
}
