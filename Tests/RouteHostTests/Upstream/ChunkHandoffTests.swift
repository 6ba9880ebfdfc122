import NIOCore
@testable import RouteHost
import Testing

@Suite("The chunk handoff between a body's reader and its writer")
struct ChunkHandoffTests {
    struct Broken: Error {}

    static func chunk(_ byte: UInt8, size: Int) -> ByteBuffer {
        ByteBuffer(repeating: byte, count: size)
    }

    @Test("the producer runs ahead by at most the capacity, and the consumer takes every queued chunk in order")
    func capacityAndBatches() async throws {
        let handoff = ChunkHandoff(capacity: 300)
        // Three chunks of 100 bytes fit: each send returns without a consumer.
        for byte: UInt8 in 1...3 { try await handoff.send(Self.chunk(byte, size: 100)) }
        #expect(!handoff.hasWaitingProducer)

        // The fourth goes past the capacity: its send waits until the consumer takes the queue.
        let fourth = Task { try await handoff.send(Self.chunk(4, size: 100)) }
        while handoff.queuedBytes < 400 { await Task.yield() }
        #expect(handoff.hasWaitingProducer)
        let batch = try #require(try await handoff.receiveAll())
        #expect(batch.map { $0.getInteger(at: 0, as: UInt8.self) } == [1, 2, 3, 4])
        try await fourth.value

        handoff.finish()
        #expect(try await handoff.receiveAll() == nil)
    }

    @Test("a send past the capacity does not return until the consumer has taken the chunks")
    func backpressure() async throws {
        let handoff = ChunkHandoff(capacity: 0)
        let (sent, sentContinuation) = AsyncStream.makeStream(of: Int.self)
        let producer = Task {
            for index in 0..<3 {
                try await handoff.send(Self.chunk(UInt8(index), size: 10))
                sentContinuation.yield(index)
            }
            handoff.finish()
        }
        var sends = sent.makeAsyncIterator()
        // The first chunk is queued and nothing has been taken: its send must still be waiting.
        while handoff.queuedBytes == 0 { await Task.yield() }
        #expect(handoff.hasWaitingProducer)
        // Each take lets exactly that chunk's send return.
        for index in 0..<3 {
            let taken = try #require(try await handoff.receive())
            #expect(taken.getInteger(at: 0, as: UInt8.self) == UInt8(index))
            #expect(await sends.next() == index)
        }
        #expect(try await handoff.receive() == nil)
        try await producer.value
    }

    @Test("chunks queued before a failure are delivered, then the failure")
    func queuedChunksBeforeFailure() async throws {
        let handoff = ChunkHandoff(capacity: 1 << 20)
        try await handoff.send(Self.chunk(7, size: 5))
        try await handoff.send(Self.chunk(8, size: 5))
        handoff.finish(throwing: Broken())
        #expect(try await handoff.receive()?.readableBytes == 5)
        #expect(try await handoff.receiveAll()?.count == 1)
        await #expect(throws: Broken.self) { try await handoff.receiveAll() }
    }

    @Test("fail drops queued chunks and wakes a waiting producer")
    func failWakesProducer() async throws {
        let handoff = ChunkHandoff(capacity: 0)
        let producer = Task { try await handoff.send(Self.chunk(1, size: 10)) }
        // The consumer is busy elsewhere; the relay gives up on it.
        while handoff.queuedBytes == 0 { await Task.yield() }
        handoff.fail(Broken())
        await #expect(throws: Broken.self) { try await producer.value }
        await #expect(throws: Broken.self) { try await handoff.receive() }
    }
}
