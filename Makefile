# speechbrain-kd: `make demo` distils a student end to end on the sample
# corpus; `make test` runs the test suite. Both create (or reuse) .venv and
# install the package with the pinned versions of constraints.txt (with the
# cluster extra, Ray, so that the tests of the ray executor run).

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED_DATA ?= ../shared/data
export SBKD_SHARED_DATA := $(abspath $(SHARED_DATA))

.PHONY: install demo test bench lint

install: $(VENV)/.installed

$(VENV)/.installed: constraints.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e ".[cluster]" pytest \
		pytest-xdist ruff
	touch $@

demo: install
	$(PY) benchmarks/demo.py --shared_data $(SBKD_SHARED_DATA)

# Two workers, one test file each at a time (a file's fixtures stay in one
# process); the recipes they start use one thread each
test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 --dist loadfile tests \
		speechbrain_kd benchmarks/common.py --doctest-modules

bench: install
	$(PY) benchmarks/bench_train_throughput.py --shared_data $(SBKD_SHARED_DATA)
	$(PY) benchmarks/bench_precision.py --shared_data $(SBKD_SHARED_DATA)
	$(PY) benchmarks/bench_kd_overhead.py --shared_data $(SBKD_SHARED_DATA)
	$(PY) benchmarks/bench_deploy.py --shared_data $(SBKD_SHARED_DATA)
	$(PY) benchmarks/bench_streaming.py --shared_data $(SBKD_SHARED_DATA)
	$(PY) benchmarks/bench_family_steps.py --shared_data $(SBKD_SHARED_DATA)

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
