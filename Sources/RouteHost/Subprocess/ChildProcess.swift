#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A child process started with `posix_spawn` as the leader of its own process group.
///
/// ```swift
/// let child = try ChildProcess.spawn(executable: "/usr/bin/ffmpeg", arguments: ["-version"],
///                                    environment: ["PATH": "/usr/bin"], stdin: nil, stdout: pipe.write, stderr: nil)
/// let status = await child.exit()
/// ```
///
/// - The child's standard descriptors are the given ones (`nil`: `/dev/null`); every other
///   descriptor is closed in the child, so it never holds our sockets or another child's pipes.
/// - Signal dispositions are reset to their defaults and the signal mask is cleared in the child
///   (a server ignores `SIGPIPE`; a child writing to a closed pipe must die of it).
/// - The child is the leader of a new process group, so ``terminate()`` reaches whatever it
///   started too (yt-dlp runs ffmpeg for some formats).
/// - A thread waits for the child. When the child exits, whatever is left in its group is killed
///   before the child is reaped (the zombie keeps the group id from being reused), so a finished
///   child leaves no orphans either.
public final class ChildProcess: Sendable {
    /// How a child ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var isSuccess: Bool { self == .exited(0) }

        public var description: String {
            switch self {
            case .exited(let code): "exit status \(code)"
            case .signalled(let signal): "signal \(signal)"
            }
        }
    }

    private struct State {
        var termination: Termination?
        var waiters: [CheckedContinuation<Termination, Never>] = []
        var killRequested = false
    }

    public let pid: pid_t
    /// The executable's path, for messages.
    public let executable: String
    private let state = Mutex(State())

    private init(pid: pid_t, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    /// Why a child could not be started.
    public struct SpawnError: Error, Sendable, CustomStringConvertible {
        public var executable: String
        public var errno: Int32
        public var description: String { "cannot start \(executable): \(String(cString: strerror(errno)))" }
    }

    /// Starts `executable` (an absolute path) with `arguments` and exactly `environment`.
    ///
    /// The descriptors are duplicated into the child; the caller still owns (and must close) them.
    public static func spawn(
        executable: String, arguments: [String], environment: [String: String],
        stdin: Int32?, stdout: Int32?, stderr: Int32?
    ) throws(SpawnError) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, source) in [(Int32(0), stdin), (1, stdout), (2, stderr)] {
            if let source {
                posix_spawn_file_actions_adddup2(&actions, source, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        closeFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnError(executable: executable, errno: result) }
        let child = ChildProcess(pid: pid, executable: executable)
        child.startWaiting()
        return child
    }

    /// Waits for the child to end (it is reaped by then).
    public func exit() async -> Termination {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Termination? in
                if let termination = state.termination { return termination }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }

    /// How the child ended; nil while it runs.
    public var termination: Termination? { state.withLock { $0.termination } }

    /// Whether ``terminate()`` was called before the child ended.
    public var wasTerminated: Bool { state.withLock { $0.killRequested } }

    /// Kills the child's whole process group (`SIGKILL`) unless it has been reaped already.
    /// Safe to call any number of times, from any thread.
    public func terminate() {
        state.withLock { state in
            guard state.termination == nil else { return }
            state.killRequested = true
            // Still unreaped: the group id cannot belong to anyone else.
            _ = kill(-pid, SIGKILL)
        }
    }

    private func startWaiting() {
        let pid = self.pid
        let thread = Thread { [self] in
            var info = siginfo_t()
            // Wait without reaping, kill what is left of the group, then reap.
            var waited: Int32
            repeat {
                waited = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT)
            } while waited != 0 && errno == EINTR
            // Only while the zombie holds the id: never signal a group id that may be reused.
            if waited == 0 { _ = kill(-pid, SIGKILL) }
            var status: Int32 = 0
            var reaped: pid_t
            repeat {
                reaped = waitpid(pid, &status, 0)
            } while reaped == -1 && errno == EINTR
            let termination: Termination = (status & 0x7F) == 0 ? .exited((status >> 8) & 0xFF) : .signalled(status & 0x7F)
            let waiters = state.withLock { state in
                state.termination = termination
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: termination) }
        }
        thread.name = "child-\(pid)"
        thread.stackSize = 256 << 10
        thread.start()
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc ≥ 2.34) when available; otherwise every
    /// descriptor up to a bound is closed one by one (errors for closed ones are ignored by glibc).
    private static func closeFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let function = unsafeBitCast(symbol, to: CloseFrom.self)
            if function(&actions, lowest) == 0 { return }
        }
        // Fallback: descriptors this process has open now (a later one is CLOEXEC or not ours).
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            for fd in entries.compactMap(Int32.init) where fd >= lowest {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
        }
    }
}

/// A pipe whose two ends are close-on-exec (a child gets an end only through dup2).
public struct ProcessPipe: Sendable {
    public let read: Int32
    public let write: Int32

    public init() throws(ChildProcess.SpawnError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ChildProcess.SpawnError(executable: "pipe", errno: errno) }
        // (pipe2 is not exported to Swift; children never inherit these anyway: spawn closes
        // every descriptor above 2.)
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        read = fds[0]
        write = fds[1]
    }
}
