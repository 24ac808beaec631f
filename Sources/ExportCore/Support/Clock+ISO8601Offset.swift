import Glibc

extension Clock {
    /// Parses an ISO 8601 date and time as people write them:
    /// `YYYY-MM-DDTHH:MM[:SS[.fraction]]` followed by `Z` or an offset
    /// `±HH:MM` (or `±HHMM`); a space may stand for the `T`. A time without a
    /// zone is refused, since it would mean a different instant on each machine.
    public static func parseISO8601WithOffset(_ text: String) -> Double? {
        let u = Array(text.utf8)
        var i = 0
        func digits(_ n: Int) -> Int32? {
            guard i + n <= u.count else { return nil }
            var v: Int32 = 0
            for k in i..<(i + n) {
                guard u[k] >= 48, u[k] <= 57 else { return nil }
                v = v * 10 + Int32(u[k] - 48)
            }
            i += n
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < u.count, u[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect("-"), let mo = digits(2), expect("-"), let d = digits(2) else { return nil }
        guard i < u.count, u[i] == UInt8(ascii: "T") || u[i] == UInt8(ascii: "t") || u[i] == UInt8(ascii: " ") else { return nil }
        i += 1
        guard let h = digits(2), expect(":"), let mi = digits(2) else { return nil }
        var se: Int32 = 0
        var frac = 0.0
        if expect(":") {
            guard let s = digits(2) else { return nil }
            se = s
            if expect(".") || expect(",") {
                var scale = 0.1
                let start = i
                while i < u.count, u[i] >= 48, u[i] <= 57 { frac += Double(u[i] - 48) * scale; scale /= 10; i += 1 }
                if i == start { return nil }
            }
        }
        guard (1...12).contains(mo), (1...31).contains(d), h <= 23, mi <= 59, se <= 60 else { return nil }
        var offset: Int32 = 0
        guard i < u.count else { return nil }
        if u[i] == UInt8(ascii: "Z") || u[i] == UInt8(ascii: "z") {
            i += 1
        } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-") {
            let sign: Int32 = u[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = digits(2) else { return nil }
            _ = expect(":")
            guard let om = digits(2), oh <= 23, om <= 59 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == u.count else { return nil }
        var tmv = tm()
        tmv.tm_year = y - 1900; tmv.tm_mon = mo - 1; tmv.tm_mday = d
        tmv.tm_hour = h; tmv.tm_min = mi; tmv.tm_sec = se
        let t = timegm(&tmv)
        // timegm normalises 31 February into March: refuse dates that moved.
        guard tmv.tm_mday == d, tmv.tm_mon == mo - 1 else { return nil }
        return Double(t) - Double(offset) + frac
    }
}
