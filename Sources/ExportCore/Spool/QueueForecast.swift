/// When a queued or running job should be done: the rest of the render in
/// hand, plus the estimates of the jobs ahead in the queue, plus its own.
///
/// The jobs ahead are those before it in the daemon's start order
/// (`QueuePlace`: priority, then id; deferred and held jobs are not
/// counted, nor do they get an ETA). The nearest `sampled` of them are read; beyond that, each is taken
/// as their mean, so `status` stays fast with thousands queued. The render in
/// hand is taken as its estimate less the time it has run, or, once it
/// reports progress, as its elapsed time scaled by what is left. It assumes a
/// daemon is running; jobs waiting to retry and the backoff are not counted.
public struct QueueForecast {
    public let spool: Spool
    /// nil: learned from the log for the groups of the jobs involved.
    public var estimator: Estimator?
    /// The job's place in the queue, with the `sampled` jobs ahead; found when needed if not given.
    public var place: QueuePlace?
    /// Jobs ahead read one by one (16 keeps `status` near 10 ms with 10,000 queued).
    public static let sampled = 16

    public init(spool: Spool, estimator: Estimator? = nil, place: QueuePlace? = nil) {
        self.spool = spool
        self.estimator = estimator
        self.place = place
    }

    public struct ETA: Sendable, Equatable {
        /// This job's own render.
        public var estimate: Estimator.Estimate
        /// Seconds from now until it should be done.
        public var seconds: Double
    }

    /// The forecast for `id` (queued or processing), or nil for a finished,
    /// held, deferred or unknown job.
    public func eta(of id: JobID, now: Double = Clock.now()) -> ETA? {
        guard let state = spool.state(of: id), state == .queued || state == .processing,
              let job = try? spool.readJob(id, state) else { return nil }
        var running: [(JobID, Job)] = []
        var ahead: [Job] = []
        var aheadCount = 0
        if state == .queued {
            for r in (try? spool.ids(in: .processing)) ?? [] { if let j = try? spool.readJob(r, .processing) { running.append((r, j)) } }
            let found = place?.entry.id == id ? place : try? QueuePlace(of: id, spool: spool, nearest: QueueForecast.sampled, now: now)
            guard let found, let position = found.position else { return nil }
            aheadCount = position - 1
            ahead = found.nearestAhead.suffix(QueueForecast.sampled).compactMap { try? spool.readJob($0, .queued) }
        }
        let est = estimator ?? Estimator.load(spool, groups: Set(([job] + ahead + running.map(\.1)).map(Estimator.group)))
        let own = est.estimate(job)
        if state == .processing { return ETA(estimate: own, seconds: remaining(id, own, now: now)) }
        var wait = running.reduce(0) { $0 + remaining($1.0, est.estimate($1.1), now: now) }
        if !ahead.isEmpty { wait += ahead.reduce(0) { $0 + est.estimate($1).seconds } / Double(ahead.count) * Double(aheadCount) }
        return ETA(estimate: own, seconds: wait + own.seconds)
    }

    /// Seconds left of a render in hand.
    private func remaining(_ id: JobID, _ est: Estimator.Estimate, now: Double) -> Double {
        guard let r = StatusSidecar.read(id, in: spool), let started = r.startedAt else { return est.seconds }
        let elapsed = max(0, now - started)
        if r.progress >= 0.05 && r.progress < 1 { return elapsed * (1 - r.progress) / r.progress }
        return max(0, est.seconds - elapsed)
    }
}
