#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// Commands joined stdout → stdin (`yt-dlp … -o - | ffmpeg -i pipe:0 …`), each in its own process
/// group, with the last one's output readable chunk by chunk with backpressure.
///
/// ```swift
/// let pipeline = try await ProcessPipeline.start([download, encode], input: infoJSON, environment: env)
/// while let chunk = try await pipeline.next() { try await writer.write(chunk) }
/// let endings = await pipeline.exits()   // [.exited(0), .exited(0)]
/// ```
///
/// - `input` (optional) is written to the first command's standard input through a socket
///   (`send(MSG_NOSIGNAL)`: a child that exits early cannot raise `SIGPIPE` in the server), then
///   closed. Without it, the first command reads `/dev/null`.
/// - Standard error of each command is kept, at most ``stderrLimit`` bytes (the tail wins: the
///   error lines are last), in ``stderr(of:)``.
/// - Output is read by NIO from a non-blocking pipe and handed over one chunk at a time: while
///   the consumer does not call ``next()``, the pipe fills and the child blocks. Memory stays
///   bounded whatever the output size.
/// - ``terminate()`` kills every command's process group (`SIGKILL`); it is called on
///   cancellation, timeout, client disconnect and shutdown. Children are reaped by their own
///   waiter threads whatever happens.
public final class ProcessPipeline: Sendable {
    /// One command of the pipeline.
    public struct Command: Sendable {
        public var executable: String
        public var arguments: [String]

        public init(_ executable: String, _ arguments: [String]) {
            self.executable = executable
            self.arguments = arguments
        }
    }

    public static let stderrLimit = 16 << 10

    public let children: [ChildProcess]
    private let output: ChunkHandoff
    private let errors: [Task<[UInt8], Never>]
    private let pump: Task<Void, Never>

    private let heldInput: Mutex<Int32?>

    private init(children: [ChildProcess], output: ChunkHandoff, errors: [Task<[UInt8], Never>], pump: Task<Void, Never>, heldInput: Int32?) {
        self.heldInput = Mutex(heldInput)
        self.children = children
        self.output = output
        self.errors = errors
        self.pump = pump
    }

    /// The process ids, first command first.
    public var pids: [pid_t] { children.map(\.pid) }

