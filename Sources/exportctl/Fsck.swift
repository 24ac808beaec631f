import ArgumentParser
import ExportCore

extension Exportctl {
    /// `exportctl fsck`: check the spool and, with --repair, fix it.
    struct Fsck: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fsck",
            abstract: "Check the spool for what a crash or a careless operator can leave; --repair fixes it.",
            discussion: "Exit 0 when the spool is clean, 1 when problems were found (and, with --repair, fixed), 75 when --repair is refused because a daemon is running (a daemon repairs the spool itself when it starts).")

        @OptionGroup var spoolOption: SpoolOption
        @Flag(help: "Fix what is found (requires that no daemon runs on the spool).") var repair = false
        @Flag(help: "Print the findings as a JSON array.") var json = false

        func run() throws {
            let spool = spoolOption.resolved
            guard spool.exists else { throw fail("no spool at \(spool.root)", ExitStatus.noInput) }
            let settings: SpoolSettings
            do { settings = try spool.settings() } catch { throw fail(error.description, ExitStatus.config) }
            var lock: SpoolLock?
            if repair {
                do { lock = try SpoolLock.acquire(spool) } catch {
                    if case .busy = error {
                        throw fail("a daemon is running on \(spool.root); it repairs the spool when it starts (stop it to repair by hand)", ExitStatus.tryLater)
                    }
                    throw fail(error.description, exitStatus(for: error))
                }
            }
            let checker = SpoolChecker(spool: spool, settings: settings, runningAreOrphans: lock != nil || !SpoolLock.isHeld(spool))
            let findings: [SpoolChecker.Finding]
            do { findings = try checker.run(repair: repair) } catch { throw fail(error.description, ExitStatus.ioError) }
            withExtendedLifetime(lock) {}
            if json {
                Sys.print(JSONValue.array(findings.map { f in
                    .compactObject([("kind", .string(f.kind.rawValue)), ("path", .string(f.path)),
                                    ("problem", .string(f.problem)), ("action", f.action.map { .string($0) })])
                }).jsonText() + "\n")
            } else {
                var out = findings.map { $0.description + "\n" }.joined()
                out += findings.isEmpty ? "\(spool.root): clean\n"
                    : "\(spool.root): \(findings.count) problem\(findings.count == 1 ? "" : "s") \(repair ? "repaired" : "found; run with --repair to fix")\n"
                Sys.print(out)
            }
            if !findings.isEmpty { throw ExitCode(ExitStatus.jobFailed) }
        }
    }
}
