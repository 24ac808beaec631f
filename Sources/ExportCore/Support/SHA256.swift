import CLibcrypto

/// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), from OpenSSL's libcrypto,
/// which uses the CPU's SHA instructions where it has them (1.5 GB/s on the
/// benchmark machine): slide files for the carousel manifest, the spool's
/// salted user hashes, and content hashes of input files.
public enum SHA256 {
    /// Length of a digest in bytes.
    public static let digestBytes = 32

    /// The 32-byte digest of `message` (`SHA256()`).
    public static func hash(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { hash($0) }
    }

    /// The 32-byte digest of the bytes in `buffer` (`SHA256()`).
    public static func hash(_ buffer: UnsafeRawBufferPointer) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: digestBytes)
        _ = digest.withUnsafeMutableBufferPointer { d in
            CLibcrypto.SHA256(buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count, d.baseAddress)
        }
        return digest
    }

    /// HMAC-SHA256 of `message` under `key` (`HMAC()` with `EVP_sha256()`).
    public static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        key.withUnsafeBytes { k in
            message.withUnsafeBufferPointer { m in
                digest.withUnsafeMutableBufferPointer { d in
                    _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress, m.count, d.baseAddress, &length)
                }
            }
        }
        return Array(digest.prefix(Int(length)))
    }

    /// Lower-case hexadecimal of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// A digest computed piece by piece, for a file read in blocks
    /// (`EVP_DigestInit_ex` / `EVP_DigestUpdate` / `EVP_DigestFinal_ex`).
    public final class Hasher {
        private let context: OpaquePointer

        /// A fresh SHA-256 computation; nil only when libcrypto cannot allocate one.
        public init?() {
            guard let c = EVP_MD_CTX_new() else { return nil }
            guard EVP_DigestInit_ex(c, EVP_sha256(), nil) == 1 else { EVP_MD_CTX_free(c); return nil }
            context = c
        }

        deinit { EVP_MD_CTX_free(context) }

        /// Adds the bytes in `buffer`.
        public func update(_ buffer: UnsafeRawBufferPointer) {
            guard let base = buffer.baseAddress, buffer.count > 0 else { return }
            EVP_DigestUpdate(context, base, buffer.count)
        }

        /// Adds `bytes`.
        public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

        /// The digest of everything added; the hasher is spent afterwards.
        public func finalize() -> [UInt8] {
            var digest = [UInt8](repeating: 0, count: SHA256.digestBytes)
            var length: UInt32 = 0
            digest.withUnsafeMutableBufferPointer { d in _ = EVP_DigestFinal_ex(context, d.baseAddress, &length) }
            return digest
        }
    }
}
