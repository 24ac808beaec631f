import CFFmpeg
import Glibc

/// An `AVIOContext` on one of our file descriptors (`avio_alloc_context`
/// with read or write callbacks and a seek callback).
///
/// FFmpeg reads and writes only through this: it never sees a path, so no
/// URL, protocol or nested file can be reached from inside a media file. The
/// read callback also stops reading once a cancel was requested.
final class CustomIO {
    let context: UnsafeMutablePointer<AVIOContext>
    /// The file the callbacks use; kept alive as long as the context.
    let file: FileDescriptor

    static let bufferSize: Int32 = 1 << 16

    /// A reading context (read + seek, with `AVSEEK_SIZE` from fstat).
    convenience init(reading file: FileDescriptor) throws(AVError) {
        try self.init(file: file, writable: false)
    }

    /// A writing context (write + seek; the mp3 muxer seeks back to fill in the Xing header).
    convenience init(writing file: FileDescriptor) throws(AVError) {
        try self.init(file: file, writable: true)
    }

    private init(file: FileDescriptor, writable: Bool) throws(AVError) {
        self.file = file
        guard let buffer = av_malloc(Int(CustomIO.bufferSize)) else { throw .noMemory }
        let opaque = Unmanaged.passUnretained(file).toOpaque()
        let ctx: UnsafeMutablePointer<AVIOContext>?
        if writable {
            ctx = avio_alloc_context(buffer.assumingMemoryBound(to: UInt8.self), CustomIO.bufferSize, 1, opaque, nil,
                                     { opaque, buf, size in
                                         let file = Unmanaged<FileDescriptor>.fromOpaque(opaque!).takeUnretainedValue()
                                         guard let buf, size > 0 else { return 0 }
                                         if !file.writeAll(buf, count: Int(size)) {
                                             return cffmpeg_averror(file.lastError?.errno ?? EIO)
                                         }
                                         return size
                                     },
                                     { opaque, offset, whence in CustomIO.seek(opaque, offset, whence) })
        } else {
            ctx = avio_alloc_context(buffer.assumingMemoryBound(to: UInt8.self), CustomIO.bufferSize, 0, opaque,
                                     { opaque, buf, size in
                                         let file = Unmanaged<FileDescriptor>.fromOpaque(opaque!).takeUnretainedValue()
                                         if Cancellation.isRequested { return cffmpeg_averror_exit() }
                                         guard let buf, size > 0 else { return 0 }
                                         let n = file.read(into: buf, count: Int(size))
                                         if n < 0 { return cffmpeg_averror(file.lastError?.errno ?? EIO) }
                                         if n == 0 { return cffmpeg_averror_eof() }
                                         return Int32(n)
                                     },
                                     nil,
                                     { opaque, offset, whence in CustomIO.seek(opaque, offset, whence) })
        }
        guard let ctx else {
            av_free(buffer)
            throw .noMemory
        }
        context = ctx
    }

    private static func seek(_ opaque: UnsafeMutableRawPointer?, _ offset: Int64, _ whence: Int32) -> Int64 {
        let file = Unmanaged<FileDescriptor>.fromOpaque(opaque!).takeUnretainedValue()
        if whence & AVSEEK_SIZE != 0 {
            guard let size = try? file.size() else { return Int64(cffmpeg_averror(EIO)) }
            return size
        }
        let r = file.seek(to: offset, whence: whence & ~AVSEEK_FORCE)
        if r < 0 { return Int64(cffmpeg_averror(file.lastError?.errno ?? EIO)) }
        return r
    }

    /// Bytes consumed or produced so far (`avio_tell`).
    var position: Int64 { avio_tell(context) }

    deinit {
        // FFmpeg may have replaced the buffer we gave it: free the current one.
        av_freep(&context.pointee.buffer)
        var ctx: UnsafeMutablePointer<AVIOContext>? = context
        avio_context_free(&ctx)
    }
}
