#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging

/// The exclusive lock of one job store: a file beside it (`jobs.sqlite.lock`) held with
/// `flock` for as long as the store is open, with the holder's pid written in it.
///
/// A second process on the same `LOCAL_STORAGE_PATH` (a rolling restart during the first one's
/// drain, or a mistake) would requeue the first one's running jobs and send the same webhooks
/// again. It waits for the lock instead, up to `STORE_LOCK_TIMEOUT_SECONDS`, saying for which pid,
/// then gives up with ``Busy``. The kernel releases the lock when its holder exits, however it
/// exits (`kill -9` included), so a crash leaves nothing to clean up.
final class StoreLock: Sendable {
    /// The lock is held by another process (or another store in this one).
    struct Busy: Error, CustomStringConvertible {
        var storePath: String
        var holder: String
        var waited: Duration

        var description: String {
            "the job store \(storePath) is in use by another routehost process (\(holder)); waited \(waited.secondsValue) s "
                + "(STORE_LOCK_TIMEOUT_SECONDS). Stop that process, or give this one a LOCAL_STORAGE_PATH of its own"
        }
    }

    private let descriptor: Int32

    private init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Takes the lock of the store at `storePath`, waiting up to `timeout` for its holder.
    static func acquire(storePath: String, timeout: Duration, logger: Logger) async throws -> StoreLock {
        let path = storePath + ".lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        let started = ContinuousClock.now
        var announced = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            let holder = Self.holder(of: path)
            guard code == EWOULDBLOCK, ContinuousClock.now - started < timeout else {
                close(descriptor)
                throw Busy(storePath: storePath, holder: holder, waited: ContinuousClock.now - started)
            }
            if !announced {
                announced = true
                logger.notice("waiting for the job store's lock", metadata: ["store": "\(storePath)", "holder": "\(holder)", "timeout": "\(timeout.secondsValue)"])
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return StoreLock(descriptor: descriptor)
    }

    /// "pid N", as the holder wrote it.
    private static func holder(of path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return text.isEmpty ? "pid unknown" : "pid \(text)"
    }
}
