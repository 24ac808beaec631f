import ArgumentParser
import ExportCore

/// Parses `submit FILE…` and `status [ID]`, the commands scripts run thousands of
/// times a day, without swift-argument-parser when their arguments are plain.
///
/// swift-argument-parser finds a command's options by reflection (`Mirror`) and
/// protocol-conformance look-ups that scan the whole static binary: about 10 M
/// instructions, most of `submit`'s start-up (docs/benchmarks.md). A plain list —
/// operands, `--` then operands, the command's boolean flags once each, and
/// `--spool DIR` once — means one thing, so it is read here and handed to the same
/// `Request` the full parser builds. Anything else (`--help`, an option with a
/// value, an unknown or repeated flag, too many operands) goes to the full parser,
/// with its help and its messages.
enum QuickParse {
    /// The parts of a plain argument list.
    struct Plain {
        var spool: String?
        var flags: Set<String> = []
        var operands: [String] = []
    }

    /// The command line (after `Exportctl.hoistingSpoolOption`) as a request to run, or nil
    /// when the full parser must read it.
    static func request(_ args: [String]) -> (() throws -> Void)? {
        guard let command = args.first else { return nil }
        let rest = args.dropFirst()
        switch command {
        case "submit":
            guard let p = plain(rest, flags: ["--json", "--wait", "--dedupe"]) else { return nil }
            let request = Exportctl.Submit.Request(
                spool: spool(p), files: p.operands, dedupe: p.flags.contains("--dedupe"),
                json: p.flags.contains("--json"), wait: p.flags.contains("--wait"))
            return request.run
        case "status":
            guard let p = plain(rest, flags: ["--json"]), p.operands.count <= 1 else { return nil }
            return Exportctl.Status.Request(spool: spool(p), id: p.operands.first, json: p.flags.contains("--json")).run
        default:
            return nil
        }
    }

    /// `args` split into operands, flags from `allowed` and `--spool`; nil for anything else.
    static func plain(_ args: ArraySlice<String>, flags allowed: Set<String>) -> Plain? {
        var out = Plain()
        var i = args.startIndex
        var operandsOnly = false
        while i < args.endIndex {
            let a = args[i]
            i += 1
            if operandsOnly || a == "-" || !a.hasPrefix("-") {
                out.operands.append(a)
            } else if a == "--" {
                operandsOnly = true
            } else if allowed.contains(a) {
                guard out.flags.insert(a).inserted else { return nil }
            } else if a == "--spool", out.spool == nil, i < args.endIndex, !args[i].hasPrefix("-") {
                out.spool = args[i]
                i += 1
            } else if a.hasPrefix("--spool="), out.spool == nil {
                out.spool = String(a.dropFirst("--spool=".count))
            } else {
                return nil
            }
        }
        return out
    }

    private static func spool(_ p: Plain) -> Spool {
        Spool.resolve(option: p.spool, cwd: currentDirectory())
    }
}
