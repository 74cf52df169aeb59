"""Only runtime code reaches hosts and module payloads (issue 17).

The agent package the role installs holds only modules the agent imports when it runs, and the rule model that
rides in every module payload (plugins/module_utils/mirror_rules.py) defines only names that shipped code uses:
what only tests need (the reference evaluator, Packet, decide) lives in tests/agent/reference.py.
"""

import ast
import re
from pathlib import Path

from netns_lab import AGENT_PACKAGE

REPO = Path(__file__).resolve().parents[2]
AGENT = Path(AGENT_PACKAGE)
MODEL = REPO / "plugins" / "module_utils" / "mirror_rules.py"


def agent_imports(module):
    """The agent package's modules that ``module`` (a name) imports, at any depth of its code."""
    tree = ast.parse((AGENT / (module + ".py")).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module is None:  # from . import x
                found.update(alias.name for alias in node.names)
            elif node.level == 1:  # from .x import y
                found.add(node.module.split(".")[0])
            elif node.module == "traffic_mirror_agent":
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("traffic_mirror_agent."):
                found.add(node.module.split(".")[1])
    return {name for name in found if (AGENT / (name + ".py")).exists()}


def reachable(roots, uses):
    """``roots`` and everything they use, at any depth (``uses(name)`` gives the names ``name`` uses)."""
    reached, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(uses(name))
    return reached


def test_every_module_of_the_installed_agent_is_reached_from_its_entry_point():
    reached = reachable(["__main__"], agent_imports)
    shipped = {path.stem for path in AGENT.glob("*.py")} - {"__init__"}
    assert shipped - reached == set(), "modules in the agent package that the agent never imports"


def runtime_text():
    """Every shipped file that may use the rule model, except the model itself."""
    paths = [p for p in (REPO / "plugins").rglob("*.py") if p.resolve() != MODEL.resolve()]
    paths += [p for p in AGENT.glob("*.py") if p.name != "rules.py"]
    paths += list((REPO / "roles").rglob("*.yml"))
    return "\n".join(path.read_text() for path in paths)


def top_level_names(tree):
    """{name: the names its definition uses} for each top-level class, function and assignment."""
    defined = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            targets = [node.name]
        elif isinstance(node, ast.Assign):
            targets = [target.id for target in node.targets if isinstance(target, ast.Name)]
        else:
            continue
        used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        for target in targets:
            defined[target] = used - {target}
    return defined


def test_the_rule_model_defines_only_what_shipped_code_uses():
    defined = top_level_names(ast.parse(MODEL.read_text()))
    shipped = runtime_text()
    roots = [name for name in defined if re.search(r"\b%s\b" % re.escape(name), shipped)]
    reached = reachable(roots, lambda name: defined[name] & defined.keys())
    assert sorted(set(defined) - reached) == [], "names in mirror_rules.py that only tests (or nothing) use"
