import Glibc

/// Wall-clock and monotonic time without Foundation.
public enum Clock {
    /// Seconds since the epoch (wall clock; for records, never for scheduling).
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Seconds on the monotonic clock (for intervals and deadlines).
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `2026-11-22T15:30:12.123Z`
    public static func iso8601(_ t: Double) -> String {
        var secs = time_t(t.rounded(.down))
        var ms = Int(((t - Double(secs)) * 1000).rounded())
        if ms >= 1000 { secs += 1; ms -= 1000 }
        var tmv = tm()
        gmtime_r(&secs, &tmv)
        func p(_ v: Int32, _ w: Int) -> String { let s = String(v); return String(repeating: "0", count: max(0, w - s.count)) + s }
        return "\(p(tmv.tm_year + 1900, 4))-\(p(tmv.tm_mon + 1, 2))-\(p(tmv.tm_mday, 2))T\(p(tmv.tm_hour, 2)):\(p(tmv.tm_min, 2)):\(p(tmv.tm_sec, 2)).\(p(Int32(ms), 3))Z"
    }

    /// Parses what `iso8601` writes (UTC only); nil otherwise.
    public static func parseISO8601(_ s: String) -> Double? {
        let u = Array(s.utf8)
        guard u.count >= 20, u.last == UInt8(ascii: "Z") else { return nil }
        func num(_ a: Int, _ n: Int) -> Int32? {
            var v: Int32 = 0
            for i in a..<(a + n) { guard u[i] >= 48, u[i] <= 57 else { return nil }; v = v * 10 + Int32(u[i] - 48) }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let se = num(17, 2) else { return nil }
        var tmv = tm()
        tmv.tm_year = y - 1900; tmv.tm_mon = mo - 1; tmv.tm_mday = d
        tmv.tm_hour = h; tmv.tm_min = mi; tmv.tm_sec = se
        var frac = 0.0
        if u.count > 21, u[19] == UInt8(ascii: "."), let f = num(20, u.count - 21) {
            frac = Double(f) / pow(10, Double(u.count - 21))
        }
        return Double(timegm(&tmv)) + frac
    }
}
