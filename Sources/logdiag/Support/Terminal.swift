import Glibc

enum Terminal {
    static func isTTY(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Colour on stdout: `--color always|never`, else NO_COLOR, else only on a terminal that is not dumb.
    static func useColor(_ mode: ColorMode) -> Bool {
        switch mode {
        case .always: return true
        case .never: return false
        case .auto:
            if getenv("NO_COLOR").map({ String(cString: $0) })?.isEmpty == false { return false }
            if let term = getenv("TERM"), String(cString: term) == "dumb" { return false }
            return isTTY(1)
        }
    }

    static var width: Int {
        var ws = winsize()
        if isTTY(1), ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { return Int(ws.ws_col) }
        if let c = getenv("COLUMNS"), let n = Int(String(cString: c)), n > 0 { return n }
        return 100
    }
}
