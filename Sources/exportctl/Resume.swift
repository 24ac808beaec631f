import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl resume`: undo pause and drain.
    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Resume the queue after 'pause' or 'drain': the daemon starts jobs again and submit accepts them.",
            discussion: "Exit 0; 74.")

        @OptionGroup var spoolOption: SpoolOption

        func run() throws {
            let spool = spoolOption.resolved
            do {
                try QueueControl.set(.paused, false, in: spool)
                try QueueControl.set(.draining, false, in: spool)
            } catch { throw fail(error.description, ExitStatus.ioError) }
            Sys.print("resumed\n")
        }
    }
}
