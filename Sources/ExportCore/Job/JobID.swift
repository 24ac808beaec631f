import CSpoolSys
import Glibc

/// A job's identity: 13 hex digits of microseconds since the epoch, a dash,
/// and 6 random hex digits, e.g. `65f1c2a8b3e41-9c03fa`.
///
/// Ids sort by submit time as plain strings, so the queue is FIFO by name.
public struct JobID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init?(_ text: String) {
        guard JobID.isValid(text) else { return nil }
        rawValue = text
    }

    private init(unchecked: String) { rawValue = unchecked }

    /// The id of these digits (`Packed.id`).
    init(micros: UInt64, random: UInt32) {
        rawValue = JobID.hex(micros, 13) + "-" + JobID.hex(UInt64(random), 6)
    }

    public var description: String { rawValue }
    public static func < (a: JobID, b: JobID) -> Bool { a.rawValue < b.rawValue }

    /// Strict pattern: anything else in a spool directory is ignored.
    public static func isValid<S: StringProtocol>(_ s: S) -> Bool {
        let u = Array(s.utf8)
        guard u.count == 20, u[13] == UInt8(ascii: "-") else { return false }
        for (i, c) in u.enumerated() where i != 13 {
            let hex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)
            if !hex { return false }
        }
        return true
    }

    /// Seconds since the epoch at which the id was made.
    public var timestamp: Double {
        Double(UInt64(rawValue.prefix(13), radix: 16) ?? 0) / 1_000_000
    }

    /// A new id, strictly greater than `after` when given (a batch keeps its order).
    public static func make(after: JobID? = nil) -> JobID {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var micros = UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec / 1000)
        if let after, let prev = UInt64(after.rawValue.prefix(13), radix: 16), micros <= prev { micros = prev + 1 }
        var r: UInt32 = 0
        _ = withUnsafeMutableBytes(of: &r) { cspoolsys_getrandom($0.baseAddress, 4) }
        return JobID(micros: micros, random: r & 0xFFFFFF)
    }

    static func hex(_ v: UInt64, _ width: Int) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
