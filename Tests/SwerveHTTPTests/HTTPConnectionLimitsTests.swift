import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

import SwerveCore
@testable import SwerveHTTP

/// The connection handlers on an embedded channel whose clock the tests move: the idle and
/// header timeouts, and the connection limit.
struct HTTPConnectionLimitsTests {
    /// An active channel with the HTTP/1 decoder and encoder, then `handlers`.
    private func channel(_ handlers: [any ChannelHandler]) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: false, withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try channel.pipeline.syncOperations.addHandlers(handlers)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    private func send(_ channel: EmbeddedChannel, _ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    private func answer(_ channel: EmbeddedChannel) throws {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok, headerFields: [.contentLength: "0"])))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
    }

    @Test func anIdleConnectionIsClosedAfterTheIdleTimeoutAndNotBefore() throws {
        let channel = try channel([HTTPIdleTimeout(timeout: .seconds(5))])
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4900))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(!channel.isActive)
    }

    @Test func aRequestBeingAnsweredIsNeverTimedOutAndItsAnswerRestartsTheClock() throws {
        let channel = try channel([HTTPIdleTimeout(timeout: .seconds(5))])
        try send(channel, "GET /v2 HTTP/1.1\r\nHost: x\r\n\r\n")
        while try channel.readInbound(as: HTTPRequestPart.self) != nil {}
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive, "a request being answered was timed out")
        try answer(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func aBodyThatStopsComingIsTimedOut() throws {
        let channel = try channel([HTTPIdleTimeout(timeout: .seconds(5))])
        try send(channel, "POST /v2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        try send(channel, "def")  // still coming
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(!channel.isActive)
    }

    @Test func headersSentTooSlowlyCloseTheConnection() throws {
        let channel = try channel([HTTPHeaderTimeout.Heads(timeout: .seconds(2))])
        // Silence does not start the clock (the idle timeout covers it).
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(channel.isActive)
        for byte in "GET /v2 HTTP/1.1\r\nHost".utf8 {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(100))
            if !channel.isActive { break }
        }
        #expect(!channel.isActive, "a head sent a byte each 100 ms for 2.2 s was let through")
    }

    /// The timeout counts from the first byte of the head being read, not from an earlier head's.
    @Test func aSlowHeadAfterAQuickOneIsTimedFromItsOwnFirstByte() throws {
        let channel = try channel([HTTPHeaderTimeout.Heads(timeout: .seconds(2))])
        try send(channel, "GET /v2 HTTP/1.1\r\nHost: x\r\n\r\n")  // t = 0, whole
        while try channel.readInbound(as: HTTPRequestPart.self) != nil {}
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1500))
        try send(channel, "GET /v2 HTTP/1.1\r\n")  // t = 1.5 s: a head starts, and stalls
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1900))  // t = 3.4 s: 1.9 s into it
        #expect(channel.isActive, "closed before the slow head had its 2 s")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))  // t = 3.6 s: 2.1 s into it
        #expect(!channel.isActive, "a head that took over 2 s was let through")
    }

    @Test func headersSentInTimeKeepTheConnection() throws {
        let channel = try channel([HTTPHeaderTimeout.Heads(timeout: .seconds(2))])
        for _ in 0..<3 {
            try send(channel, "GET /v2 HTTP/1.1\r\n")
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            try send(channel, "Host: x\r\n\r\n")
            while try channel.readInbound(as: HTTPRequestPart.self) != nil {}
            channel.embeddedEventLoop.advanceTime(by: .seconds(5))
            #expect(channel.isActive)
        }
    }

    @Test func connectionsPastTheLimitGet503AndRoomComesBack() throws {
        let limit = HTTPConnectionLimit(maxConnections: 1)
        let first = try channel([HTTPConnectionLimit.Handler(limit: limit, errorFormat: .kserve)])
        #expect(limit.openCount == 1)
        let second = try channel([HTTPConnectionLimit.Handler(limit: limit, errorFormat: .kserve)])
        var written = ByteBuffer()
        while var part = try second.readOutbound(as: ByteBuffer.self) { written.writeBuffer(&part) }
        let text = String(buffer: written)
        #expect(text.hasPrefix("HTTP/1.1 503"), "\(text)")
        #expect(text.lowercased().contains("connection: close") && text.contains("--http-max-connections"), "\(text)")
        #expect(limit.openCount == 1)
        // A request on the refused connection reaches nothing behind the handler.
        try send(second, "GET /v2 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try second.readInbound(as: HTTPRequestPart.self) == nil)
        second.embeddedEventLoop.advanceTime(by: HTTPConnectionLimit.refusedLingerTime)
        #expect(!second.isActive)
        _ = try first.finish()
        #expect(limit.openCount == 0)
        let third = try channel([HTTPConnectionLimit.Handler(limit: limit, errorFormat: .kserve)])
        let refusal = try third.readOutbound(as: ByteBuffer.self)
        #expect(limit.openCount == 1 && refusal == nil)
    }
}

/// `Retry-After` comes from the error's ``SwerveError/retryAfter``.
struct RetryAfterTests {
    @Test func theErrorsWaitIsSentInWholeSecondsRoundedUp() {
        var error = SwerveError(.tooManyRequests, "slow down")
        error.retryAfter = .milliseconds(2001)
        let (code, _, headers) = ErrorResponse.describe(error)
        #expect(code == .tooManyRequests && ErrorResponse.status(for: code).code == 429)
        #expect(headers[.retryAfter] == "3")
        error.retryAfter = .milliseconds(10)
        #expect(ErrorResponse.describe(error).headers[.retryAfter] == "1")
        // Without a wait, 429 still tells the client to retry, as 503 does.
        #expect(ErrorResponse.describe(SwerveError(.tooManyRequests, "x")).headers[.retryAfter] == "1")
    }
}
