import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl drain`: finish the queue, accept nothing new, then the daemon exits.
    struct Drain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain",
            abstract: "Drain the spool: submit refuses new jobs (exit 75) while the daemon finishes what is queued, then exits 0.",
            discussion: "Kept in the spool (control/draining) until the daemon has drained the queue or 'exportctl resume' is run. Exit 0; 74.")

        @OptionGroup var spoolOption: SpoolOption

        func run() throws {
            let spool = spoolOption.resolved
            do { try QueueControl.set(.draining, true, in: spool) } catch { throw fail(error.description, ExitStatus.ioError) }
            Sys.print(SpoolLock.isHeld(spool)
                ? "draining: the daemon finishes the queue, then exits; submit refuses new jobs meanwhile\n"
                : "draining: no daemon is running; the next one finishes the queue, then exits; submit refuses new jobs meanwhile\n")
        }
    }
}
