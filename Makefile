# portsim: two commands on a fresh machine.
#   make run    set up .venv, run scenarios/quickstart.yaml into results/quickstart/
#   make test   set up .venv, lint, type-check and run the whole test suite (as root on Debian it first
#               installs Chromium for the one headless-browser test: `make browser`, nftables and
#               conntrack for the live NAT test: `make nat-tools`, and gcc for the compiled fast path:
#               `make compiler`), then the model's tests again on the pure Python model
#   make lab    JupyterLab and ipywidgets in the same .venv, opened on notebooks/ (sim.explore needs them)
# For developers (not part of make test):
#   make bench    speed against bare SimPy (ratios in one process), then the experiments' speed-up and overhead
#   make fuzz     1,000 malformed scenario files through the CLI, and ten times the random-scenario examples
#   make mutants  mutation testing of the hot path and the statistics (mutmut), then of the compiled path
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB    := $(VENV)/.lab-installed

.PHONY: run test lint browser nat-tools compiler compiled lab bench fuzz mutants clean

$(STAMP): pyproject.toml setup.py | compiler
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: compiled
	$(BIN)/portsim run scenarios/quickstart.yaml

# A C compiler and Python's headers for the compiled fast path (sim/model/_batch.pyx): Debian's gcc (and
# python3-dev where Python.h is missing), installed in a root shell with apt-get where missing; elsewhere portsim
# runs its pure Python model (same results, 6 to 11 times slower).
compiler:
	@include=$$($(PYTHON) -c 'import sysconfig; print(sysconfig.get_paths()["include"])'); \
	if { command -v cc >/dev/null || command -v gcc >/dev/null; } && [ -f "$$include/Python.h" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's gcc (and Python's headers) for portsim's compiled fast path"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends gcc libc6-dev \
			$$([ -f "$$include/Python.h" ] || echo python3-dev) >/dev/null; \
	else echo "no C compiler or Python headers, and not root: portsim will run its pure Python model"; fi

# Rebuild the compiled fast path in place when it is missing or older than the sources it mirrors (a build
# that is stale is never used: portsim says so in one line and runs the Python model).
compiled: $(STAMP)
	@$(BIN)/python -m sim.model.compiled --current 2>/dev/null || $(BIN)/python setup.py -q build_ext --inplace --force

lint: $(STAMP)
	$(BIN)/ruff check sim tests notebooks benchmarks setup.py
	$(BIN)/ruff format --check sim tests benchmarks setup.py
	$(BIN)/mypy

# Debian's Chromium and ChromeDriver for tests/teach (sim.explore in a real page), where missing: installed
# in a root shell with apt-get (about 30 s, 121 MB); elsewhere that test is skipped, and fails under CI=true.
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium and chromium-driver for the headless-browser test"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null; \
	else echo "no chromium/chromedriver and not root: the headless-browser test will be skipped"; fi

# Debian's nftables and conntrack for `portsim validate --nat` and its live test (netfilter SNAT in private
# network namespaces), where missing: installed in a root shell with apt-get (a few seconds, about 2 MB);
# elsewhere that test is skipped.
nat-tools:
	@if command -v nft >/dev/null && command -v conntrack >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's nftables and conntrack for validate --nat"; \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends nftables conntrack >/dev/null; \
	else echo "no nft/conntrack and not root: the live NAT test will be skipped"; fi

# The suite on the build in use (compiled where it is built), then the model's own tests on the pure Python model.
test: lint browser nat-tools compiled
	$(BIN)/python -m pytest -n 2 --durations=10
	PORTSIM_PURE=1 $(BIN)/python -m pytest -n 2 -q tests/model tests/core tests/test_whole_path.py --ignore=tests/model/test_compiled.py

$(LAB): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[notebook]'
	touch $(LAB)

lab: $(LAB)
	$(BIN)/jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(LAB_ARGS)

bench: compiled
	$(BIN)/python benchmarks/bench.py

fuzz: $(STAMP)
	$(BIN)/python tests/fuzz/malformed.py --count 1000 --jobs 2 --limits "--max-attempts 500000" --run-args "--workers 1"
	PORTSIM_EXAMPLES_SCALE=10 $(BIN)/python -m pytest -n 2 -p no:randomly tests/test_whole_path.py tests/core/test_fast_paths.py

mutants: $(STAMP)
	PORTSIM_EXAMPLES_SCALE=0.1 $(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results
	$(BIN)/python tests/mutants/compiled.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants build sim/model/_batch.c sim/model/_batch.*.so
