import Glibc

extension SHA256 {
    /// The hex SHA-256 of a file's content, read in 1 MiB blocks (O_NOFOLLOW),
    /// so a long video is hashed without being held in memory.
    public static func hexOfFile(_ path: String) throws(SystemError) -> String {
        let fd = try Sys.open(path, O_RDONLY | O_NOFOLLOW)
        defer { Glibc.close(fd) }
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
            (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
        let block = 1 << 20
        var buf = [UInt8](repeating: 0, count: block)
        var w = [UInt32](repeating: 0, count: 64)
        var have = 0
        var total: UInt64 = 0
        /// Compresses the whole 64-byte blocks of `bytes[0..<count]`.
        func consume(_ bytes: [UInt8], _ count: Int) {
            k.withUnsafeBufferPointer { k in
                w.withUnsafeMutableBufferPointer { w in
                    bytes.withUnsafeBufferPointer { m in
                        for chunk in stride(from: 0, to: count / 64 * 64, by: 64) { compress(m.baseAddress! + chunk, &h, w, k) }
                    }
                }
            }
        }
        while true {
            let n = buf.withUnsafeMutableBytes { b in Sys.retry { read(fd, b.baseAddress! + have, block - have) } }
            if n < 0 { throw SystemError("read", path) }
            if n == 0 { break }
            have += n
            total += UInt64(n)
            let whole = have / 64 * 64
            consume(buf, whole)
            if whole < have { buf.replaceSubrange(0..<(have - whole), with: Array(buf[whole..<have])) }
            have -= whole
        }
        var tail = Array(buf[0..<have])
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for i in (0..<8).reversed() { tail.append(UInt8(((total * 8) >> (UInt64(i) * 8)) & 0xff)) }
        consume(tail, tail.count)
        return hex([h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7].flatMap { v in (0..<4).map { UInt8((v >> (24 - UInt32($0) * 8)) & 0xff) } })
    }
}
