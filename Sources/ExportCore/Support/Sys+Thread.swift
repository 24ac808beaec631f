import Glibc

extension Sys {
    /// Starts a POSIX thread that runs `body` (which keeps what it captures
    /// alive until it returns); the caller joins it with `pthread_join`.
    /// The notifier's delivery thread and a slideshow's audio thread.
    public static func startThread(_ body: @escaping () -> Void) throws(SystemError) -> pthread_t {
        final class Box {
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
        }
        var t = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let rc = pthread_create(&t, nil, { arg in
            Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<Box>.fromOpaque(box).release()
            throw SystemError("pthread_create", errno: rc)
        }
        return t
    }
}
