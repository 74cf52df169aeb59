"""The agent tests' name for harness/netns_lab.py, the namespace lab the tests, the demo and the benchmarks
share: ``import netlab`` gives that very module (tests/conftest.py puts harness/ on sys.path)."""

import sys

import netns_lab

sys.modules[__name__] = netns_lab
