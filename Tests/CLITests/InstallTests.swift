import Foundation
import XCTest

/// `make install-files` (what `make install` does after the release build) into a
/// scratch prefix from the debug binaries: every file in place, the unit's
/// ExecStart at the installed binary and clean under `systemd-analyze verify`,
/// completions generated for bash, zsh and fish; `make uninstall` removes them all.
final class InstallTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    private func run(_ tool: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.currentDirectoryURL = InstallTests.repo
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testInstallPutsUnitCompletionsAndManPageInPlaceAndUninstallRemovesThem() throws {
        let h = try CLIHarness(needsRenderer: true)
        defer { h.stopAll() }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/make"),
              FileManager.default.fileExists(atPath: InstallTests.repo.appendingPathComponent("dist/exportctl.service").path) else {
            throw XCTSkip("make or the source tree is not available")
        }
        let prefix = h.path("root/usr")
        let install = try run("/usr/bin/make", ["-s", "install-files", "BIN=\(CLIHarness.binDir.path)", "PREFIX=\(prefix)"])
        XCTAssertEqual(install.status, 0, install.output)
        let files = ["bin/exportctl", "libexec/exportctl/exportctl-render", "share/man/man1/exportctl.1", "lib/systemd/system/exportctl.service",
                     "share/bash-completion/completions/exportctl", "share/zsh/site-functions/_exportctl", "share/fish/vendor_completions.d/exportctl.fish"]
        for f in files { XCTAssertTrue(FileManager.default.fileExists(atPath: prefix + "/" + f), f) }

        let unit = try String(contentsOfFile: prefix + "/lib/systemd/system/exportctl.service", encoding: .utf8)
        XCTAssertTrue(unit.contains("\nExecStart=\(prefix)/bin/exportctl daemon\n"), unit)
        for line in ["Type=simple", "KillSignal=SIGTERM", "KillMode=mixed", "Restart=on-failure", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "ReadWritePaths=/var/lib/exportctl", "Environment=EXPORTCTL_SPOOL=/var/lib/exportctl/spool"] {
            XCTAssertTrue(unit.contains("\n" + line + "\n"), line)
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") {
            let verify = try run("/usr/bin/systemd-analyze", ["verify", "--man=no", prefix + "/lib/systemd/system/exportctl.service"])
            XCTAssertEqual(verify.status, 0, verify.output)
            XCTAssertEqual(verify.output, "", "systemd-analyze verify has something to say")
        }

        // The completions know the subcommands; bash parses its script.
        let bash = try String(contentsOfFile: prefix + "/share/bash-completion/completions/exportctl", encoding: .utf8)
        for sub in ["submit", "gc", "health", "stats", "fsck"] { XCTAssertTrue(bash.contains(sub), sub) }
        XCTAssertEqual(try run("/bin/bash", ["-n", prefix + "/share/bash-completion/completions/exportctl"]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: prefix + "/share/zsh/site-functions/_exportctl", encoding: .utf8).hasPrefix("#compdef exportctl"))
        XCTAssertTrue(try String(contentsOfFile: prefix + "/share/fish/vendor_completions.d/exportctl.fish", encoding: .utf8).contains("complete -c 'exportctl'"))
        // The installed layout finds its renderer (../libexec/exportctl).
        let once = try run(prefix + "/bin/exportctl", ["--spool", h.spool, "daemon", "--once"])
        XCTAssertEqual(once.status, 0, once.output)
        let health = try run(prefix + "/bin/exportctl", ["--spool", h.spool, "health", "--no-daemon", "--min-free-mb", "0", "--json"])
        XCTAssertTrue(health.output.contains("\(prefix)/libexec/exportctl/exportctl-render"), health.output)

        let uninstall = try run("/usr/bin/make", ["-s", "uninstall", "PREFIX=\(prefix)"])
        XCTAssertEqual(uninstall.status, 0, uninstall.output)
        for f in files { XCTAssertFalse(FileManager.default.fileExists(atPath: prefix + "/" + f), "\(f) left after uninstall") }
    }
}
