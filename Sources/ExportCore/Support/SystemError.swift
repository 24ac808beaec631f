import Glibc

/// A failed system call: which call, on which path, and errno.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public var call: String
    public var path: String?
    public var errno: Int32

    public init(_ call: String, _ path: String? = nil, errno: Int32 = Glibc.errno) {
        self.call = call
        self.path = path
        self.errno = errno
    }

    public var message: String { String(cString: strerror(errno)) }

    public var description: String {
        if let path { return "\(call) '\(path)': \(message)" }
        return "\(call): \(message)"
    }

    /// Errors that may go away by themselves (full disk, fd or memory pressure, I/O).
    public var isTransient: Bool {
        [ENOSPC, EDQUOT, EMFILE, ENFILE, EIO, ENOMEM, EAGAIN, EROFS, EBUSY].contains(errno)
    }
}
