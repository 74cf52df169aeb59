# Two commands set up and run everything on a fresh machine:
#   make demo   - the main job: an example playbook against the offline EC2 endpoint
#                 (plus the mirroring agent in a local network-namespace lab when run as root)
#   make test   - every test (as root: it installs the Debian packages of .ci/apt-packages.txt itself)
#   make test-quick - only the tests that need neither root nor Debian packages; says what it left out
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 5000
PYTEST_ARGS ?=
TESTS ?= tests
PYTEST := $(PY) -m pytest $(TESTS) -p no:cacheprovider -q -rs --durations=15
COLLECTIONS := build/collections

.PHONY: venv demo test test-kernels test-quick test-prerequisites collection emulator clean docs sanity bench reliability

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# The offline EC2 endpoint in the foreground on 127.0.0.1:$(PORT), until interrupted.
emulator: venv
	PYTHONPATH=tools $(PY) -m offline_ec2 --host 127.0.0.1 --port $(PORT)

demo: venv collection
	$(PY) demo/run_demo.py

# Root and the Debian packages first (installed here when root on Debian), before any test or the venv.
test-prerequisites:
	$(PYTHON) tests/host_prerequisites.py

test: test-prerequisites
	$(MAKE) --no-print-directory venv
	$(PYTEST) $(PYTEST_ARGS)

test-quick: venv
	NETMIRROR_TEST_SCOPE=quick $(PYTEST) $(PYTEST_ARGS)

# This checkout as the installed collection netmirror.traffic_mirror (a symlink), for ansible-doc,
# ansible-playbook and the examples; prints the one line that points Ansible at it.
collection: venv
	@mkdir -p $(COLLECTIONS)/ansible_collections/netmirror
	@ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/netmirror/traffic_mirror
	@echo "The checkout is the collection netmirror.traffic_mirror. To use it (with the venv's ansible):"
	@echo "  export ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/$(COLLECTIONS) PATH=$(CURDIR)/$(VENV)/bin:\$$PATH"

# The collection's docsite (antsibull-docs + Sphinx) in build/docsite/site/build/html; make test builds it too.
# (Outside tests/: pytest would crawl the copies it holds.)
docs: venv
	rm -rf build/docsite && mkdir -p build/docsite
	$(PY) tests/ecosystem/build_docsite.py build/docsite

# ansible-test sanity with its full output (make test runs it too, in tests/ecosystem/test_ansible_test.py).
sanity: venv
	$(PY) tests/ecosystem/ansible_test.py sanity

# Benchmarks (as root: network namespaces): rewrites docs/performance.md and docs/performance/.
# Not part of make test (CI runs each with --quick in tests/benchmarks/). About 30 minutes.
BENCH_ARGS ?=
bench: venv
	$(PY) benchmarks/agent_dataplane.py $(BENCH_ARGS)
	$(PY) benchmarks/agent_control_plane.py $(BENCH_ARGS)
	$(PY) benchmarks/modules_bench.py $(BENCH_ARGS)
	$(PY) benchmarks/agent_soak.py $(BENCH_ARGS)
	$(PY) benchmarks/report.py

# The reliability and security tests (as root), then docs/reliability.md rewritten with what was tried and
# the outcome of each (about 2 minutes; RELIABILITY_ARGS=--molecule adds the booted-host run).
RELIABILITY_ARGS ?=
reliability: venv
	$(PY) harness/reliability_report.py $(RELIABILITY_ARGS)

# The kernel matrix (as root): the agent's kernel tests inside qemu VMs on Debian 11, 12 and 13 kernels and
# the mirror_agent role applied to them over SSH; writes build/kernel-matrix.json. Images are cached in build/vm.
KERNEL_ARGS ?=
test-kernels: test-prerequisites
	$(MAKE) --no-print-directory venv
	$(PY) tests/vm/run_matrix.py $(KERNEL_ARGS)

clean:
	rm -rf $(VENV) tests/output build
