"""Paths of the repository and of the agent package, for the agent tests."""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT_PATH = os.path.join(ROOT, "roles", "mirror_agent", "files")
