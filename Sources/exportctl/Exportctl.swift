import ArgumentParser
import ExportCore

/// The `exportctl` command: parses arguments, calls ExportCore, prints, and
/// maps errors to sysexits-style exit codes. It never links FFmpeg.
@main
struct Exportctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exportctl",
        abstract: "Batch media exporter: a spool of JSON jobs rendered to mp3 by a daemon.",
        discussion: "See exportctl(1) for job files, the spool layout and exit codes.",
        version: ExportVersion.string,
        subcommands: [Submit.self, Status.self, Wait.self, List.self, Cancel.self, Retry.self, Priority.self, Hold.self, Release.self, Pause.self, Resume.self, Drain.self,
                      RunDaemon.self, Render.self, StatsCommand.self, Fsck.self, Gc.self, Health.self, Events.self]
    )

    /// Accepts the global `--spool DIR` (or `--spool=DIR`) before the
    /// subcommand as well as after it, as in `exportctl --spool /srv/spool list`.
    /// Plain `submit` and `status` lines skip the full parser (`QuickParse`).
    static func main() {
        let args = hoistingSpoolOption(Array(CommandLine.arguments.dropFirst()))
        guard let request = QuickParse.request(args) else { return main(args) }
        do { try request() } catch { exit(withError: error) }
    }

    static func hoistingSpoolOption(_ args: [String]) -> [String] {
        var args = args
        var moved: [String] = []
        while let first = args.first, first == "--spool" || first.hasPrefix("--spool=") {
            moved.append(args.removeFirst())
            if first == "--spool", !args.isEmpty { moved.append(args.removeFirst()) }
        }
        guard !moved.isEmpty, let sub = args.first, !sub.hasPrefix("-") else { return moved + args }
        return [sub] + moved + args.dropFirst()
    }
}

/// `--spool DIR`, shared by every subcommand.
struct SpoolOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Spool directory (default: $EXPORTCTL_SPOOL, else /var/spool/exportctl for root, else $XDG_STATE_HOME/exportctl/spool, else ~/.local/state/exportctl/spool).", valueName: "dir"))
    var spool: String?

    var resolved: Spool { Spool.resolve(option: spool, cwd: currentDirectory()) }
}
