import NIOCore

/// Fixed socket buffer sizes, for tests whose byte counts must not depend on how far the
/// kernel's autotuning has grown a buffer.
///
/// On Linux the kernel doubles the value set (for its own bookkeeping; socket(7)), and a socket
/// accepted by a listening socket inherits its buffer sizes.
public enum SocketBuffers {
    /// The most bytes a socket buffer set to `bytes` holds.
    public static func capacity(ofSetting bytes: Int) -> Int { 2 * bytes }

    /// Sets `SO_SNDBUF` and `SO_RCVBUF` of `channel` to `bytes` (for a listening socket: of every
    /// connection it accepts from then on).
    public static func set(_ bytes: Int, on channel: any Channel) async {
        let value = SocketOptionValue(bytes)
        try? await channel.setOption(ChannelOptions.socketOption(.so_sndbuf), value: value).get()
        try? await channel.setOption(ChannelOptions.socketOption(.so_rcvbuf), value: value).get()
    }
}
