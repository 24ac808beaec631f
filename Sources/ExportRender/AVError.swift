import CFFmpeg
import Glibc

/// An FFmpeg error code (a negative `Int32`), described by `av_strerror`.
///
/// Like swift-system's `Errno`: a thin, comparable wrapper that reads the
/// way FFmpeg prints it ("Invalid data found when processing input").
public struct AVError: Error, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// `AVERROR(e)` of a POSIX errno.
    public init(errno: Int32) { rawValue = cffmpeg_averror(errno) }

    public static let endOfFile = AVError(cffmpeg_averror_eof())
    public static let tryAgain = AVError(errno: EAGAIN)
    public static let exit = AVError(cffmpeg_averror_exit())
    public static let invalidData = AVError(cffmpeg_averror_invaliddata())
    public static let streamNotFound = AVError(cffmpeg_averror_stream_not_found())
    public static let decoderNotFound = AVError(cffmpeg_averror_decoder_not_found())
    public static let encoderNotFound = AVError(cffmpeg_averror_encoder_not_found())
    public static let noMemory = AVError(errno: ENOMEM)

    /// The POSIX errno this code wraps, when it is `AVERROR(errno)`.
    public var posixErrno: Int32? {
        rawValue < 0 && -rawValue < 4096 ? -rawValue : nil
    }

    /// The text of `av_strerror`.
    public var description: String {
        var buf = [CChar](repeating: 0, count: Int(AV_ERROR_MAX_STRING_SIZE))
        if av_strerror(rawValue, &buf, buf.count) < 0 {
            return "FFmpeg error \(rawValue)"
        }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Turns an FFmpeg return value into a thrown error when it is negative.
    @discardableResult
    static func check(_ ret: Int32) throws(AVError) -> Int32 {
        if ret < 0 { throw AVError(ret) }
        return ret
    }
}
