/// Pixels drawn over the frames of an mp4: captions and slide text.
///
/// The video pipeline asks once per output frame. `prepare` says whether
/// the overlay changed since the previous frame, so a still slide whose
/// text did not change is composited once and its frame reused.
protocol FrameOverlay: AnyObject {
    /// Prepares what shows at `seconds` of the output.
    /// - Returns: true when it differs from what the previous call prepared.
    func prepare(at seconds: Double) throws(RenderError) -> Bool
    /// True when the prepared overlay draws nothing.
    var isEmpty: Bool { get }
    /// Blends the prepared overlay onto `frame`, a writable yuv420p frame of the output size.
    func blend(onto frame: Frame)
}
