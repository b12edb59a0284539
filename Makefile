# Swerve: the two commands a new user needs are `make serve` and `make test`.
SHELL := /bin/bash
PYTHON := .venv/bin/python
EXAMPLES := examples/models
HTTP_PORT ?= 8000
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

.PHONY: setup build build-debug models serve test unit-test integration-test proto clean bench soak fuzz dist

setup:  ## Debian packages and the Python virtual environment (.venv)
	@scripts/setup.sh

build: setup
	swift build -c release --product swerve

build-debug: setup
	swift build --product swerve

models: setup  ## the bundled example model repository (generated, not in git)
	$(PYTHON) scripts/make_example_repo.py $(EXAMPLES)
	/usr/bin/python3 scripts/make_classifier.py $(EXAMPLES)

serve: build models  ## build, generate the example repository and serve it on :8000
	.build/release/swerve serve --model-repository $(EXAMPLES) --http-port $(HTTP_PORT)

test: setup  ## every test: Swift unit tests, then integration tests against the real binary
	swift build --build-tests
	@# The TensorFlow, libtorch and image suites block their threads for seconds (ResNet-50 loads; a
	@# debug build decoding large images took 10 s on a loaded machine): a run of their own, so that
	@# they do not starve the timing-sensitive suites of Swift's cooperative pool.
	SWERVE_REQUIRE_ORT=1 swift test --skip-build --skip 'SwerveTensorFlowTests|SwerveTorchTests|SwerveImageTests'
	SWERVE_REQUIRE_TF=1 SWERVE_REQUIRE_TORCH=1 swift test --skip-build --filter 'SwerveTensorFlowTests|SwerveTorchTests|SwerveImageTests'
	SWERVE_BIN=$$(swift build --show-bin-path)/swerve $(PYTHON) -m pytest tests/integration -q -p no:cacheprovider

# The binary distribution (scripts/make_dist.sh): the release binary with the Swift runtime, libjpeg
# and libpng linked in statically, ONNX Runtime from the pinned wheel, licenses; the Containerfile
# holds the same tree. A first build takes long: SwiftPM scratch .build-dist (SWERVE_DIST_SCRATCH).
dist: setup  ## dist/swerve-<version>-linux-<arch>.tar.gz, runs on a bare Debian 12 root
	scripts/make_dist.sh dist

unit-test:
	swift test

integration-test: build-debug
	SWERVE_BIN=$$(swift build --show-bin-path)/swerve $(PYTHON) -m pytest tests/integration -q -p no:cacheprovider

bench: build  ## release build, bench models, every scenario (~20 min with the release build): BENCHMARKS.md (BENCH_ARGS=--quick: ~2 min)
	swift build -c release --product swerve-image-bench
	$(PYTHON) -m bench $(BENCH_ARGS)

fuzz: setup  ## libFuzzer + ASan over every parser (Fuzz/README.md): FUZZ_SECONDS per target (60), FUZZ_TARGETS to pick some
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" scripts/fuzz.sh

SOAK_INPUTS ?= 100000
SOAK_MINUTES ?= 30
soak: build  ## issue 13's long attack: SOAK_INPUTS hostile inputs, SOAK_MINUTES of mixed load; figures into BENCHMARKS.md
	cd tests/integration && SWERVE_BIN=$${SWERVE_BIN:-$(CURDIR)/.build/release/swerve} ../../$(PYTHON) -m attack \
	  --inputs $(SOAK_INPUTS) --soak-minutes $(SOAK_MINUTES) --benchmarks $(CURDIR)/BENCHMARKS.md

# Regenerates the committed Swift code from proto/*.proto. Needs Debian's protobuf-compiler and
# builds swift-protobuf's protoc-gen-swift and grpc-swift-protobuf's protoc-gen-grpc-swift-2
# (a few minutes the first time).
proto:
	@command -v protoc >/dev/null || (apt-get update -qq && apt-get install -y -qq protobuf-compiler)
	swift build -c release --product protoc-gen-swift --package-path .build/checkouts/swift-protobuf --scratch-path .build-protoc
	protoc --plugin=protoc-gen-swift=.build-protoc/release/protoc-gen-swift \
	  --swift_opt=Visibility=Public --swift_out=Sources/SwerveCore/Config/Generated -I proto proto/model_config.proto
	protoc --plugin=protoc-gen-swift=.build-protoc/release/protoc-gen-swift \
	  --swift_opt=FileNaming=DropPath --swift_out=Sources/SwerveTensorFlow/Generated -I proto \
	  proto/tensorflow/types.proto proto/tensorflow/tensor_shape.proto proto/tensorflow/meta_graph.proto proto/tensorflow/config.proto
	swift build -c release --product protoc-gen-grpc-swift-2 --package-path .build/checkouts/grpc-swift-protobuf --scratch-path .build-protoc-grpc
	protoc --plugin=protoc-gen-swift=.build-protoc/release/protoc-gen-swift \
	  --plugin=protoc-gen-grpc-swift-2=.build-protoc-grpc/release/protoc-gen-grpc-swift-2 \
	  --swift_opt=Visibility=Public,ProtoPathModuleMappings=proto/swerve_grpc_module_map.asciipb --swift_out=Sources/SwerveGRPC/Generated \
	  --grpc-swift-2_opt=Visibility=Public,ProtoPathModuleMappings=proto/swerve_grpc_module_map.asciipb --grpc-swift-2_out=Sources/SwerveGRPC/Generated \
	  -I proto proto/grpc_service.proto proto/health.proto

clean:
	rm -rf .build $(EXAMPLES)
