import Foundation
import Testing

@testable import SwerveCore

/// Parsing of `--http-restricted-api` / `--grpc-restricted-protocol` values as Triton parses them,
/// and the errors Triton gives for bad ones.
struct RestrictionSpecTests {
    @Test func parsesCategoriesHeaderAndKey() throws {
        let spec = try RestrictionSpec.parse("model-repository,model-config,shared-memory:admin-key=v4lue", flag: .httpRestrictedAPI)
        #expect(spec.categories == [.modelRepository, .modelConfig, .sharedMemory])
        #expect(spec.header == "admin-key")
        #expect(spec.key == .literal("v4lue"))
    }

    /// Every category Triton names is known by its name.
    @Test func everyTritonCategoryIsKnown() throws {
        let names = "health,metadata,inference,shared-memory,model-config,model-repository,statistics,trace,logging"
        let spec = try RestrictionSpec.parse("\(names):k=v", flag: .grpcRestrictedProtocol)
        #expect(Set(spec.categories) == Set(RestrictedCategory.allCases))
    }

    /// The categories end at the first ':', the header at the first '=' after it: the key keeps
    /// any later ':' and '='.
    @Test func theKeyKeepsLaterColonsAndEquals() throws {
        let spec = try RestrictionSpec.parse("inference:k=a:b=c==", flag: .httpRestrictedAPI)
        #expect(spec.header == "k")
        #expect(spec.key == .literal("a:b=c=="))
    }

    @Test func keySourcesAreSpelledFileAndEnv() throws {
        #expect(try RestrictionSpec.parse("trace:k=file:/run/secrets/key", flag: .httpRestrictedAPI).key == .file(path: "/run/secrets/key"))
        #expect(try RestrictionSpec.parse("trace:k=env:SWERVE_ADMIN_KEY", flag: .httpRestrictedAPI).key == .environment(name: "SWERVE_ADMIN_KEY"))
    }

    /// Triton's format errors: no ':', no '=', an empty part. The message never quotes the key.
    @Test(arguments: [
        ("model-repository", "has no ':'"),
        ("model-repository:admin-key", "has no '='"),
        (":admin-key=secret-one", "the api list is empty"),
        ("model-repository:=secret-one", "the header is empty"),
        ("model-repository:admin-key=", "the key is empty"),
    ])
    func malformedValuesAreRefused(_ text: String, _ expected: String) {
        let error = #expect(throws: SwerveError.self) { try RestrictionSpec.parse(text, flag: .httpRestrictedAPI) }
        #expect(error?.message.contains("--http-restricted-api option format is") == true)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("secret-one") == false)
    }

    /// Triton's words for an unknown category, per flag; an empty entry (`a,,b`) is unknown too.
    @Test func unknownCategoriesAreRefusedInTritonsWords() {
        let http = #expect(throws: SwerveError.self) { try RestrictionSpec.parse("model-reposit,health:k1=v1", flag: .httpRestrictedAPI) }
        #expect(http?.message.hasPrefix("unknown restricted api 'model-reposit'") == true)
        let grpc = #expect(throws: SwerveError.self) { try RestrictionSpec.parse("model-reposit:k1=v1", flag: .grpcRestrictedProtocol) }
        #expect(grpc?.message.hasPrefix("unknown restricted protocol 'model-reposit'") == true)
        #expect(throws: SwerveError.self) { try RestrictionSpec.parse("health,,inference:k=v", flag: .httpRestrictedAPI) }
    }

    /// A category in two values, or twice in one, is Triton's "multiple config groups" error.
    @Test func aCategoryMayBeInOneGroupOnly() {
        let across = #expect(throws: SwerveError.self) {
            try RestrictionSpec.parse(["model-repository,health:k1=v1", "metadata,health:k2=v2"], flag: .httpRestrictedAPI)
        }
        #expect(across?.message == "restricted api 'health' can not be specified in multiple config groups")
        let within = #expect(throws: SwerveError.self) {
            try RestrictionSpec.parse(["inference,inference:k=v"], flag: .grpcRestrictedProtocol)
        }
        #expect(within?.message == "restricted protocol 'inference' can not be specified in multiple config groups")
        // Disjoint groups with different headers are fine.
        #expect(throws: Never.self) {
            try RestrictionSpec.parse(["model-repository:admin=a", "inference:user=b"], flag: .httpRestrictedAPI)
        }
    }

    @Test func headersMustBeHeaderNames() {
        #expect(throws: SwerveError.self) { try RestrictionSpec.parse("inference:admin key=v", flag: .httpRestrictedAPI) }
        #expect(throws: SwerveError.self) { try RestrictionSpec.parse("inference:a:b=v", flag: .httpRestrictedAPI) }
        // gRPC keeps `-bin` keys for binary values.
        #expect(throws: SwerveError.self) { try RestrictionSpec.parse("inference:key-bin=v", flag: .grpcRestrictedProtocol) }
        #expect(throws: Never.self) { try RestrictionSpec.parse("inference:key-bin=v", flag: .httpRestrictedAPI) }
    }
}

