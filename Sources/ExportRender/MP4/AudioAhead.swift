import CFFmpeg
import ExportCore
import Glibc

/// A slideshow's audio track, decoded and encoded on a thread of its own
/// while the main thread feeds x264.
///
/// Encoding AAC is about a tenth of a still-image render's CPU (0.28 s for
/// 10 s of stereo at 44.1 kHz). Done between video frames on the thread that
/// hands frames to x264, as the ffmpeg CLI does, it leaves x264's threads
/// waiting for their next frame; here it runs beside them. Only the main
/// thread touches the muxer: it takes the encoded packets, in order, with
/// `write(upTo:_:)` after each video frame and `finish(_:)` at the end.
///
/// The thread owns the track (its demuxer, decoder, resampler and encoder)
/// from `start` until it ends; `stop` (also on deinit) makes it end early and
/// waits for it. At most `capacity` packets wait (about 12 s of AAC), so
/// memory does not grow with the audio's length.
final class AudioAhead {
    private let track: AudioTrack
    // Allocated, not stored inline: a pthread object must not move, and `&property` promises no fixed address.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Encoded packets not yet taken, each with the seconds of audio sent to the encoder when it came out.
    private var queue: [(packet: Packet, seconds: Double)] = []
    private var head = 0
    private var ended = false
    private var stopping = false
    private var failure: RenderError?
    private var thread: pthread_t?
    /// Whether the track is encoded on the thread; set before it starts, so the thread reads it safely.
    private var threaded = false
    /// Seconds of audio the packets written so far reach (by the encoder's count when each came out).
    private var secondsWritten = 0.0

    static let capacity = 512

    /// Where the track's packets go: a weak reference, so the track does not keep its owner alive.
    private final class Sink {
        weak var target: AudioAhead?
    }

    /// - Parameter makeTrack: builds the track, given the closure its encoded packets must go to.
    init(makeTrack: (@escaping (Packet) throws -> Void) throws(RenderError) -> AudioTrack) throws(RenderError) {
        let sink = Sink()
        track = try makeTrack { p in
            guard let a = sink.target else { throw AVError.exit }
            try a.enqueue(p)
        }
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        sink.target = self
    }

    deinit {
        stop()
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    /// Starts the thread; if none can be had, the track is encoded on the calling thread as it is taken.
    func start() {
        threaded = true
        do { thread = try Sys.startThread { self.run() } } catch { threaded = false }
    }

    /// Ends the thread early (the render failed or was cancelled) and waits for it.
    func stop() {
        guard let t = thread else { return }
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
        pthread_join(t, nil)
        thread = nil
    }

    /// Writes packets, in order, until the audio written reaches `seconds` or the track has ended.
    func write(upTo seconds: Double, _ write: (Packet) throws -> Void) throws {
        guard thread != nil else {
            // No thread: encode here, as the serial pipeline does.
            while track.secondsEncoded < seconds, try track.pump() {}
            return try drainQueue(write)
        }
        while secondsWritten < seconds, let next = try take() {
            secondsWritten = next.seconds
            try write(next.packet)
        }
    }

    /// Waits for the end of the track and writes the rest; rethrows the thread's error.
    func finish(_ write: (Packet) throws -> Void) throws {
        if thread == nil {
            while try track.pump() {}
            try track.finish()
            return try drainQueue(write)
        }
        while let next = try take() {
            secondsWritten = next.seconds
            try write(next.packet)
        }
        pthread_join(thread!, nil)
        thread = nil
    }

    // MARK: - the encoding thread

    private func run() {
        var error: RenderError?
        do throws(RenderError) {
            while try track.pump() {}
            try track.finish()
        } catch let e {
            error = e
        }
        pthread_mutex_lock(mutex)
        ended = true
        if !stopping { failure = error }  // stopped: the main thread has its own error already
        pthread_cond_broadcast(cond)
        pthread_mutex_unlock(mutex)
    }

    /// Called by the track (on its thread) for each encoded packet: moves its
    /// reference into the queue, waiting while the queue is full.
    private func enqueue(_ p: Packet) throws {
        let copy = try Packet()
        av_packet_move_ref(copy.pointer, p.pointer)
        let seconds = track.secondsEncoded
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if !threaded {
            // Encoding on the caller's thread (no thread could be started): no waiting.
            queue.append((copy, seconds))
            return
        }
        while queue.count - head >= AudioAhead.capacity && !stopping { pthread_cond_wait(cond, mutex) }
        if stopping { throw AVError.exit }
        queue.append((copy, seconds))
        pthread_cond_broadcast(cond)
    }

    /// The next packet, waiting for the thread; nil once the track has ended and all are taken.
    private func take() throws -> (packet: Packet, seconds: Double)? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while head == queue.count && !ended { pthread_cond_wait(cond, mutex) }
        if head == queue.count {
            if let f = failure { throw f }
            return nil
        }
        let next = queue[head]
        head += 1
        if head >= 64 && head * 2 >= queue.count {
            queue.removeFirst(head)
            head = 0
        }
        pthread_cond_broadcast(cond)
        return next
    }

    private func drainQueue(_ write: (Packet) throws -> Void) throws {
        pthread_mutex_lock(mutex)
        let pending = Array(queue[head...])
        queue.removeAll()
        head = 0
        pthread_mutex_unlock(mutex)
        for (p, s) in pending {
            secondsWritten = s
            try write(p)
        }
    }
}
