# Swerve: the two commands a new user needs are `make serve` and `make test`.
SHELL := /bin/bash
PYTHON := .venv/bin/python
EXAMPLES := examples/models
HTTP_PORT ?= 8000

.PHONY: setup build build-debug models serve test unit-test integration-test proto clean

setup:  ## Debian packages and the Python virtual environment (.venv)
	@scripts/setup.sh

build: setup
	swift build -c release --product swerve

build-debug: setup
	swift build --product swerve

models: setup  ## the bundled example model repository (generated, not in git)
	$(PYTHON) scripts/make_example_repo.py $(EXAMPLES)

serve: build models  ## build, generate the example repository and serve it on :8000
	.build/release/swerve serve --model-repository $(EXAMPLES) --http-port $(HTTP_PORT)

test: setup  ## every test: Swift unit tests, then integration tests against the real binary
	swift build --build-tests
	SWERVE_REQUIRE_ORT=1 swift test --skip-build
	SWERVE_BIN=$$(swift build --show-bin-path)/swerve $(PYTHON) -m pytest tests/integration -q -p no:cacheprovider

unit-test:
	swift test

integration-test: build-debug
	SWERVE_BIN=$$(swift build --show-bin-path)/swerve $(PYTHON) -m pytest tests/integration -q -p no:cacheprovider

# Regenerates the committed Swift code from proto/*.proto. Needs Debian's protobuf-compiler and
# builds swift-protobuf's protoc-gen-swift (a few minutes the first time).
proto:
	@command -v protoc >/dev/null || (apt-get update -qq && apt-get install -y -qq protobuf-compiler)
	swift build -c release --product protoc-gen-swift --package-path .build/checkouts/swift-protobuf --scratch-path .build-protoc
	protoc --plugin=protoc-gen-swift=.build-protoc/release/protoc-gen-swift \
	  --swift_opt=Visibility=Public --swift_out=Sources/SwerveCore/Config/Generated -I proto proto/model_config.proto

clean:
	rm -rf .build $(EXAMPLES)
