import Testing

@testable import SwerveCore

/// The token bucket on a clock the tests move: no sleeping.
struct TokenBucketTests {
    @Test func aFullBucketAdmitsItsBurstThenSaysHowLongToWait() {
        let clock = ManualSchedulingClock()
        let bucket = TokenBucket(rate: 2, burst: 3, clock: clock)
        for _ in 0..<3 { #expect(bucket.take() == nil) }
        // Empty: the next token comes in 1/2 s.
        #expect(bucket.take() == .milliseconds(500))
        // A refusal takes nothing: asking again says the same.
        #expect(bucket.take() == .milliseconds(500))
    }

    @Test func tokensComeBackAtTheRate() {
        let clock = ManualSchedulingClock()
        let bucket = TokenBucket(rate: 10, burst: 1, clock: clock)
        #expect(bucket.take() == nil)
        clock.advance(by: .milliseconds(40))
        // 0.4 of a token: 60 ms to go.
        #expect(bucket.take() == .milliseconds(60))
        clock.advance(by: .milliseconds(60))
        #expect(bucket.take() == nil)
        #expect(bucket.take() != nil)
    }

    @Test func theBucketHoldsNoMoreThanItsBurst() {
        let clock = ManualSchedulingClock()
        let bucket = TokenBucket(rate: 100, burst: 5, clock: clock)
        clock.advance(by: .seconds(60))  // 6000 tokens' worth of time
        var admitted = 0
        while bucket.take() == nil { admitted += 1 }
        #expect(admitted == 5)
    }

    @Test func theSlowestRateGivesAWaitThatFits() {
        let bucket = TokenBucket(rate: 1e-30, burst: 1, clock: ManualSchedulingClock())
        #expect(bucket.take() == nil)
        #expect(bucket.take()! > .seconds(86_400 * 300))
    }

    @Test func aSlowRateWaitsSeconds() {
        let clock = ManualSchedulingClock()
        let bucket = TokenBucket(rate: 0.25, burst: 1, clock: clock)
        #expect(bucket.take() == nil)
        #expect(bucket.take() == .seconds(4))
        clock.advance(by: .seconds(3))
        #expect(bucket.take() == .seconds(1))
    }
}
