import Foundation
import Logging

/// The process's open-file limit (`ulimit -n`) against what `MAX_CONNECTIONS` needs.
enum FileDescriptorLimit {
    /// Descriptors the host needs besides client connections: upstream and database
    /// connections, the job store's files, child processes' pipes.
    static let reserve = 256

    /// Raises the soft limit toward the hard one when `connections` plus ``reserve`` need more,
    /// and warns when even the hard limit cannot hold them; returns the soft limit in force.
    @discardableResult
    static func raise(toServe connections: Int, logger: Logger) -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let needed = rlim_t(connections + reserve)
        if limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = min(needed, limit.rlim_max)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        if limit.rlim_cur < needed {
            logger.warning(
                "MAX_CONNECTIONS=\(connections) needs about \(needed) open files, but the limit is \(limit.rlim_cur): connections past it fail; raise it (ulimit -n, LimitNOFILE= in systemd) or lower MAX_CONNECTIONS",
                metadata: ["open_file_limit": "\(limit.rlim_cur)", "needed": "\(needed)"])
        }
        return Int(limit.rlim_cur)
    }
}
