import Glibc

/// The whole spool at a glance, for `exportctl status` without an id: the
/// daemon (running, pid), the switches (paused, draining), the job in hand
/// and how many jobs are in each state.
public struct SpoolOverview: Sendable {
    public var daemonRunning: Bool
    public var daemonPID: Int?
    public var control: QueueControl
    /// The job being rendered.
    public var current: StatusSidecar?
    /// Jobs per state, `deferred` counted apart from `queued`.
    public var counts: [(state: JobState, jobs: Int)]

    public static let order: [JobState] = [.queued, .deferred, .held, .processing, .completed, .failed, .cancelled]

    public init(spool: Spool) throws(SystemError) {
        daemonRunning = SpoolLock.isHeld(spool)
        daemonPID = nil
        if daemonRunning, let bytes = try? Sys.readFile(spool.path("daemon.lock"), limit: 64) {
            daemonPID = Int(String(decoding: bytes, as: UTF8.self).trimmingNewline)
        }
        control = QueueControl(spool: spool)
        var n: [JobState: Int] = [:]
        for s in JobState.allCases where s != .queued { n[s] = try spool.count(in: s) }
        let snapshot = try QueueSnapshot(spool: spool)
        n[.queued] = snapshot.startOrder.count
        n[.deferred] = snapshot.entries.count - snapshot.startOrder.count
        counts = SpoolOverview.order.map { ($0, n[$0] ?? 0) }
        current = try spool.ids(in: .processing).first.flatMap { try? spool.status(of: $0) }
    }

    /// `running`, `paused` (idle and paused), `pausing` (paused, finishing the
    /// job in hand), `draining`, or `stopped` (no daemon).
    public var daemonState: String {
        guard daemonRunning else { return "stopped" }
        if control.paused { return current == nil ? "paused" : "pausing" }
        return control.draining ? "draining" : "running"
    }

    public func json() -> JSONValue {
        .object([
            ("daemon", .compactObject([("state", .string(daemonState)), ("running", .bool(daemonRunning)),
                                       ("pid", daemonPID.map { .int(Int64($0)) })])),
            ("paused", .bool(control.paused)),
            ("draining", .bool(control.draining)),
            ("current", current.map { $0.json() } ?? .null),
            ("jobs", .object(counts.map { ($0.state.rawValue, .int(Int64($0.jobs))) })),
        ])
    }
}
