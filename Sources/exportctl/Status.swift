import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl status ID`: one job's state.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a job's state, queue position or progress, output and error.")

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job id.", valueName: "id")) var id: String
        @Flag(help: "Print the status sidecar as JSON (with the live queue position).") var json = false

        func run() throws {
            guard let jobID = JobID(id) else { throw fail("'\(id)' is not a job id (ids look like 65f1c2a8b3e41-9c03fa)", ExitStatus.noInput) }
            do {
                let r = try spoolOption.resolved.status(of: jobID)
                Sys.print((json ? r.json().jsonText(pretty: false) : Format.line(r)) + "\n")
            } catch {
                throw fail(error.description, exitStatus(for: error))
            }
        }
    }
}