    /// Starts the commands. On failure, whatever was started is killed.
    ///
    /// - Parameter holdInput: with no `input`, keep the first command's standard input open until
    ///   ``send(input:)`` (or ``terminate()``): the commands start while the input is still being
    ///   made (yt-dlp's Python start-up overlaps the extraction that produces its JSON).
    public static func start(
        _ commands: [Command], input: [UInt8]? = nil, holdInput: Bool = false, environment: [String: String]
    ) async throws -> ProcessPipeline {
        precondition(!commands.isEmpty)
        // Descriptors we still own (closed on the way out); read ends handed to NIO leave this list.
        var owned: Set<Int32> = []
        var children: [ChildProcess] = []
        var inputSocket: Int32?
        func release(_ fd: Int32) { owned.remove(fd) }
        defer { for fd in owned { close(fd) } }
        do {
            var stdin: Int32?
            if input != nil || holdInput {
                var pair: [Int32] = [0, 0]
                guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                    throw ChildProcess.SpawnError(executable: "socketpair", errno: errno)
                }
                owned.formUnion(pair)
                inputSocket = pair[0]
                stdin = pair[1]
            }
            var stderrReads: [Int32] = []
            for command in commands {
                let out = try ProcessPipe()
                owned.formUnion([out.read, out.write])
                let err = try ProcessPipe()
                owned.formUnion([err.read, err.write])
                stderrReads.append(err.read)
                let child = try ChildProcess.spawn(
                    executable: command.executable, arguments: command.arguments, environment: environment,
                    stdin: stdin, stdout: out.write, stderr: err.write)
                children.append(child)
                // The child has its copies: ours of its stdout write end and stderr write end must go,
                // or the reader never sees the end.
                close(out.write); release(out.write)
                close(err.write); release(err.write)
                if let previous = stdin, previous != inputSocket {
                    close(previous); release(previous)
                }
                stdin = out.read
            }
            let last = stdin!
            var errorTasks: [Task<[UInt8], Never>] = []
            for fd in stderrReads {
                release(fd)
                errorTasks.append(try await Self.collect(fd, limit: stderrLimit))
            }
            release(last)
            let handoff = ChunkHandoff()
            let pump = try await Self.pump(last, into: handoff)
            var held: Int32?
            if let inputSocket {
                release(inputSocket)
                if let input { Self.write(input, to: inputSocket) } else { held = inputSocket }
            }
            return ProcessPipeline(children: children, output: handoff, errors: errorTasks, pump: pump, heldInput: held)
        } catch {
            for child in children { child.terminate() }
            throw error
        }
    }

    /// The next chunk of the last command's output; nil at its end.
    public func next() async throws -> ByteBuffer? {
        try await output.receive()
    }

    /// Since when the consumer has been waiting for output (nil while it is busy elsewhere).
    public var waitingSince: ContinuousClock.Instant? { output.consumerWaitingSince }

    /// Sends the held standard input (see `holdInput`) and closes it; later calls do nothing.
    public func send(input: [UInt8]) {
        guard let fd = heldInput.withLock({ fd in defer { fd = nil }; return fd }) else { return }
        Self.write(input, to: fd)
    }

    /// Kills every command's process group and ends the output.
    public func terminate() {
        if let fd = heldInput.withLock({ fd in defer { fd = nil }; return fd }) { close(fd) }
        for child in children { child.terminate() }
        output.fail(CancellationError())
    }

    /// How each command ended, first command first (waits for all).
    public func exits() async -> [ChildProcess.Termination] {
        var result: [ChildProcess.Termination] = []
        for child in children { result.append(await child.exit()) }
        return result
    }

    /// What command `index` wrote to standard error (its last ``stderrLimit`` bytes), once it has
    /// closed it.
    public func stderr(of index: Int) async -> String {
        String(decoding: await errors[index].value, as: UTF8.self)
    }

    // MARK: Plumbing

    private static func channel(_ fd: Int32) async throws -> NIOAsyncChannel<ByteBuffer, Never> {
        do {
            return try await NIOPipeBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .takingOwnershipOfDescriptor(input: fd) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, Never>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(backPressureStrategy: .init(lowWatermark: 1, highWatermark: 2)))
                    }
                }
        } catch {
            close(fd)
            throw error
        }
    }

    /// Reads `fd` to its end into a handoff.
    private static func pump(_ fd: Int32, into handoff: ChunkHandoff) async throws -> Task<Void, Never> {
        let channel = try await channel(fd)
        return Task {
            do {
                try await channel.executeThenClose { inbound, _ in
                    for try await chunk in inbound where chunk.readableBytes > 0 {
                        try await handoff.send(chunk)
                    }
                }
                handoff.finish()
            } catch {
                handoff.finish(throwing: error)
            }
        }
    }

    /// Reads `fd` to its end, keeping the last `limit` bytes.
    private static func collect(_ fd: Int32, limit: Int) async throws -> Task<[UInt8], Never> {
        let channel = try await channel(fd)
        return Task {
            var kept: [UInt8] = []
            try? await channel.executeThenClose { inbound, _ in
                for try await chunk in inbound {
                    kept.append(contentsOf: chunk.readableBytesView)
                    if kept.count > limit * 2 { kept.removeFirst(kept.count - limit) }
                }
            }
            if kept.count > limit { kept.removeFirst(kept.count - limit) }
            return kept
        }
    }

    /// Writes `bytes` to a socket on a thread of its own, then closes it.
    private static func write(_ bytes: [UInt8], to fd: Int32) {
        let thread = Thread {
            var offset = 0
            bytes.withUnsafeBytes { raw in
                while offset < raw.count {
                    let sent = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                    if sent < 0 {
                        if errno == EINTR { continue }
                        break
                    }
                    offset += sent
                }
            }
            close(fd)
        }
        thread.stackSize = 256 << 10
        thread.start()
    }
}

