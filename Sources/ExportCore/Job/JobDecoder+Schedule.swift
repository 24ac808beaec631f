extension JobDecoder {
    /// Members of every kind of job that say when and how often it runs.
    static let scheduleFields: Set<String> = ["attempts", "backoff", "timeout", "retryOnTimeout", "priority", "notBefore"]

    /// Reads and checks `attempts`, `backoff`, `timeout`, `retryOnTimeout`, `priority` and `notBefore`.
    func scheduleOptions(_ root: JSONValue, name: String) throws(JobError) -> JobSchedule {
        func fail(_ field: String, _ message: String) -> JobError { JobError(file: name, field: field, message: message) }
        var s = JobSchedule()
        if let v = root["attempts"] {
            guard let i = v.intValue, JobSchedule.attemptsRange.contains(Int(i)) else {
                throw fail("attempts", "expected a whole number 1…100 (how many times the job may start), got \(JobSchedule.show(v))")
            }
            s.attempts = Int(i)
        }
        if let v = root["backoff"] {
            guard let d = v.doubleValue, d.isFinite, d >= 0, d <= JobSchedule.maxBackoff else {
                throw fail("backoff", "expected a number of seconds 0…900 (the delay before the first retry), got \(JobSchedule.show(v))")
            }
            s.backoff = d
        }
        if let v = root["timeout"] {
            guard let d = v.doubleValue, d.isFinite, d > 0, d <= JobSchedule.maxTimeout else {
                throw fail("timeout", "expected a number of seconds greater than 0 and at most 604800, got \(JobSchedule.show(v))")
            }
            s.timeout = d
        }
        if let v = root["retryOnTimeout"] {
            guard let b = v.boolValue else { throw fail("retryOnTimeout", "expected true or false, got \(v.typeName)") }
            s.retryOnTimeout = b
        }
        if let v = root["priority"] {
            guard let i = v.intValue, JobSchedule.priorityRange.contains(Int(i)) else {
                throw fail("priority", "expected a whole number -1000…1000 (higher starts first), got \(JobSchedule.show(v))")
            }
            s.priority = Int(i)
        }
        if let v = root["notBefore"] {
            guard let text = v.stringValue else { throw fail("notBefore", "expected an ISO 8601 time string such as \"2026-12-01T18:30:00Z\", got \(v.typeName)") }
            guard let t = Clock.parseISO8601WithOffset(text) else {
                throw fail("notBefore", "'\(text)' is not an ISO 8601 time; write it like \"2026-12-01T18:30:00Z\" or \"2026-12-01T19:30:00+01:00\"")
            }
            s.notBefore = t
        }
        return s
    }
}

extension JobSchedule {
    /// A value as it appears in a message: a number as written, else its type.
    static func show(_ v: JSONValue) -> String {
        if case let .int(i) = v { return String(i) }
        if let d = v.doubleValue { return fmt(d) }
        return v.typeName
    }
}
