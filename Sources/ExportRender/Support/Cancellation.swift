import ExportCore
import Glibc
import Synchronization

/// The render's cancel flag, set from a signal handler.
///
/// SIGTERM (a daemon stopping, a service manager) and SIGINT (Ctrl-C) only
/// set the flag: an atomic store is async-signal-safe. The pipeline checks it
/// between packets, and FFmpeg's `interrupt_callback` and the input read
/// callback return "stop" once it is set.
public enum Cancellation {
    private static let flag = Atomic<Bool>(false)
    private static let cpuFlag = Atomic<Bool>(false)

    /// Whether the stop came from the CPU limit (SIGXCPU) rather than a request.
    public static var cpuLimitReached: Bool { cpuFlag.load(ordering: .relaxed) }

    /// The render's deadline on CLOCK_MONOTONIC (a Double's bits; 0: none).
    private static let deadlineBits = Atomic<UInt64>(0)
    private static let deadlineFlag = Atomic<Bool>(false)

    /// Whether the stop came from the deadline (the job's timeout).
    public static var deadlineReached: Bool { deadlineFlag.load(ordering: .relaxed) }

    /// Stops the render at `monotonic` seconds of CLOCK_MONOTONIC (the clock
    /// is system-wide, so the daemon's deadline means the same here): from
    /// then on `isRequested` is true, so the pipeline's loops and FFmpeg's
    /// `interrupt_callback` stop it as they would for a cancel.
    public static func setDeadline(monotonic: Double) { deadlineBits.store(monotonic.bitPattern, ordering: .relaxed) }

    /// Whether a stop was requested, or the deadline has passed.
    public static var isRequested: Bool {
        if flag.load(ordering: .relaxed) { return true }
        let d = deadlineBits.load(ordering: .relaxed)
        guard d != 0, Clock.monotonic() >= Double(bitPattern: d) else { return false }
        deadlineFlag.store(true, ordering: .relaxed)
        return true
    }

    /// Requests a stop (also what the signal handler does).
    public static func request() { flag.store(true, ordering: .relaxed) }

    /// Clears the flag (tests run several pipelines in one process).
    public static func reset() {
        flag.store(false, ordering: .relaxed)
        deadlineBits.store(0, ordering: .relaxed)
        deadlineFlag.store(false, ordering: .relaxed)
    }

    /// Installs handlers for SIGTERM and SIGINT that set the flag.
    public static func installSignalHandlers() {
        _ = isRequested  // initialise the static before a handler can touch it
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in Cancellation.request() }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        // RLIMIT_CPU's soft limit: stop like a cancel, remembered as the limit (the hard limit kills 5 s later).
        _ = cpuLimitReached
        var cpu = sigaction()
        cpu.__sigaction_handler.sa_handler = { _ in
            Cancellation.cpuFlag.store(true, ordering: .relaxed)
            Cancellation.request()
        }
        sigemptyset(&cpu.sa_mask)
        cpu.sa_flags = 0
        sigaction(SIGXCPU, &cpu, nil)
    }
}
