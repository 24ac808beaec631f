import Glibc

extension SHA256 {
    /// The hex SHA-256 of a file's content, read in 1 MiB blocks (O_NOFOLLOW),
    /// so a long video is hashed without being held in memory.
    public static func hexOfFile(_ path: String) throws(SystemError) -> String {
        let fd = try Sys.open(path, O_RDONLY | O_NOFOLLOW)
        defer { Glibc.close(fd) }
        guard let hasher = Hasher() else { throw SystemError("SHA-256", path, errno: ENOMEM) }
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buf.withUnsafeMutableBytes { b in Sys.retry { read(fd, b.baseAddress!, b.count) } }
            if n < 0 { throw SystemError("read", path) }
            if n == 0 { break }
            buf.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return hex(hasher.finalize())
    }
}
