# The two commands a fresh machine needs:
#   make demo   install what is missing, build, run `evlog demo`
#   make test   install what is missing, build, run every test in a normal build and under
#               AddressSanitizer+UBSan and ThreadSanitizer
JOBS ?= $(shell nproc)

.PHONY: demo test build bootstrap format clean

bootstrap:
	./scripts/bootstrap.sh

build: bootstrap
	cmake --preset release
	cmake --build build/release -j$(JOBS)

demo: build
	./build/release/evlog demo

test: bootstrap
	./scripts/test.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf build
