import ArgumentParser
import ExportCore
import Glibc

extension Exportctl {
    /// `exportctl submit`: validate job files and queue them, printing one id each.
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate job files and queue them; print one job id per job.",
            discussion: "All files are validated first; if any is invalid, none is queued (exit 65, or 66 for a missing input).")

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job files; '-' reads one job from standard input.", valueName: "file"))
        var files: [String] = ["-"]
        @Flag(help: "Wait until the jobs finish, then exit like 'wait'.") var wait = false
        @Option(help: ArgumentHelp("With --wait: give up after this many seconds (exit 124).", valueName: "seconds"))
        var timeout: Double?
        @Flag(help: "Print one JSON object per job ({\"id\",\"file\"}).") var json = false

        func validate() throws {
            if timeout != nil && !wait { throw ValidationError("--timeout goes with --wait") }
            if let t = timeout, t < 0 { throw ValidationError("--timeout must be ≥ 0") }
        }

        func run() throws {
            let cwd = currentDirectory()
            let decoder = JobDecoder(mode: .submitted, baseDirectory: cwd)
            var jobs: [Job] = []
            var errors: [JobError] = []
            if files.filter({ $0 == "-" }).count > 1 { throw fail("'-' (standard input) can be given once", ExitStatus.usage) }
            for file in files {
                let name = file == "-" ? "<stdin>" : file
                let bytes: [UInt8]
                do { bytes = file == "-" ? try Sys.readAll(0, limit: 1 << 20, path: name) : try Sys.readFile(file, limit: 1 << 20) } catch {
                    if error.errno == EFBIG {
                        errors.append(JobError(file: name, message: "larger than 1 MiB; a job file is a small JSON object"))
                    } else {
                        errors.append(JobError(file: name, message: error.errno == ENOENT ? "no such file" : error.message.lowercased(), category: .missingInput))
                    }
                    continue
                }
                do {
                    let job = try decoder.decode(bytes, name: name)
                    if MediaCheck.isNeeded(for: job) { try MediaCheck.run(job, name: name) }
                    jobs.append(job)
                } catch let e as JobError {
                    errors.append(e)
                } catch let e as MediaCheck.Unavailable {
                    throw fail(e.message, ExitStatus.unavailable)
                } catch let e as SystemError {
                    throw fail("cannot check the media of \(name): \(e)", ExitStatus.ioError)
                }
            }
            if !errors.isEmpty {
                for e in errors { Sys.print("exportctl: \(e)\n", fd: 2) }
                if errors.count > 1 || files.count > 1 { Sys.print("exportctl: nothing was queued\n", fd: 2) }
                throw ExitCode(errors.contains { $0.category != .missingInput } ? ExitStatus.invalidJob : ExitStatus.noInput)
            }
            let spool = spoolOption.resolved
            let ids: [JobID]
            do { ids = try Submitter(spool: spool).submit(jobs) } catch { throw fail(error.description, exitStatus(for: error)) }
            var out = ""
            for (id, file) in zip(ids, files) {
                out += json ? JSONValue.object([("id", .string(id.rawValue)), ("file", .string(file))]).jsonText() + "\n" : id.rawValue + "\n"
            }
            Sys.print(out)
            if wait { try waitForJobs(spool: spool, ids: ids, timeout: timeout, json: false, printFinal: false) }
        }
    }
}
