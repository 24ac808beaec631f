import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl render FILE`: one job in the foreground, no spool.
    struct Render: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "Render one job file in the foreground, without a spool or daemon.",
            discussion: "Same validation, render process, verification and atomic publish as the daemon. Exit 0 on success, 1 if the render failed, 2 if interrupted, 65 for an invalid job, 66 for a missing input, 69 if exportctl-render is missing, 74 on an I/O error.")

        @Argument(help: ArgumentHelp("Job file, or '-' for standard input.", valueName: "file")) var file: String
        @Flag(help: "Print the result as a JSON object.") var json = false

        func run() throws {
            let name = file == "-" ? "<stdin>" : file
            let job: Job
            do {
                let bytes = file == "-" ? try Sys.readAll(0, limit: 1 << 20, path: name) : try Sys.readFile(file, limit: 1 << 20)
                let cwd = currentDirectory()
                job = try JobDecoder(mode: .submitted, baseDirectory: cwd)
                    .decode(bytes, name: name, templatesDirectory: Spool.resolve(option: nil, cwd: cwd).path("templates"))
            } catch let e as JobError {
                throw fail(e.description, exitStatus(for: e))
            } catch let e as SystemError {
                throw fail("\(name): \(e.errno == 2 ? "no such file" : e.message)", ExitStatus.noInput)
            }
            let tty = stderrIsTerminal
            let outcome: RenderChild.Outcome
            // The media rules submit checks (mp4, carousel) run in the render process, before it
            // renders: the same answers, exit codes and messages, with FFmpeg loaded once.
            let render = ForegroundRender(job: job, checkFirst: MediaCheck.isNeeded(for: job))
            do {
                outcome = try render.run { progress, stage in
                    if tty { Sys.print("\r\u{1b}[K\(Int(progress * 100))% \(stage)", fd: 2) }
                }
            } catch {
                throw fail(error.description, error.errno == 2 ? ExitStatus.unavailable : ExitStatus.ioError)
            }
            if tty { Sys.print("\r\u{1b}[K", fd: 2) }
            if let e = render.checkError, let problem = MediaCheck.problem(in: e, name: name) {
                throw fail(problem.description, exitStatus(for: problem))
            }
            switch outcome {
            case let .rendered(result):
                if json {
                    Sys.print(JSONValue.compactObject([
                        ("output", .string(job.output)), ("bytes", result["bytes"]),
                        ("duration", result["slides"] == nil ? result["duration"] : nil), ("codec", result["codec"]),
                        ("slides", result["slides"]),
                    ]).jsonText() + "\n")
                } else {
                    var d: [String] = []
                    if let n = result["slides"]?.intValue {
                        d.append("\(n) slide\(n == 1 ? "" : "s")")
                    } else if let s = result["duration"]?.doubleValue {
                        d.append(Format.seconds(s))
                    }
                    if let b = result["bytes"]?.intValue { d.append(Format.bytes(b)) }
                    Sys.print("\(job.output)  \(d.joined(separator: ", "))\n")
                }
            case let .failed(code, message, _):
                if json { Sys.print(JSONValue.object([("error", .object([("code", .string(code)), ("message", .string(message))]))]).jsonText() + "\n") }
                throw fail("\(code): \(message)", code == "cancelled" ? ExitStatus.jobCancelled : ExitStatus.jobFailed)
            }
        }
    }
}
