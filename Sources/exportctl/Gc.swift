import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl gc`: remove expired job records, outputs (with keepOutputFor) and stale temps.
    struct Gc: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Remove finished jobs' records past their retention, expired outputs (keepOutputFor) and stale temps.",
            discussion: "Completed jobs' records go after keepCompletedFor (default 7d), failed and cancelled ones and dead-lettered webhooks after keepFailedFor (default 30d); outputs only with keepOutputFor. Queued and running jobs are never touched, and a running daemon is no obstacle. Exit 0 (whether or not anything was removed), 66 no spool, 74, 78.")

        @OptionGroup var spoolOption: SpoolOption
        @Flag(help: "Print what would be removed, and remove nothing.") var dryRun = false
        @Flag(help: "Print a JSON array of objects with kind, path, id and reason.") var json = false

        func run() throws {
            let spool = spoolOption.resolved
            guard spool.exists else { throw fail("no spool at \(spool.root)", ExitStatus.noInput) }
            let settings: SpoolSettings
            do { settings = try spool.settings() } catch { throw fail(error.description, ExitStatus.config) }
            let removed: [Retention.Removal]
            do { removed = try Retention(spool: spool, settings: settings.upkeep).run(dryRun: dryRun) } catch {
                throw fail(error.description, ExitStatus.ioError)
            }
            if json {
                Sys.print(JSONValue.array(removed.map { r in
                    .compactObject([("kind", .string(r.kind.rawValue)), ("path", .string(r.path)),
                                    ("id", r.id.map { .string($0.rawValue) }), ("reason", .string(r.reason))])
                }).jsonText() + "\n")
                return
            }
            var out = removed.map { "\(dryRun ? "would remove" : "removed") \($0.path): \($0.reason)\n" }.joined()
            let n = removed.count, files = "\(n) file\(n == 1 ? "" : "s")"
            out += n == 0 ? "\(spool.root): nothing to remove\n"
                : dryRun ? "\(spool.root): \(files) would be removed; run without --dry-run to remove them\n"
                : "\(spool.root): \(files) removed\n"
            Sys.print(out)
        }
    }
}
