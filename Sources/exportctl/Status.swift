import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl status [ID]`: one job's state, or the whole spool's.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show a job's state, queue position or progress, output and error; without an id, the daemon and the queue.",
            discussion: "Without an id: whether a daemon runs (and its pid), paused or draining, the job in hand, and how many jobs are in each state. Exit 0; 66 for an unknown id; 74.")

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job id; none for the whole spool.", valueName: "id")) var id: String?
        @Flag(help: "Print the status sidecar (or the spool's overview) as JSON, with the live queue position.") var json = false

        func run() throws {
            try Request(spool: spoolOption.resolved, id: id, json: json).run()
        }
    }
}

extension Exportctl.Status {
    /// A parsed `status` (by swift-argument-parser, or by `QuickParse`): what it does.
    struct Request {
        var spool: Spool
        var id: String? = nil
        var json = false

        func run() throws {
            guard let id else { return try overview(spool) }
            guard let jobID = JobID(id) else { throw fail("'\(id)' is not a job id (ids look like 65f1c2a8b3e41-9c03fa)", ExitStatus.noInput) }
            if let refusal = SharedSpool.refusal(for: jobID, in: spool) { throw fail(refusal, ExitStatus.noPermission) }
            if spool.state(of: jobID) == nil && SharedSpool.isDropped(jobID, in: spool) {
                let waiting = "waiting for the daemon to take it in from drop/"
                return Sys.print(json ? JSONValue.object([("id", .string(jobID.rawValue)), ("state", .string("queued")), ("stage", .string(waiting))]).jsonText() + "\n"
                                      : "\(jobID)  queued      \(waiting)\n")
            }
            do {
                // One pass over queue/ gives both the position and the jobs ahead for the ETA.
                let place = spool.state(of: jobID) == .queued ? try? QueuePlace(of: jobID, spool: spool, nearest: QueueForecast.sampled) : nil
                let r = try spool.status(of: jobID, place: place)
                let eta = r.state == .queued || r.state == .processing
                    ? QueueForecast(spool: spool, place: place).eta(of: jobID) : nil
                guard json else { return Sys.print(Format.line(r, eta: eta?.seconds) + "\n") }
                var record = r.json()
                if let eta, case var .object(members) = record {
                    members.append(("estimatedSeconds", .double((eta.estimate.seconds * 10).rounded() / 10)))
                    members.append(("etaSeconds", .double((eta.seconds * 10).rounded() / 10)))
                    members.append(("eta", .string(Clock.iso8601(Clock.now() + eta.seconds))))
                    record = .object(members)
                }
                Sys.print(record.jsonText(pretty: false) + "\n")
            } catch {
                throw fail(error.description, exitStatus(for: error))
            }
        }

        private func overview(_ spool: Spool) throws {
            guard spool.exists else { throw fail("no spool at \(spool.root)", ExitStatus.noInput) }
            let o: SpoolOverview
            do { o = try SpoolOverview(spool: spool) } catch { throw fail(error.description, ExitStatus.ioError) }
            if json { Sys.print(o.json().jsonText(pretty: false) + "\n"); return }
            var daemon = o.daemonRunning ? "running" + (o.daemonPID.map { " (pid \($0))" } ?? "") : "not running"
            if o.control.paused { daemon += o.current == nil ? ", paused" : ", paused after the job in hand" }
            if o.control.draining { daemon += ", draining (submit refuses new jobs; the daemon exits when the queue is done)" }
            var out = "daemon: \(daemon)\n"
            // A shared spool: another user's job in hand is named, not shown.
            let current = o.current.map { SharedSpool.refusal(for: $0.id, in: spool) == nil ? Format.line($0) : "\($0.id) (another user's job)" }
            out += "current: " + (current ?? "none") + "\n"
            let n = Dictionary(o.counts.map { ($0.state, $0.jobs) }, uniquingKeysWith: { a, _ in a })
            out += "waiting: \(n[.queued] ?? 0) queued, \(n[.deferred] ?? 0) deferred, \(n[.held] ?? 0) held\n"
            out += "finished: \(n[.completed] ?? 0) completed, \(n[.failed] ?? 0) failed, \(n[.cancelled] ?? 0) cancelled\n"
            Sys.print(out)
        }
    }
}
