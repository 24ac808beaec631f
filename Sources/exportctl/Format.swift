import ExportCore

/// Human-readable lines for status, list and wait.
enum Format {
    static func line(_ r: StatusSidecar) -> String { line(r, eta: nil) }

    /// - Parameter eta: seconds until a queued or running job should be done (`QueueForecast`).
    static func line(_ r: StatusSidecar, eta: Double?) -> String {
        var parts = [r.id.rawValue, r.state.rawValue.padding(10)]
        switch r.state {
        case .queued:
            parts.append((r.position.map { "position \($0)" } ?? "") + (r.priority != 0 ? " priority \(r.priority)" : ""))
            parts.append(eta.map { "ETA \(seconds($0))" } ?? "")
        case .deferred:
            parts.append(r.deferredReason ?? "")
        case .held:
            parts.append("held" + (r.priority != 0 ? ", priority \(r.priority)" : ""))
        case .processing:
            parts.append("\(Int((r.progress * 100).rounded(.down)))%" + (r.stage.map { " \($0)" } ?? "") + (r.attempts > 1 ? " (attempt \(r.attempts))" : ""))
            parts.append(eta.map { "ETA \(seconds($0))" } ?? "")
        case .completed:
            var d: [String] = []
            if let n = r.output.slides { d.append("\(n) slide\(n == 1 ? "" : "s")") } else if let s = r.output.duration { d.append(seconds(s)) }
            if let b = r.output.bytes { d.append(bytes(b)) }
            parts.append(d.joined(separator: ", "))
        case .failed, .cancelled:
            if let e = r.error { parts.append("\(e.code): \(e.message)") }
        }
        parts.append("→ \(r.output.path)")
        return parts.filter { !$0.isEmpty }.joined(separator: "  ")
    }

    static func seconds(_ s: Double) -> String {
        if s < 60 { return String(Int((s * 10).rounded()) / 10) + "." + String(Int((s * 10).rounded()) % 10) + " s" }
        let t = Int(s.rounded())
        return t >= 3600 ? "\(t / 3600)h\(pad2((t % 3600) / 60))m\(pad2(t % 60))s" : "\(t / 60)m\(pad2(t % 60))s"
    }

    static func bytes(_ b: Int64) -> String {
        if b < 1000 { return "\(b) B" }
        if b < 1_000_000 { return "\(b / 1000) kB" }
        return "\(b / 1_000_000).\((b / 100_000) % 10) MB"
    }

    private static func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
