import Glibc

/// Whether the filesystem a job writes to has room for it: the daemon starts
/// a job only when the free space there is at least the spool's
/// `diskMarginMB` plus the job's estimated output size.
///
/// The estimate is deliberately simple and errs on the large side: the sizes
/// of the files the job reads (`input`, `audio`, slide pictures), since an
/// mp3 or mp4 made from them is rarely larger; plus, for a carousel, 3 bytes
/// per pixel of every slide (raw RGB, more than a PNG or JPEG of it takes).
public enum DiskAdmission {
    /// The estimated size in bytes of what `job` writes.
    public static func estimatedBytes(_ job: Job) -> Int64 {
        var files: [String] = []
        if !job.input.isEmpty { files.append(job.input) }
        switch job.kind {
        case .mp3: break
        case .mp4:
            if let a = job.mp4.audio { files.append(a) }
            files += job.mp4.slides.compactMap(\.image)
        case .carousel:
            files += job.carousel.slides.compactMap(\.image)
        }
        var total: Int64 = 0
        for f in Set(files) {
            var st = stat()
            if stat(f, &st) == 0 { total += Int64(st.st_size) }
        }
        if job.kind == .carousel {
            total += Int64(job.carousel.slides.count) * Int64(job.carousel.width) * Int64(job.carousel.height) * 3
        }
        return total
    }

    /// Bytes an unprivileged process may still write on the filesystem holding `directory` (statvfs `f_bavail`).
    public static func freeBytes(in directory: String) -> Int64? {
        var s = statvfs()
        guard statvfs(directory, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }

    /// Why `job` may not start for lack of space, or nil when it may (or the
    /// space cannot be read: then the render itself says what is wrong).
    public static func refusal(for job: Job, marginMB: Int) -> String? {
        let dir = PathRules.directory(of: job.output)
        guard let free = freeBytes(in: dir) else { return nil }
        let estimate = estimatedBytes(job)
        let margin = Int64(marginMB) << 20
        guard free < margin + estimate else { return nil }
        return "waiting for disk space: \(mib(free)) free on the filesystem of \(dir); the job needs \(mib(estimate)) (its estimated size) plus the spool's diskMarginMB of \(marginMB) MiB"
    }

    static func mib(_ bytes: Int64) -> String {
        let m = Double(bytes) / 1_048_576
        return m >= 10 ? "\(Int64(m.rounded())) MiB" : "\(Double(Int(m * 10)) / 10) MiB"
    }
}
