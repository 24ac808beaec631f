import CFFmpeg
import Glibc

extension RenderError {
    /// An FFmpeg error while reading `path`: our read failed (I/O), a stop was requested, or the data is bad.
    static func reading(_ error: any Error, file: FileDescriptor, path: String, doing action: String) -> RenderError {
        if let e = error as? RenderError { return e }
        if Cancellation.isRequested || (error as? AVError) == .exit { return .cancelled(path: path) }
        if let e = file.lastError { return .inputUnreadable(path: path, reason: e.message, transient: e.isTransient) }
        // A demuxer that rejects its header says EINVAL ("Invalid argument"): it is the data that is invalid.
        if action == "open", (error as? AVError) == AVError(errno: EINVAL) {
            return .invalidMedia(path: path, action: action, reason: AVError.invalidData.description)
        }
        return .invalidMedia(path: path, action: action, reason: "\(error)")
    }

    /// An FFmpeg error while writing the output made from `path`: our write
    /// failed (disk full…), a stop was requested, or the muxer failed.
    static func writing(_ error: any Error, file: FileDescriptor, path: String, doing what: String) -> RenderError {
        if let e = error as? RenderError { return e }
        if let e = file.lastError { return .io(e) }
        if Cancellation.isRequested || (error as? AVError) == .exit { return .cancelled(path: path) }
        return .internal("could not \(what) for '\(path)': \(error)")
    }
}
