extension JobID {
    /// A job id as two integers, ordered as the ids' text is, so a scan of a
    /// queue of thousands can compare and look up names without making a
    /// String of each (`QueueSnapshot`).
    ///
    /// An id is 13 and 6 lowercase hex digits of fixed width, so their values
    /// order exactly as the text does.
    public struct Packed: Hashable, Comparable, Sendable {
        public let micros: UInt64
        public let random: UInt32

        /// The id spelled by `name` (exactly an id, nothing after it); nil for anything else.
        public init?(_ name: UnsafeBufferPointer<UInt8>) {
            guard name.count == 20, name[13] == UInt8(ascii: "-"),
                  let m = Packed.hex(name, 0..<13), let r = Packed.hex(name, 14..<20) else { return nil }
            micros = m
            random = UInt32(r)
        }

        public init(_ id: JobID) {
            // A JobID is valid by construction.
            self = Array(id.rawValue.utf8).withUnsafeBufferPointer { Packed($0)! }
        }

        /// The id's text again.
        public var id: JobID { JobID(micros: micros, random: random) }

        public static func < (a: Packed, b: Packed) -> Bool {
            a.micros != b.micros ? a.micros < b.micros : a.random < b.random
        }

        private static func hex(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> UInt64? {
            var v: UInt64 = 0
            for i in range {
                let c = b[i]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x61...0x66: d = c - 0x61 + 10
                default: return nil
                }
                v = v << 4 | UInt64(d)
            }
            return v
        }
    }
}
