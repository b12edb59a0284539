import SwerveCore
import Testing

struct ModelConfigTextTests {
    /// Triton's own config syntax (list syntax, nested blocks, comments) parses into ModelConfig.
    @Test func parsesTritonStyleConfig() throws {
        let parsed = try ModelConfigText.parse(
            """
            name: "simple"   # the model
            platform: "onnxruntime_onnx"
            max_batch_size: 8
            input [
              { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] },
              { name: "INPUT1", data_type: TYPE_INT32, dims: [ 16 ] }
            ]
            output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] } ]
            instance_group [ { count: 2, kind: KIND_CPU } ]
            version_policy: { specific: { versions: [1, 3] } }
            dynamic_batching { max_queue_delay_microseconds: 100 default_queue_policy { max_queue_size: 4 } }
            parameters { key: "k" value: { string_value: "v" } }
            """)
        #expect(parsed.config.name == "simple")
        #expect(parsed.config.maxBatchSize == 8)
        #expect(parsed.config.input.map(\.name) == ["INPUT0", "INPUT1"])
        #expect(parsed.config.input[1].dims == [16])
        #expect(parsed.config.instanceGroup.first?.count == 2)
        #expect(parsed.config.versionPolicy.specific.versions == [1, 3])
        #expect(parsed.config.dynamicBatching.defaultQueuePolicy.maxQueueSize == 4)
        #expect(parsed.config.parameters["k"]?.stringValue == "v")
        #expect(parsed.explicitFields.contains("max_batch_size"))
        #expect(!parsed.explicitFields.contains("dims"))
    }

    /// A misspelt field is reported by name and line, not as a bare parse failure.
    @Test func brokenFieldIsNamedInTheError() throws {
        let error = #expect(throws: SwerveError.self) {
            try ModelConfigText.parse("name: \"m\"\nmax_batch_sise: 8\ninput [ { name: \"x\" } ]")
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("max_batch_sise") == true)
        #expect(error?.message.contains("line 2") == true)
    }

    /// A bad value inside a nested block names the top-level field that holds it.
    @Test func badEnumValueNamesItsField() throws {
        let error = #expect(throws: SwerveError.self) {
            try ModelConfigText.parse("name: \"m\"\ninput [ { name: \"x\" data_type: TYPE_FLOAT32 } ]")
        }
        #expect(error?.message.contains("'input'") == true)
    }

    /// Text that ends in the middle of a block is refused with a message.
    @Test func unterminatedBlockIsRefused() {
        #expect(throws: SwerveError.self) { try ModelConfigText.parse("input [ { name: \"x\" ") }
    }
}

struct ModelConfigEnumErrorTests {
    /// A misspelt enum value is named with its field.
    @Test func unknownEnumValueIsNamed() throws {
        let error = #expect(throws: SwerveError.self) {
            try ModelConfigText.parse("name: \"m\"\ninput [ { name: \"x\" data_type: TYPE_FLOAT32 dims: [ 4 ] } ]")
        }
        #expect(error?.message.contains("'TYPE_FLOAT32' is not a valid value for 'data_type'") == true, "\(error?.message ?? "")")
    }
}