/// Reading the key from the command line, a file or the environment, and checking requests.
struct RestrictedFeaturesTests {
    func features(_ texts: [String], flag: RestrictionFlag = .httpRestrictedAPI, environment: [String: String] = [:]) throws -> RestrictedFeatures {
        try RestrictedFeatures(RestrictionSpec.parse(texts, flag: flag), flag: flag, environment: environment)
    }

    /// A request's header values, looked up without regard to case as HTTP and gRPC do.
    func headers(_ fields: [String: [String]]) -> (String) -> [String] {
        { name in fields.first { $0.key.lowercased() == name.lowercased() }?.value ?? [] }
    }

    func temporaryFile(_ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-key-\(UUID().uuidString)")
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func aRestrictedCategoryNeedsItsHeaderWithTheKey() throws {
        let restricted = try features(["model-repository,trace:Admin-Key=s3cret"])
        #expect(restricted.restricts(.modelRepository) && restricted.restricts(.trace) && !restricted.restricts(.inference))
        #expect(throws: Never.self) { try restricted.check(.modelRepository, headerValues: headers(["admin-key": ["s3cret"]])) }
        // An open category needs nothing.
        #expect(throws: Never.self) { try restricted.check(.inference, headerValues: headers([:])) }
        for values in [[String](), ["wrong"], ["s3cret "], ["S3CRET"], ["s3cre"]] {
            let error = #expect(throws: SwerveError.self) { try restricted.check(.modelRepository, headerValues: headers(["admin-key": values])) }
            #expect(error?.code == .permissionDenied)
            #expect(error?.message == "This API is restricted, expecting header 'Admin-Key'")
        }
        // One right value among several passes.
        #expect(throws: Never.self) { try restricted.check(.trace, headerValues: headers(["admin-key": ["wrong", "s3cret"]])) }
    }

    /// gRPC's header is Triton's `triton-grpc-protocol-<header>`, in lowercase, and the message says so.
    @Test func grpcHeadersHaveTritonsPrefix() throws {
        let restricted = try features(["inference:Infer-Key=k"], flag: .grpcRestrictedProtocol)
        #expect(restricted.header(for: .inference) == "triton-grpc-protocol-infer-key")
        #expect(throws: Never.self) { try restricted.check(.inference, headerValues: headers(["triton-grpc-protocol-infer-key": ["k"]])) }
        let error = #expect(throws: SwerveError.self) { try restricted.check(.inference, headerValues: headers(["infer-key": ["k"]])) }
        #expect(error?.message == "This protocol is restricted, expecting header 'triton-grpc-protocol-infer-key'")
    }

    /// A key file's contents, trimmed of the line end an editor or `echo` leaves.
    @Test func keysComeFromFilesTrimmed() throws {
        let file = try temporaryFile("  from-a-file\r\n")
        defer { try? FileManager.default.removeItem(at: file) }
        let restricted = try features(["logging:k=file:\(file.path)"])
        #expect(throws: Never.self) { try restricted.check(.logging, headerValues: headers(["k": ["from-a-file"]])) }
        #expect(restricted.summary == "logging need header 'k' (key read from file \(file.path))")
    }

    @Test func keysComeFromEnvironmentVariablesTrimmed() throws {
        let restricted = try features(["statistics:k=env:ADMIN_KEY"], environment: ["ADMIN_KEY": "from-env\n"])
        #expect(throws: Never.self) { try restricted.check(.statistics, headerValues: headers(["k": ["from-env"]])) }
        #expect(restricted.summary?.contains("from-env") == false)
    }

    /// A missing file or variable, an empty one, or a key no header could carry stops the start.
    @Test func missingOrEmptyKeysAreRefused() throws {
        let empty = try temporaryFile(" \n")
        defer { try? FileManager.default.removeItem(at: empty) }
        let cases: [(String, [String: String], String)] = [
            ("file:/no/such/key-file", [:], "cannot open the key file /no/such/key-file: No such file or directory"),
            ("file:\(empty.path)", [:], "the key file \(empty.path) is empty"),
            ("file:", [:], "'file:' must be followed by the path"),
            ("env:NOT_SET", [:], "the environment variable NOT_SET that should hold the key is not set"),
            ("env:BLANK", ["BLANK": "  "], "the environment variable BLANK that should hold the key is empty"),
            ("env:", [:], "'env:' must be followed by the name"),
            ("caf\u{E9}", [:], "must be visible ASCII"),
        ]
        for (key, environment, expected) in cases {
            let error = #expect(throws: SwerveError.self) { try features(["inference:k=\(key)"], environment: environment) }
            #expect(error?.message.contains(expected) == true, "\(key): \(error?.message ?? "")")
            #expect(error?.message.hasPrefix("--http-restricted-api: ") == true)
        }
    }

    /// A file longer than a key should be is refused, not read whole (a wrong path to /dev/zero).
    @Test func overlongKeyFilesAreRefused() throws {
        let error = #expect(throws: SwerveError.self) { try features(["inference:k=file:/dev/zero"]) }
        #expect(error?.message.contains("longer than \(RestrictionKeySource.maxFileBytes) bytes") == true)
    }
}
