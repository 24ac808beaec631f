import ExportCore
import ExportRender

/// The JOBFILE argument: a job as stored in the spool.
enum StoredJobFile {
    /// Reads and decodes the stored job (at most 1 MiB; `-` is stdin).
    static func load(_ path: String) -> Result<Job, RenderError> {
        let name = path == "-" ? "<stdin>" : path
        let bytes: [UInt8]
        do {
            bytes = path == "-" ? try Sys.readAll(0, limit: Job.maxStoredBytes, path: name) : try Sys.readFile(path, limit: Job.maxStoredBytes)
        } catch {
            if error.isTransient { return .failure(.io(error)) }
            return .failure(.invalidJob("cannot read job file '\(name)': \(error.message)"))
        }
        do {
            let job = try JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false, roots: Confinement.roots).decode(bytes, name: name)
            guard JobKind.supported.contains(job.kind) else { return .failure(.invalidJob("\(name): kind '\(job.kind.rawValue)' is not rendered by this version")) }
            return .success(job)
        } catch {
            return .failure(.invalidJob(error.description))
        }
    }
}
