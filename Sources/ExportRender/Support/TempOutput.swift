import ExportCore

/// The temp output of one render: removed (a file, or a carousel's folder)
/// when the render fails after creating it, never when someone else made it.
enum TempOutput {
    /// Runs `render`, which sets its flag once it has created `path`; on a failure after that, `path` is removed.
    static func removedOnFailure<T>(_ path: String, _ render: (inout Bool) throws(RenderError) -> T) throws(RenderError) -> T {
        var created = false
        do {
            return try render(&created)
        } catch {
            if created { try? Sys.removeOutput(path) }
            throw error
        }
    }
}
