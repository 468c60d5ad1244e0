# Rollcall — the commands a newcomer needs. `make run` and `make test` set up
# everything (packages, models, build) first; each step skips itself when
# there is nothing to do.
.PHONY: all run test bench format build build-asan bootstrap models web clean help

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_A64  ?= build-aarch64
LISTEN     ?= 127.0.0.1:8080

all: build

help:
	@echo "make run     set up, build and start the server on $(LISTEN) (SQLite in ./data)"
	@echo "make test    set up, build and run every test suite (also under ASan/UBSan)"
	@echo "make bench   run the benchmarks"
	@echo "make format  apply .clang-format to the C sources"
	@echo "make clean   remove the build directories"

bootstrap:
	@scripts/bootstrap

models: bootstrap
	@scripts/fetch-models

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Dwerror=true

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) --buildtype=debug -Dwerror=true \
	  -Db_sanitize=address,undefined -Db_lundef=false

build: bootstrap $(BUILD)/build.ninja
	@ninja -C $(BUILD) --quiet

build-asan: bootstrap $(BUILD_ASAN)/build.ninja
	@ninja -C $(BUILD_ASAN) --quiet

web: bootstrap
	@scripts/build-web

run: models build web
	$(BUILD)/src/cli/rollcall serve --listen $(LISTEN)

test: models build build-asan web
	@scripts/test $(BUILD) $(BUILD_ASAN) $(BUILD_A64)

bench: models build
	@scripts/bench-deps
	@scripts/bench $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_A64)
