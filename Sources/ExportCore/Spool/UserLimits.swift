import Glibc

/// The per-user fairness limits of a shared spool, checked at submit
/// (`maxQueuedPerUser`, `maxRendersPerUserPerDay` in settings.json).
///
/// A user is the salted hash `submit` stores for the job's `user` (see
/// `Submitter`); jobs without a `user` all count as one anonymous user.
/// - Queued: the user's jobs in `queue/`, `held/` and `running/` now, plus the new ones.
/// - Per day: the user's renders in the last 24 hours (lines of the analytics
///   log for jobs that finished completed or failed, or were cancelled while
///   rendering), plus the user's jobs queued, held or running now, plus the new ones.
///
/// The check reads the stored jobs (and, for the daily limit, the log), so it
/// costs nothing when neither limit is set. Two racing submits may both pass
/// it: the limits are for fairness, not a security boundary.
public struct UserLimits {
    public let spool: Spool
    public let settings: SpoolSettings

    public init(spool: Spool, settings: SpoolSettings) {
        self.spool = spool
        self.settings = settings
    }

    /// Throws `.userLimit` naming the limit when adding `jobs` would pass one.
    /// `jobs` carry both `user` (for the message) and `userHash` (to count).
    public func check(_ jobs: [Job], now: Double = Clock.now()) throws(SpoolError) {
        guard settings.maxQueuedPerUser != nil || settings.maxRendersPerUserPerDay != nil, !jobs.isEmpty else { return }
        var adding: [String: Int] = [:]
        var names: [String: String] = [:]
        for j in jobs { adding[j.userHash ?? "", default: 0] += 1; names[j.userHash ?? ""] = j.user }
        func who(_ hash: String) -> String { names[hash].map { "user '\($0)'" } ?? "jobs without a \"user\"" }
        var active: [String: Int] = [:]
        do {
            for state in [JobState.queued, .held, .processing] {
                for id in try spool.ids(in: state) {
                    // A job that moved on meanwhile is simply not counted.
                    guard let job = try? spool.readJob(id, state) else { continue }
                    active[job.userHash ?? "", default: 0] += 1
                }
            }
        } catch { throw .system(error) }
        for (user, n) in adding.sorted(by: { $0.key < $1.key }) {
            let have = active[user] ?? 0
            if let cap = settings.maxQueuedPerUser, have + n > cap {
                throw .userLimit("per-user limit maxQueuedPerUser = \(cap) reached: \(who(user)) \(have == 1 ? "has 1 job" : "has \(have) jobs") queued, held or running and this submit adds \(n); try again when some have finished")
            }
        }
        guard let perDay = settings.maxRendersPerUserPerDay else { return }
        var rendered: [String: Int] = [:]
        let entries: [AnalyticsLog.Entry]
        do { entries = try AnalyticsLog(path: spool.analyticsPath).entries() } catch { throw .system(error) }
        for e in entries where e.time > now - 86_400 && e.time <= now + 60 {
            guard e.outcome == "completed" || e.outcome == "failed" || e.renderSeconds != nil else { continue }
            rendered[e.userHash ?? "", default: 0] += 1
        }
        for (user, n) in adding.sorted(by: { $0.key < $1.key }) {
            let done = rendered[user] ?? 0, have = active[user] ?? 0
            if done + have + n > perDay {
                throw .userLimit("per-user limit maxRendersPerUserPerDay = \(perDay) reached: \(who(user)) had \(done) render\(done == 1 ? "" : "s") in the last 24 hours and has \(have) queued, held or running; this submit adds \(n); try again later")
            }
        }
    }
}
