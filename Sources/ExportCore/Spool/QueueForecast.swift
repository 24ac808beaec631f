/// When a queued or running job should be done: the rest of the render in
/// hand, plus the estimates of the jobs ahead in the queue, plus its own.
///
/// The jobs ahead are those before it in the daemon's start order
/// (`QueueSnapshot`: priority, then id; deferred and held jobs are not
/// counted, nor do they get an ETA). The nearest `sampled` of them are read; beyond that, each is taken
/// as their mean, so `status` stays fast with thousands queued. The render in
/// hand is taken as its estimate less the time it has run, or, once it
/// reports progress, as its elapsed time scaled by what is left. It assumes a
/// daemon is running; jobs waiting to retry and the backoff are not counted.
public struct QueueForecast {
    public let spool: Spool
    public let estimator: Estimator
    /// The queue's order; read when needed if not given.
    public var snapshot: QueueSnapshot?
    /// Jobs ahead read one by one.
    public static let sampled = 100

    public init(spool: Spool, estimator: Estimator, snapshot: QueueSnapshot? = nil) {
        self.spool = spool
        self.estimator = estimator
        self.snapshot = snapshot
    }

    public struct ETA: Sendable, Equatable {
        /// This job's own render.
        public var estimate: Estimator.Estimate
        /// Seconds from now until it should be done.
        public var seconds: Double
    }

    /// The forecast for `id` (queued or processing), or nil for a finished or unknown job.
    public func eta(of id: JobID, now: Double = Clock.now()) -> ETA? {
        guard let state = spool.state(of: id), state == .queued || state == .processing,
              let job = try? spool.readJob(id, state) else { return nil }
        let own = estimator.estimate(job)
        if state == .processing { return ETA(estimate: own, seconds: remaining(id, job, own, now: now)) }
        var wait = 0.0
        for r in (try? spool.ids(in: .processing)) ?? [] {
            if let j = try? spool.readJob(r, .processing) { wait += remaining(r, j, estimator.estimate(j), now: now) }
        }
        guard let order = (snapshot ?? (try? QueueSnapshot(spool: spool)))?.startOrder, let at = order.firstIndex(of: id) else { return nil }
        let ahead = order[..<at]
        var read = 0, sum = 0.0
        for a in ahead.suffix(QueueForecast.sampled) {
            guard let j = try? spool.readJob(a, .queued) else { continue }
            sum += estimator.estimate(j).seconds
            read += 1
        }
        if read > 0 { wait += sum / Double(read) * Double(ahead.count) }
        return ETA(estimate: own, seconds: wait + own.seconds)
    }

    /// Seconds left of a render in hand.
    private func remaining(_ id: JobID, _ job: Job, _ est: Estimator.Estimate, now: Double) -> Double {
        guard let r = StatusSidecar.read(id, in: spool), let started = r.startedAt else { return est.seconds }
        let elapsed = max(0, now - started)
        if r.progress >= 0.05 && r.progress < 1 { return elapsed * (1 - r.progress) / r.progress }
        return max(0, est.seconds - elapsed)
    }
}
