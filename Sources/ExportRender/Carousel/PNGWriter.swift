import CFFmpeg
import CLibdeflate

/// Writes RGB24 pictures as PNG files, compressed with libdeflate.
///
/// The file is what FFmpeg's `png` encoder writes with its defaults (8-bit
/// RGB, no interlace, filter type None on every row, deflate level 6), in
/// fewer chunks: `IHDR`, one `IDAT`, `IEND`. libdeflate compresses the same
/// rows about twice as fast as zlib at that level and no larger
/// (docs/benchmarks.md), and deflate is most of a photo slide's time.
///
/// One instance owns one compressor: use it from one thread at a time.
final class PNGWriter {
    private let compressor: OpaquePointer

    /// The deflate level: 6, zlib's and FFmpeg's default.
    static let level: Int32 = 6

    /// A writer with its own compressor (`libdeflate_alloc_compressor`).
    /// - Throws: `.internal` when libdeflate cannot allocate one.
    init() throws(RenderError) {
        guard let c = libdeflate_alloc_compressor(PNGWriter.level) else {
            throw .internal("out of memory: cannot allocate a deflate compressor")
        }
        compressor = c
    }

    deinit { libdeflate_free_compressor(compressor) }

    /// The PNG file of `frame`, an rgb24 picture (the caller checks its format).
    ///
    /// The rows, each behind its filter byte, are compressed straight into
    /// the `IDAT` chunk of the file (`libdeflate_zlib_compress`), and each
    /// chunk's CRC is `libdeflate_crc32` over its type and data.
    /// - Throws: `.internal` when the picture is too large for one `IDAT` chunk.
    func file(of frame: Frame) throws(RenderError) -> [UInt8] {
        let width = frame.width, height = frame.height
        let rowBytes = 3 * width
        var rows = [UInt8](repeating: 0, count: (rowBytes + 1) * height)
        let src = frame.data(0), stride = frame.linesize(0)
        rows.withUnsafeMutableBufferPointer { r in
            for y in 0..<height {
                // Filter byte 0 (None) is already there.
                (r.baseAddress! + y * (rowBytes + 1) + 1).update(from: src + y * stride, count: rowBytes)
            }
        }
        let bound = libdeflate_zlib_compress_bound(compressor, rows.count)
        guard bound < Int(Int32.max) else {
            throw .internal("a \(width)×\(height) picture is too large for one PNG data chunk")
        }
        var out = PNGWriter.signature
        out.reserveCapacity(8 + 25 + 12 + bound + 12)
        var header = [UInt8]()
        PNGWriter.append32(&header, UInt32(width))
        PNGWriter.append32(&header, UInt32(height))
        header += [8, 2, 0, 0, 0]  // 8 bits, truecolour, deflate, adaptive filtering, no interlace
        appendChunk(&out, "IHDR", header)

        // IDAT: length, type, then the zlib stream compressed in place, then the CRC.
        let lengthAt = out.count
        out += [0, 0, 0, 0] + Array("IDAT".utf8)
        let dataAt = out.count
        out += [UInt8](repeating: 0, count: bound)
        let compressed = rows.withUnsafeBytes { r in
            out.withUnsafeMutableBytes { o in
                libdeflate_zlib_compress(compressor, r.baseAddress, r.count, o.baseAddress! + dataAt, bound)
            }
        }
        guard compressed > 0 else { throw .internal("libdeflate could not compress a \(width)×\(height) picture") }
        out.removeLast(bound - compressed)
        for i in 0..<4 { out[lengthAt + i] = UInt8(truncatingIfNeeded: UInt32(compressed) >> (24 - 8 * UInt32(i))) }
        let crc = out.withUnsafeBytes { o in libdeflate_crc32(0, o.baseAddress! + lengthAt + 4, 4 + compressed) }
        PNGWriter.append32(&out, crc)

        appendChunk(&out, "IEND", [])
        return out
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Why `file` is not a whole `width`×`height` PNG of the kind this writer
    /// makes, or nil when it is: the signature, every chunk inside the file
    /// with its CRC right, `IHDR` first with the size and 8-bit RGB, the `IDAT`
    /// data a zlib stream (its Adler-32 checked) of exactly one filter byte
    /// (0…4) and 3 × `width` bytes per row, and `IEND` last, with nothing after.
    ///
    /// This is the read-back check of a slide on disk: a full decode but for
    /// undoing the row filters, with libdeflate's `libdeflate_zlib_decompress`,
    /// which also refuses a stream that decompresses to more or fewer bytes.
    static func problem(in file: [UInt8], width: Int, height: Int) -> String? {
        guard file.count >= 8 + 25 + 12 + 12, file.starts(with: signature) else { return "it is not a PNG file" }
        func be32(_ at: Int) -> Int { Int(file[at]) << 24 | Int(file[at + 1]) << 16 | Int(file[at + 2]) << 8 | Int(file[at + 3]) }
        var at = 8
        var sawHeader = false, sawEnd = false
        var data = [UInt8]()
        while at < file.count {
            guard !sawEnd else { return "there are bytes after IEND" }
            guard at + 12 <= file.count else { return "the file ends inside a chunk header" }
            let length = be32(at)
            guard length <= file.count - at - 12 else { return "a chunk runs past the end of the file (truncated?)" }
            let type = String(decoding: file[(at + 4)..<(at + 8)], as: UTF8.self)
            let crc = file.withUnsafeBytes { f in libdeflate_crc32(0, f.baseAddress! + at + 4, 4 + length) }
            guard UInt32(be32(at + 8 + length)) == crc else { return "the CRC of a \(type) chunk is wrong" }
            let body = (at + 8)..<(at + 8 + length)
            switch type {
            case "IHDR":
                guard !sawHeader, at == 8, length == 13 else { return "IHDR is not the first chunk or has the wrong length" }
                guard be32(at + 8) == width, be32(at + 12) == height else {
                    return "it is \(be32(at + 8))×\(be32(at + 12)), expected \(width)×\(height)"
                }
                guard file[(at + 16)..<(at + 21)].elementsEqual([8, 2, 0, 0, 0]) else { return "it is not 8-bit RGB without interlace" }
                sawHeader = true
            case "IDAT":
                guard sawHeader else { return "image data comes before IHDR" }
                data += file[body]
            case "IEND":
                sawEnd = true
            default:
                break
            }
            at += 12 + length
        }
        guard sawHeader, sawEnd else { return "IHDR or IEND is missing" }
        let rowBytes = 3 * width + 1
        var rows = [UInt8](repeating: 0, count: rowBytes * height)
        guard let decompressor = libdeflate_alloc_decompressor() else { return "out of memory" }
        defer { libdeflate_free_decompressor(decompressor) }
        let result = data.withUnsafeBytes { d in
            rows.withUnsafeMutableBytes { r in
                libdeflate_zlib_decompress(decompressor, d.baseAddress, d.count, r.baseAddress, r.count, nil)
            }
        }
        guard result == LIBDEFLATE_SUCCESS else { return "the image data does not decompress to \(width)×\(height) pixels" }
        for y in 0..<height where rows[y * rowBytes] > 4 { return "row \(y + 1) has an unknown filter type" }
        return nil
    }

    private func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        PNGWriter.append32(&out, UInt32(data.count))
        let start = out.count
        out += Array(type.utf8) + data
        let crc = out.withUnsafeBytes { o in libdeflate_crc32(0, o.baseAddress! + start, 4 + data.count) }
        PNGWriter.append32(&out, crc)
    }

    private static func append32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }
}
