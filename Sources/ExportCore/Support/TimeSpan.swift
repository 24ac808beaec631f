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

    /// `2026-11-22`, `2026-11-22T10:00`, `2026-11-22T10:00:30.5Z`, `2026-11-22 10:00+01:00`:
    /// `Clock.parseISO8601WithOffset`, but a date alone means its midnight and a
    /// time without a zone means UTC (as `stats` prints its times).
    public static func parseDateTime(_ text: String) -> Double? {
        if text.utf8.count == 10 { return Clock.parseISO8601WithOffset(text + "T00:00Z") }
        return Clock.parseISO8601WithOffset(text) ?? Clock.parseISO8601WithOffset(text + "Z")
    }
}
