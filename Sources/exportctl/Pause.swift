import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl pause`: the daemon finishes the job in hand and starts no other.
    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Pause the queue: the daemon finishes the job in hand and starts no new one until 'exportctl resume'.",
            discussion: "Kept in the spool (control/paused), so it outlives the daemon. Submit still accepts jobs. Exit 0; 74.")

        @OptionGroup var spoolOption: SpoolOption

        func run() throws {
            let spool = spoolOption.resolved
            do { try QueueControl.set(.paused, true, in: spool) } catch { throw fail(error.description, ExitStatus.ioError) }
            let current = (try? spool.ids(in: .processing))?.first
            Sys.print("paused" + (current.map { ": \($0) is finished, no other job is started" } ?? ": no new job is started") + "\n")
        }
    }
}
