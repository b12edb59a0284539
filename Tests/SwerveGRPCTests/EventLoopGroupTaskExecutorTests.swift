import Foundation
import GRPCCore
import NIOCore
import NIOPosix
import SwerveCore
import Synchronization
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
        small.rawInputContents = [Data(count: RequestPlacement.maxInlineBytes)]
        #expect(GRPCHandlerPlacement.staysOnEventLoop(small))
        var large = small
        large.rawInputContents.append(Data(count: 1))
        #expect(!GRPCHandlerPlacement.staysOnEventLoop(large))
        var typed = Inference_ModelInferRequest()
        typed.inputs = [.with { $0.contents.fp32Contents = Array(repeating: 1, count: RequestPlacement.maxInlineBytes / 4 + 1) }]
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

    /// Calls whose category's work is not short (statistics, the repository, settings) run off the
    /// loop; health, metadata, configuration and inference calls run on it.
    @Test func theInterceptorPlacesCallsByTheirCategory() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { group.shutdownGracefully { _ in } }
        let executor = EventLoopGroupTaskExecutor.of(group)
        typealias Method = Inference_GRPCInferenceService.Method
        let expected: [(MethodDescriptor, Bool)] = [
            (Method.ModelInfer.descriptor, true), (Method.ServerLive.descriptor, true), (Method.ModelMetadata.descriptor, true),
            (Method.ModelConfig.descriptor, true), (Method.ModelStatistics.descriptor, false), (Method.RepositoryIndex.descriptor, false),
            (Method.RepositoryModelLoad.descriptor, false), (Method.RepositoryModelUnload.descriptor, false),
            (Method.SystemSharedMemoryStatus.descriptor, false), (Method.TraceSetting.descriptor, false), (Method.LogSettings.descriptor, false),
        ]
        for (method, onLoop) in expected {
            #expect(RequestPlacement.isShortWork(GRPCMethodCategories.byMethod[method]) == onLoop)
            let ranOnLoop = Mutex<Bool?>(nil)
            try await Task(executorPreference: executor) {
                try await withServerContextRPCCancellationHandle { handle in
                    let context = ServerContext(descriptor: method, remotePeer: "test", localPeer: "test", cancellation: handle)
                    let request = StreamingServerRequest(single: ServerRequest(metadata: [:], message: 0))
                    _ = try await GRPCPlacementInterceptor().intercept(request: request, context: context) { _, _ in
                        ranOnLoop.withLock { $0 = MultiThreadedEventLoopGroup.currentEventLoop != nil }
                        return StreamingServerResponse(single: ServerResponse(message: 0))
                    }
                }
            }.value
            #expect(ranOnLoop.withLock { $0 } == onLoop, "\(method.fullyQualifiedMethod)")
        }
    }
}
