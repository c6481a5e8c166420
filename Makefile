# ckeras: every target sets up what it needs in a project-local virtual
# environment (.venv), so a fresh machine with python3 and gcc suffices.
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
DEPS := $(VENV)/.deps-installed
EXT_SOURCES := $(wildcard src/kernels/*.c src/kernels/*.h ckeras/*.pyx \
	ckeras/*.pxd ckeras/_kernels_src/*.pxi) setup.py
EXT_STAMP := build/.ext-built
BLAS_LIB = $(shell $(VPY) -c "import scipy_openblas32 as s; print(s.get_lib_dir())")
BLAS_INC = $(shell $(VPY) -c "import scipy_openblas32 as s; print(s.get_include_dir())")

.PHONY: all build test test-c test-wheel demo bench wheel clean

all: build

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(DEPS): requirements-dev.txt | $(VPY)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# in-place build of ckeras/_kernels*.so for tests, demo and bench
$(EXT_STAMP): $(DEPS) $(EXT_SOURCES)
	$(VPY) setup.py --quiet build_ext --inplace --parallel 2
	mkdir -p build && touch $@

build: $(EXT_STAMP)

test: build
	$(VPY) -m pytest -q tests

# the guide's MLP trained on the bundled digits, with the progress bar
demo: build
	$(VPY) -m ckeras.demo

bench: build
	$(VPY) -m ckeras.bench kernels

# C test driver under AddressSanitizer + UndefinedBehaviorSanitizer
SAN_FLAGS := -std=c99 -g -O1 -fno-omit-frame-pointer -pthread \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	-ffp-contract=off -fno-math-errno -Wall -Wextra -Werror
test-c: $(DEPS)
	mkdir -p build
	gcc $(SAN_FLAGS) -Isrc/kernels -I$(BLAS_INC) -DCK_NO_CLONES \
		src/kernels/*.c src/kernels/tests/*.c \
		-L$(BLAS_LIB) -Wl,-rpath,$(BLAS_LIB) -lscipy_openblas -lm \
		-o build/test_kernels
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 ./build/test_kernels

# a wheel with OpenBLAS bundled by auditwheel
wheel: $(DEPS)
	rm -rf build/lib* build/temp* dist wheelhouse
	$(VPY) -m pip wheel --quiet --no-build-isolation --no-deps -w dist .
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" LD_LIBRARY_PATH=$(BLAS_LIB) $(VENV)/bin/auditwheel repair -w wheelhouse dist/ckeras-*.whl
	rm -rf build/lib* build/temp*

# the repaired wheel in a fresh venv that has only numpy, h5py and pyyaml
test-wheel: wheel
	rm -rf build/wheel-venv
	$(PYTHON) -m venv build/wheel-venv
	build/wheel-venv/bin/pip install --quiet numpy h5py pyyaml
	build/wheel-venv/bin/pip install --quiet --no-deps wheelhouse/ckeras-*.whl
	cd build && wheel-venv/bin/python -m ckeras.selftest

clean:
	rm -rf build dist wheelhouse *.egg-info ckeras/_kernels.c \
		ckeras/_kernels*.so .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
