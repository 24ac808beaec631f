/// The part of a stream of samples a trim keeps: everything before `start`
/// is dropped, then `length` samples are kept (or all of the rest).
///
/// Positions count samples at the output rate from the input's start time,
/// so a trim is exact to the sample whatever the packet or frame sizes.
struct SampleWindow: Equatable {
    /// First position kept; nil keeps from the first sample decoded.
    let start: Int64?
    /// Samples still to keep; nil keeps everything to the end.
    private(set) var remaining: Int64?
    /// Samples kept so far.
    private(set) var kept: Int64 = 0

    init(start: Int64?, length: Int64?) {
        self.start = start
        remaining = length
    }

    /// Whether every sample the window wants has been kept.
    var isComplete: Bool { remaining == 0 }

    /// For `count` samples beginning at `position`: how many to drop at the
    /// front, and how many after those to keep.
    mutating func take(position: Int64, count: Int) -> (skip: Int, keep: Int) {
        var skip = 0
        if let start, position < start { skip = Int(min(Int64(count), start - position)) }
        var keep = count - skip
        if let r = remaining {
            keep = Int(min(Int64(keep), r))
            remaining = r - Int64(keep)
        }
        kept += Int64(keep)
        return (skip, keep)
    }
}
