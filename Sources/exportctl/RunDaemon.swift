import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl daemon`: render the spool's jobs one at a time.
    struct RunDaemon: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "daemon",
            abstract: "Watch the spool and render its jobs one at a time.",
            discussion: "Runs until SIGTERM or SIGINT; the job in hand is stopped and put back at the head of the queue. One daemon per spool: a second one exits 75.")

        @OptionGroup var spoolOption: SpoolOption
        @Flag(help: "Exit once the queue is empty (for cron).") var once = false

        func run() throws {
            var options = Daemon.Options()
            options.once = once
            do { try Daemon(spool: spoolOption.resolved, options: options).run() } catch {
                if case let .system(e) = error, e.call == "cannot run the renderer" { throw fail(e.description, ExitStatus.unavailable) }
                throw fail(error.description, exitStatus(for: error))
            }
        }
    }
}
