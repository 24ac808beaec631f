extension JobDecoder {
    /// Decodes a job file as a user submits it: either a job, or
    /// `{"template": T, "data": {…}}`, which is the template `T` filled with
    /// `data` (see `JobTemplate`) and then checked like any job file.
    /// - Parameter templatesDirectory: where bare template names are looked up (`SPOOL/templates`).
    public func decode(_ bytes: [UInt8], name: String, templatesDirectory: String) throws(JobError) -> Job {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch {
            throw JobError(file: name, line: error.line, column: error.column, message: error.message)
        }
        guard let ref = root["template"] else { return try decode(root, name: name) }
        guard case let .object(members) = root else { return try decode(root, name: name) }
        for (k, _) in members where !JobTemplate.jobFields.contains(k) {
            throw JobError(file: name, field: k, message: "a job that names a \"template\" has only \"template\" and \"data\"; put \"\(k)\" in the template (as a value or a {{placeholder}})")
        }
        guard let s = ref.stringValue else { throw JobError(file: name, field: "template", message: "expected a template name or path, got \(ref.typeName)") }
        let template = try JobTemplate.load(s, templatesDirectory: templatesDirectory, cwd: baseDirectory, referrer: name)
        return try decode(template.fill(root["data"] ?? .object([]), name: name), name: name)
    }
}

extension JobDecoder {
    /// The "output exists" error for `job` (deferred by `outputMayExist`), or nil
    /// when its output is not there or it may be replaced.
    public func existingOutput(_ job: Job, name: String) -> JobError? {
        guard !job.overwrite, Sys.fileStatus(job.output) != nil else { return nil }  // lstat: a symlink counts too
        let base = baseDirectory.hasSuffix("/") ? baseDirectory : baseDirectory + "/"
        let shown = job.output.hasPrefix(base) ? String(job.output.dropFirst(base.count)) : job.output
        return JobError(file: name, field: "output", message: "'\(shown)' exists; remove it or set \"overwrite\": true")
    }
}
