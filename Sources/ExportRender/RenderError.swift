import ExportCore
import Glibc

/// Why a render failed, in words a user can act on.
///
/// Each case has a machine code (the `code` of the `error` event), says
/// whether trying again later may help (`isTransient`) and maps to the
/// render child's exit status. Descriptions read like FFmpeg's examples:
/// `could not open input 'talk.wav': Invalid data found when processing input`.
public enum RenderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The job file cannot be read or is not a valid job.
    case invalidJob(String)
    /// The input cannot be opened or read (missing, permissions, not a file, I/O error).
    case inputUnreadable(path: String, reason: String, transient: Bool)
    /// FFmpeg cannot open or decode the input.
    case invalidMedia(path: String, action: String, reason: String)
    /// The input has no audio stream.
    case noAudio(path: String)
    /// `start` lies at or beyond the end of the input.
    case trimOutOfRange(path: String, start: Double, inputDuration: Double)
    /// Writing the output failed (create, write, seek, fsync, close).
    case io(SystemError)
    /// The written file is not what was encoded.
    case verify(path: String, reason: String)
    /// SIGTERM or SIGINT arrived, or the reader of the events went away.
    case cancelled(path: String)
    /// A failure that is no fault of the input (encoder, muxer, memory).
    case `internal`(String)
    /// The render went past one of the spool's `renderLimits`.
    case limitExceeded(String)
    /// The render reached its deadline (the job's or the spool's timeout) and stopped itself.
    case timedOut(String)

    /// The `code` of the error event.
    public var code: String {
        switch self {
        case .invalidJob: return "invalid-job"
        case .inputUnreadable: return "input-unreadable"
        case .invalidMedia: return "invalid-media"
        case .noAudio: return "no-audio"
        case .trimOutOfRange: return "trim-out-of-range"
        case .io: return "io"
        case .verify: return "verify"
        case .cancelled: return "cancelled"
        case .internal: return "internal"
        case .limitExceeded: return "limit-exceeded"
        case .timedOut: return "timeout"
        }
    }

    /// Whether the same job may succeed later (full disk, fd limits, I/O errors, a stop).
    public var isTransient: Bool {
        switch self {
        case let .inputUnreadable(_, _, transient): return transient
        case let .io(e): return e.isTransient
        // A SIGTERM comes from a daemon shutting down or a service manager:
        // the job should run again.
        case .cancelled: return true
        default: return false
        }
    }

    /// sysexits: 65 for a bad job file, 75 for transient failures, else 1.
    public var exitStatus: Int32 {
        if case .invalidJob = self { return 65 }
        return isTransient ? 75 : 1
    }

    public var description: String {
        switch self {
        case let .invalidJob(m):
            return m
        case let .inputUnreadable(path, reason, _):
            return "could not read input '\(path)': \(reason)"
        case let .invalidMedia(path, action, reason):
            return "could not \(action) input '\(path)': \(reason)"
        case let .noAudio(path):
            return "input '\(path)' has no audio stream"
        case let .trimOutOfRange(path, start, end):
            return "start \(RenderError.seconds(start)) s is beyond the end of input '\(path)' (\(RenderError.seconds(end)) s long)"
        case let .io(e):
            let what: String
            switch e.call {
            case "open": what = "could not create the output file"
            case "fsync": what = "could not flush the output file to disk"
            case "close": what = "could not close the output file"
            case "fstat": what = "could not stat the output file"
            default: what = "could not \(e.call) the output file"
            }
            let limit = e.errno == EFBIG ? " (larger than a render may write: the spool's renderLimits.fileSizeMB)"
                : e.errno == ELOOP && Confinement.roots.confines(.output) ? " (a symbolic link on the way, below the spool's outputRoots, where links are not followed)" : ""
            return "\(what)\(e.path.map { " '\($0)'" } ?? ""): \(e.message)\(limit)"
        case let .verify(path, reason):
            return "the output made from '\(path)' failed verification: \(reason)"
        case let .cancelled(path):
            return "the render of '\(path)' was cancelled"
        case let .internal(m):
            return m
        case let .limitExceeded(m), let .timedOut(m):
            return m
        }
    }

    /// Seconds with millisecond precision and no trailing zeros ("1.5", "12.345").
    static func seconds(_ s: Double) -> String {
        let ms = (s * 1000).rounded()
        if ms == ms.rounded(.towardZero), abs(ms) < 1e15 {
            let whole = Int64(ms) / 1000, frac = abs(Int64(ms) % 1000)
            if frac == 0 { return String(whole) }
            var f = String(frac)
            f = String(repeating: "0", count: 3 - f.count) + f
            while f.hasSuffix("0") { f.removeLast() }
            return (ms < 0 && whole == 0 ? "-" : "") + "\(whole).\(f)"
        }
        return String(s)
    }
}
