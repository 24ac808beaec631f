import Glibc

/// A length of time written the way people write it: `90s`, `30m`, `24h`,
/// `7d`, `2w`, or a plain number of seconds.
///
/// Used by the retention settings (`keepCompletedFor`, …) and `stats --since`.
public enum TimeSpan {
    static let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400]

    /// Seconds in `text` (`"7d"`, `"36h"`, `"1.5h"`, `"600"`), or nil when it is not a length of time.
    public static func seconds(_ text: String) -> Double? {
        guard let last = text.last, !text.isEmpty else { return nil }
        var number = Substring(text), scale = 1.0
        if let u = units[last] { number = number.dropLast(); scale = u }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let v = Double(number), v.isFinite, v >= 0 else { return nil }
        return v * scale
    }

    /// Seconds in a settings value: a number of seconds or a string such as `"7d"`.
    public static func seconds(_ v: JSONValue) -> Double? {
        if let s = v.stringValue { return seconds(s) }
        if let d = v.doubleValue, d.isFinite, d >= 0 { return d }
        return nil
    }

    /// `7d`, `36h`, `90m`, `45s`: the largest whole unit (weeks are shown as days).
    public static func describe(_ seconds: Double) -> String {
        for (u, s) in [("d", 86400.0), ("h", 3600), ("m", 60)] where seconds >= s && (seconds / s).rounded() == seconds / s {
            return "\(Int(seconds / s))\(u)"
        }
        return seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
    }

    /// A point in time from `--since`: an ISO 8601 date or date-time (UTC unless
    /// it ends in `Z` or `±HH:MM`), or a length of time before `now`.
    public static func since(_ text: String, now: Double) -> Double? {
        if let s = seconds(text) { return now - s }
        return parseDateTime(text)
    }

    /// `2026-11-22`, `2026-11-22T10:00`, `2026-11-22T10:00:30.5Z`, `2026-11-22 10:00+01:00`.
    public static func parseDateTime(_ text: String) -> Double? {
        let u = Array(text.utf8)
        func num(_ a: Int, _ n: Int) -> Int32? {
            guard a + n <= u.count else { return nil }
            var v: Int32 = 0
            for i in a..<(a + n) { guard u[i] >= 48, u[i] <= 57 else { return nil }; v = v * 10 + Int32(u[i] - 48) }
            return v
        }
        guard u.count >= 10, u[4] == 45, u[7] == 45, let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2),
              (1...12).contains(mo), (1...31).contains(d) else { return nil }
        var h: Int32 = 0, mi: Int32 = 0, se: Int32 = 0, frac = 0.0, offset = 0.0
        var i = 10
        if i < u.count {
            guard u[i] == UInt8(ascii: "T") || u[i] == UInt8(ascii: " "), let hh = num(i + 1, 2), u.count > i + 3,
                  u[i + 3] == 58, let mm = num(i + 4, 2), hh < 24, mm < 60 else { return nil }
            h = hh; mi = mm; i += 6
            if i < u.count, u[i] == 58 {
                guard let ss = num(i + 1, 2), ss < 61 else { return nil }
                se = ss; i += 3
                if i < u.count, u[i] == UInt8(ascii: ".") {
                    var j = i + 1, scale = 0.1
                    while j < u.count, u[j] >= 48, u[j] <= 57 { frac += Double(u[j] - 48) * scale; scale /= 10; j += 1 }
                    guard j > i + 1 else { return nil }
                    i = j
                }
            }
            if i < u.count {
                if u[i] == UInt8(ascii: "Z") {
                    i += 1
                } else if u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"), let oh = num(i + 1, 2), u.count > i + 3,
                          u[i + 3] == 58, let om = num(i + 4, 2) {
                    offset = Double(oh * 3600 + om * 60) * (u[i] == UInt8(ascii: "+") ? 1 : -1)
                    i += 6
                } else {
                    return nil
                }
            }
            guard i == u.count else { return nil }
        }
        var tmv = tm()
        tmv.tm_year = y - 1900; tmv.tm_mon = mo - 1; tmv.tm_mday = d
        tmv.tm_hour = h; tmv.tm_min = mi; tmv.tm_sec = se
        return Double(timegm(&tmv)) + frac - offset
    }
}
