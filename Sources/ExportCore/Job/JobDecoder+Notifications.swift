extension JobDecoder {
    /// `hooks` (commands per final state) and `notify` (`{"url": "http://…"}`).
    func decodeNotifications(_ root: JSONValue, into job: inout Job, name: String) throws(JobError) {
        if let v = root["hooks"] {
            job.hooks = try Hooks.parse(v, field: "hooks", name: name, baseDirectory: mode == .submitted ? baseDirectory : nil)
        }
        guard let v = root["notify"] else { return }
        guard case let .object(members) = v else {
            throw JobError(file: name, field: "notify", message: "expected an object like {\"url\": \"https://example.com/hook\"}, got \(v.typeName)")
        }
        for (k, _) in members where k != "url" { throw JobError(file: name, field: "notify.\(k)", message: "unknown field; notify has only \"url\"") }
        guard let u = v["url"] else { throw JobError(file: name, field: "notify.url", message: "missing; give an http:// or https:// URL") }
        guard let text = u.stringValue else { throw JobError(file: name, field: "notify.url", message: "expected a URL string, got \(u.typeName)") }
        switch WebhookURL.parse(text) {
        case let .success(url): job.notify = url
        case let .failure(p): throw JobError(file: name, field: "notify.url", message: p.message)
        }
    }
}
