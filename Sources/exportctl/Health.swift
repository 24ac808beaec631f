import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl health`: can this spool take and render jobs now?
    struct Health: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "health",
            abstract: "Check the spool's layout and permissions, the daemon, free disk, FFmpeg's encoders and the fonts; say what to fix.",
            discussion: "Prints one line per problem with what to do about it. Exit 0 when everything is fine, 1 when there is at least one problem, 64 on a usage error.")

        @OptionGroup var spoolOption: SpoolOption
        @Flag(help: "Print a JSON object: ok, and checks (check, ok, detail, fix).") var json = false
        @Flag(help: "Do not require a running daemon (a spool served by daemon --once from cron).") var noDaemon = false
        @Option(help: ArgumentHelp("Least free space on the spool's filesystem, in MB (default 1024).", valueName: "mb")) var minFreeMb: Int64 = 1024

        func validate() throws {
            if minFreeMb < 0 { throw ValidationError("--min-free-mb must be 0 or more (got \(minFreeMb))") }
        }

        func run() throws {
            var check = HealthCheck(spool: spoolOption.resolved)
            check.requireDaemon = !noDaemon
            check.minimumFreeBytes = minFreeMb << 20
            let results = check.run()
            let problems = results.filter { !$0.ok }
            if json {
                Sys.print(JSONValue.object([
                    ("ok", .bool(problems.isEmpty)),
                    ("spool", .string(check.spool.root)),
                    ("checks", .array(results.map { r in
                        .compactObject([("check", .string(r.check)), ("ok", .bool(r.ok)), ("detail", .string(r.detail)), ("fix", r.fix.map { .string($0) })])
                    })),
                ]).jsonText() + "\n")
            } else if problems.isEmpty {
                Sys.print(results.map { "ok  \($0.check): \($0.detail)\n" }.joined() + "\(check.spool.root): healthy\n")
            } else {
                Sys.print(problems.map { "\($0.check): \($0.detail); fix: \($0.fix ?? "")\n" }.joined()
                    + "\(check.spool.root): \(problems.count) problem\(problems.count == 1 ? "" : "s")\n")
            }
            if !problems.isEmpty { throw ExitCode(ExitStatus.jobFailed) }
        }
    }
}
