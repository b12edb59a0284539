import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import SwerveGRPC

/// The gRPC server's task executor runs a job on the loop that enqueued it, and any other job on
/// one of its own loops; a large request's handler moves off the loops.
struct EventLoopGroupTaskExecutorTests {
    @Test func aTaskStartedOnALoopOfTheGroupRunsOnThatLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { group.shutdownGracefully { _ in } }
        let executor = EventLoopGroupTaskExecutor.of(group)
        for loop in group.makeIterator() {
            let task = try await loop.submit {
                Task(executorPreference: executor) { () -> ObjectIdentifier? in
                    await Task.yield()
                    return MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) }
                }
            }.get()
            #expect(await task.value == ObjectIdentifier(loop))
        }
    }

    @Test func aTaskStartedElsewhereRunsOnALoopOfTheGroup() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let other = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer {
            group.shutdownGracefully { _ in }
            other.shutdownGracefully { _ in }
        }
        let executor = EventLoopGroupTaskExecutor.of(group)
        let loops = Set(group.makeIterator().map { ObjectIdentifier($0) })
        let fromPool = await Task(executorPreference: executor) {
            MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) }
        }.value
        #expect(fromPool.map(loops.contains) == true)
        // Started on another group's loop (the HTTP listeners'), it still runs on its own group.
        let task = try await other.next().submit {
            Task(executorPreference: executor) { MultiThreadedEventLoopGroup.currentEventLoop.map { ObjectIdentifier($0) } }
        }.get()
        #expect(await task.value.map(loops.contains) == true)
    }

    @Test func requestsOverSixteenKilobytesOfTensorDataLeaveTheLoop() {
        var small = Inference_ModelInferRequest()
        small.rawInputContents = [Data(count: GRPCHandlerPlacement.largeRequest)]
        #expect(GRPCHandlerPlacement.staysOnEventLoop(small))
        var large = small
        large.rawInputContents.append(Data(count: 1))
        #expect(!GRPCHandlerPlacement.staysOnEventLoop(large))
        var typed = Inference_ModelInferRequest()
        typed.inputs = [.with { $0.contents.fp32Contents = Array(repeating: 1, count: GRPCHandlerPlacement.largeRequest / 4 + 1) }]
        #expect(!GRPCHandlerPlacement.staysOnEventLoop(typed))
        var image = Inference_ModelInferRequest()
        image.inputs = [.with { $0.contents.bytesContents = [Data(count: 40_000)] }]
        #expect(!GRPCHandlerPlacement.staysOnEventLoop(image))
    }

    @Test func offEventLoopLeavesTheLoopAndTheCallerComesBack() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let executor = EventLoopGroupTaskExecutor.of(group)
        let (inside, after) = try await Task(executorPreference: executor) {
            let inside = try await GRPCHandlerPlacement.offEventLoop { MultiThreadedEventLoopGroup.currentEventLoop == nil }
            return (inside, MultiThreadedEventLoopGroup.currentEventLoop != nil)
        }.value
        #expect(inside)
        #expect(after)
    }
}
