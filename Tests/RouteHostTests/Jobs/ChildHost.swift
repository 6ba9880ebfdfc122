import Foundation
import NIOConcurrencyHelpers

/// The `routehost` executable of this build, run as a child process on a manifest and a store.
final class ChildHost: Sendable {
    let process: Process
    let port: Int

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The executable next to the test bundle (`swift build` builds it with the tests).
    static var executable: URL {
        get throws {
            let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            let candidate = bundle.appendingPathComponent("routehost")
            guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
                throw TestFailure("no routehost executable at \(candidate.path): run `swift build` first")
            }
            return candidate
        }
    }

    /// Starts `routehost serve` on a free loopback port and waits until it listens.
    static func start(manifest: String, directory: String, environment: [String: String]) async throws -> ChildHost {
        let process = Process()
        process.executableURL = try executable
        process.arguments = ["serve", "--manifest", manifest, "--env-file", "/nonexistent/.env", "--host", "127.0.0.1", "--port", "0"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let buffer = NIOLockedValueBox("")
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                continuation.finish()
                return
            }
            let text = buffer.withLockedValue { text in
                text += String(decoding: data, as: UTF8.self)
                return text
            }
            if let range = text.range(of: "listening on 127.0.0.1:") {
                let digits = text[range.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) {
                    continuation.yield(port)
                    continuation.finish()
                }
            }
        }
        try process.run()
        let port = try await withThrowingTaskGroup(of: Int?.self) { group in
            group.addTask {
                var iterator = ports.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let port else {
            process.terminate()
            process.waitUntilExit()
            throw TestFailure("routehost did not start: \(buffer.withLockedValue { $0 })")
        }
        return ChildHost(process: process, port: port)
    }

    /// SIGKILL: no shutdown code runs.
    func kill() {
        _ = Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits for the exit (at most `timeout`); returns the exit status.
    func terminate(timeout: Duration = .seconds(20)) async -> Int32 {
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { kill() }
        return process.terminationStatus
    }
}
