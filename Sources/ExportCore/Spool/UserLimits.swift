import Glibc

/// How `UserLimits` counts: whose a job is, and what each user already has.
public protocol UserTally {
    /// The key `job` counts under.
    func key(of job: Job) -> String
    /// How messages name the user `job` counts for (`user 'ann'`); asked once per key.
    func name(of job: Job) -> String
    /// Per user key: the jobs queued, held or running now (and any still waiting to be taken in).
    func active() throws(SystemError) -> [String: Int]
    /// Per user key: the renders that finished between `since` and `until`
    /// (completed, failed, or cancelled while rendering).
    func rendered(since: Double, until: Double) throws(SystemError) -> [String: Int]
}

/// The per-user fairness limits of a spool, checked at submit
/// (`maxQueuedPerUser`, `maxRendersPerUserPerDay` in settings.json).
///
/// Who a user is and what they have comes from a `UserTally`: on a private
/// spool the salted hash of the job's `user` (`UserHashTally`), on a shared
/// one the submitting uid (`OwnerTally`).
/// - Queued: the user's jobs queued, held or running now, plus the new ones.
/// - Per day: the user's renders in the last 24 hours, plus the user's jobs
///   queued, held or running now, plus the new ones.
///
/// The check costs nothing when neither limit is set. Two racing submits may
/// both pass it: the limits are for fairness, not a security boundary.
public struct UserLimits {
    public let spool: Spool
    public let settings: SpoolSettings

    public init(spool: Spool, settings: SpoolSettings) {
        self.spool = spool
        self.settings = settings
    }

    /// Throws `.userLimit` naming the limit when adding `jobs` would pass one,
    /// counting by the hash of each job's `user` (a private spool).
    public func check(_ jobs: [Job], now: Double = Clock.now()) throws(SpoolError) {
        try check(jobs, counting: UserHashTally(spool: spool), now: now)
    }

    /// Throws `.userLimit` naming the limit, the user and the counts when adding `jobs` would pass one.
    public func check(_ jobs: [Job], counting tally: any UserTally, now: Double = Clock.now()) throws(SpoolError) {
        guard settings.maxQueuedPerUser != nil || settings.maxRendersPerUserPerDay != nil, !jobs.isEmpty else { return }
        var adding: [String: Int] = [:]
        var names: [String: String] = [:]
        for j in jobs {
            let key = tally.key(of: j)
            adding[key, default: 0] += 1
            if names[key] == nil { names[key] = tally.name(of: j) }
        }
        let active: [String: Int]
        do { active = try tally.active() } catch { throw .system(error) }
        for (user, n) in adding.sorted(by: { $0.key < $1.key }) {
            let have = active[user] ?? 0
            if let cap = settings.maxQueuedPerUser, have + n > cap {
                throw .userLimit("per-user limit maxQueuedPerUser = \(cap) reached: \(names[user]!) \(have == 1 ? "has 1 job" : "has \(have) jobs") queued, held or running and this submit adds \(n); try again when some have finished")
            }
        }
        guard let perDay = settings.maxRendersPerUserPerDay else { return }
        let rendered: [String: Int]
        do { rendered = try tally.rendered(since: now - 86_400, until: now + 60) } catch { throw .system(error) }
        for (user, n) in adding.sorted(by: { $0.key < $1.key }) {
            let done = rendered[user] ?? 0, have = active[user] ?? 0
            if done + have + n > perDay {
                throw .userLimit("per-user limit maxRendersPerUserPerDay = \(perDay) reached: \(names[user]!) had \(done) render\(done == 1 ? "" : "s") in the last 24 hours and has \(have) queued, held or running; this submit adds \(n); try again later")
            }
        }
    }
}

/// The tally of a private spool: a user is the salted hash `submit` stores
/// for the job's `user` (see `Submitter`); jobs without a `user` all count as
/// one anonymous user. It reads the stored jobs and the analytics log (lines
/// of jobs that finished completed or failed, or were cancelled while rendering).
public struct UserHashTally: UserTally {
    public let spool: Spool

    public init(spool: Spool) { self.spool = spool }

    public func key(of job: Job) -> String { job.userHash ?? "" }

    public func name(of job: Job) -> String { job.user.map { "user '\($0)'" } ?? "jobs without a \"user\"" }

    public func active() throws(SystemError) -> [String: Int] {
        var active: [String: Int] = [:]
        for state in [JobState.queued, .held, .processing] {
            for id in try spool.ids(in: state) {
                // A job that moved on meanwhile is simply not counted.
                guard let job = try? spool.readJob(id, state) else { continue }
                active[job.userHash ?? "", default: 0] += 1
            }
        }
        return active
    }

    public func rendered(since: Double, until: Double) throws(SystemError) -> [String: Int] {
        var rendered: [String: Int] = [:]
        for e in try AnalyticsLog(path: spool.analyticsPath).entries() where e.time > since && e.time <= until {
            guard e.outcome == "completed" || e.outcome == "failed" || e.renderSeconds != nil else { continue }
            rendered[e.userHash ?? "", default: 0] += 1
        }
        return rendered
    }
}
