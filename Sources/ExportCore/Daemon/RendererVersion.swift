import Glibc

/// exportctl's version, shared by both binaries.
public enum ExportVersion {
    public static let string = "0.1.0"
}

/// What `exportctl-render --version` says it is: exportctl's version and
/// the FFmpeg libraries it loaded. Part of the key `submit --dedupe` derives,
/// so a different renderer renders the same job again.
public enum RendererVersion {
    /// Why the version could not be read.
    public struct Unavailable: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Runs `renderer --version` and returns its `version` event's text.
    public static func read(renderer: String = RenderChild.rendererPath()) throws(Unavailable) -> String {
        let child: RenderChild
        do { child = try RenderChild(arguments: ["--version"], renderer: renderer) } catch {
            throw Unavailable(message: "cannot run '\(renderer)' for its version: \(error.errno == ENOENT ? "no such file" : error.message)")
        }
        while !child.reap() {
            var p = pollfd(fd: child.eventFD, events: Int16(child.eofSeen ? 0 : POLLIN), revents: 0)
            _ = poll(&p, 1, 200)
            _ = child.readEvents()
        }
        _ = child.readEvents()
        guard child.exitCode == 0, let e = child.finalEvent, e["event"]?.stringValue == "version",
              let v = e["version"]?.stringValue, !v.isEmpty else {
            throw Unavailable(message: "'\(renderer) --version' exited with status \(child.exitCode ?? -1) without a version")
        }
        return v
    }
}
