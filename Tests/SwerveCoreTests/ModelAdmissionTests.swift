import Testing

@testable import SwerveCore

/// A model version's admission: requests in flight, rate, BYTES elements, and the config
/// parameters that set them.
struct ModelAdmissionTests {
    /// The error `body` throws, nil when it throws none.
    private func refusal(_ body: () throws -> Void) -> SwerveError? {
        do {
            try body()
            return nil
        } catch let error as SwerveError {
            return error
        } catch {
            Issue.record("not a SwerveError: \(error)")
            return nil
        }
    }

    @Test func requestsPastTheInflightLimitAreRefusedUntilOneLeaves() {
        let admission = ModelAdmission(
            limits: ModelLimits(maxInflightRequests: 2, maxRequestsPerSecond: 0), label: "'m' version 1", clock: ManualSchedulingClock())
        #expect(refusal { try admission.enter() } == nil)
        #expect(refusal { try admission.enter() } == nil)
        let error = refusal { try admission.enter() }
        #expect(error?.code == .tooManyRequests)
        #expect(error?.retryAfter == .seconds(1))
        #expect(error?.message.contains("--model-max-inflight-requests") == true)
        #expect(admission.inFlightCount == 2)  // the refused one is not counted
        admission.leave()
        #expect(refusal { try admission.enter() } == nil)
        #expect(admission.inFlightCount == 2)
    }

    @Test func theRateLimitRefusesWithTheWaitForTheNextToken() {
        let clock = ManualSchedulingClock()
        let admission = ModelAdmission(
            limits: ModelLimits(maxInflightRequests: 0, maxRequestsPerSecond: 4, maxRequestBurst: 2), label: "'m' version 1", clock: clock)
        for _ in 0..<2 {
            #expect(refusal { try admission.enter() } == nil)
            admission.leave()
        }
        let error = refusal { try admission.enter() }
        #expect(error?.code == .tooManyRequests)
        #expect(error?.retryAfter == .milliseconds(250))
        #expect(error?.message.contains("--model-max-requests-per-second") == true)
        #expect(admission.inFlightCount == 0)
        clock.advance(by: .milliseconds(250))
        #expect(refusal { try admission.enter() } == nil)
    }

    @Test func aRequestRefusedByTheInflightLimitTakesNoToken() {
        let clock = ManualSchedulingClock()
        let admission = ModelAdmission(
            limits: ModelLimits(maxInflightRequests: 1, maxRequestsPerSecond: 1, maxRequestBurst: 2), label: "m", clock: clock)
        #expect(refusal { try admission.enter() } == nil)
        for _ in 0..<5 { #expect(refusal { try admission.enter() }?.message.contains("in flight") == true) }
        admission.leave()
        // The second token is still there.
        #expect(refusal { try admission.enter() } == nil)
    }

    @Test func tooManyBytesElementsAreRefusedNamingTheFlag() throws {
        let admission = ModelAdmission(limits: ModelLimits(maxBytesElements: 3), label: "m")
        let strings = Tensor(dataType: .bytes, shape: [4], data: BytesCodec.encode(["a", "b", "c", "d"].map { Array($0.utf8) }))
        let request = InferenceRequest(modelName: "m", inputs: [NamedTensor(name: "x", tensor: strings)])
        #expect(throws: SwerveError.self) { try admission.checkBytesElements(request) }
        do {
            try admission.checkBytesElements(request)
        } catch let error as SwerveError {
            #expect(error.code == .invalidArgument && error.message.contains("--max-bytes-elements"))
        }
        let three = Tensor(dataType: .bytes, shape: [3], data: BytesCodec.encode(["a", "b", "c"].map { Array($0.utf8) }))
        try admission.checkBytesElements(InferenceRequest(modelName: "m", inputs: [NamedTensor(name: "x", tensor: three)]))
    }

    @Test func configParametersOverrideTheFlags() throws {
        var config = Inference_ModelConfig()
        config.parameters[ModelLimits.inflightParameter] = .with { $0.stringValue = "8" }
        config.parameters[ModelLimits.rateParameter] = .with { $0.stringValue = "2.5" }
        let limits = try ModelLimits(maxInflightRequests: 100, maxRequestsPerSecond: 0, maxRequestBurst: 0).applying(config)
        #expect(limits.maxInflightRequests == 8 && limits.maxRequestsPerSecond == 2.5)
        #expect(limits.effectiveBurst == 3)
        config.parameters[ModelLimits.burstParameter] = .with { $0.stringValue = "lots" }
        #expect(throws: SwerveError.self) { try ModelLimits().applying(config) }
        config.parameters[ModelLimits.burstParameter] = nil
        for rate in ["-1", "nan", "inf", "1e300", "1e-9"] {
            config.parameters[ModelLimits.rateParameter] = .with { $0.stringValue = rate }
            #expect(throws: SwerveError.self, "rate \(rate)") { try ModelLimits().applying(config) }
        }
    }
}
