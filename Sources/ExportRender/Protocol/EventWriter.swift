import ExportCore
import Glibc

/// Writes the render child's NDJSON events to a descriptor (stdout): one
/// JSON object per line, each line in one write(2).
///
/// Progress lines are throttled: at most one per `interval` (0.25 s on the
/// monotonic clock), so while encoding runs there is one every 0.25 s and
/// the reader never drowns. A reader that went away (EPIPE) counts as a
/// request to stop: the render is cancelled and cleans up after itself.
public final class EventWriter {
    public let fd: Int32
    public let interval: Double
    private var lastProgress = -Double.infinity
    private let clock: () -> Double

    public init(fd: Int32 = 1, interval: Double = 0.25, clock: @escaping () -> Double = Clock.monotonic) {
        self.fd = fd
        self.interval = interval
        self.clock = clock
    }

    /// `{"event":"progress","progress":0.4213,"stage":"encoding"}`, unless one was written less than `interval` ago.
    public func progress(_ fraction: Double, stage: RenderStage) {
        let now = clock()
        guard now - lastProgress >= interval else { return }
        lastProgress = now
        write(RenderEvent.progress(fraction, stage: stage))
    }

    /// The last line on success.
    public func result(_ r: RenderResult) { write(r.event) }

    /// The last line on failure.
    public func error(_ e: RenderError) { write(RenderEvent.error(e)) }

    /// Writes one event as one line.
    public func write(_ event: JSONValue) {
        let line = Array((event.jsonText() + "\n").utf8)
        line.withUnsafeBytes { b in
            var done = 0
            while done < b.count {
                // One write(2) for the line; the loop only resumes a write that
                // a signal or a line longer than PIPE_BUF cut short.
                let n = Glibc.write(fd, b.baseAddress! + done, b.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    if errno == EPIPE { Cancellation.request() }
                    return
                }
                done += n
            }
        }
    }
}
