"""The roles follow linux-system-roles' conventions, read from the roles' own files (so a variable, handler or
platform added later is checked too):

- each README's variable tables match meta/argument_specs.yml (names, types, defaults, sub-options), and
  defaults/main.yml matches the specs' defaults;
- everything a role sets that is not an argument (vars/, set_fact, register, task vars, loop variables) is named
  __<role>_*;
- handler names and listen topics are unique across both roles, every notify has its handler, and no handler reads
  a task's register;
- OS data is in vars/<os family>.yml, loaded by the "Set platform/version specific variables" task, with no OS
  test inline in a task; a fact guard gathers every fact the role reads when the play did not;
- meta/main.yml lists only the platforms a test boots (the Debian release tests/lab/nspawn_lab.py debootstraps for
  the default molecule scenario; the releases of tests/vm/vmlab.py's images for the kernels scenario, when it
  converges the role), and the README says how to add one.
"""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ROLES = ["mirror_agent", "mirror_collector"]
SET_VARS_TASK = "Set platform/version specific variables"


def load(path):
    return yaml.safe_load(path.read_text())


def specs(role):
    return load(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]


def task_files(role):
    return sorted((REPO / "roles" / role / "tasks").glob("*.yml"))


def all_tasks(role, include_handlers=True):
    """Every task of the role's task files (and handlers), blocks flattened."""
    files = task_files(role) + ([REPO / "roles" / role / "handlers" / "main.yml"] if include_handlers else [])
    found = []

    def walk(tasks, path):
        for task in tasks or []:
            found.append((path, task))
            for key in ("block", "rescue", "always"):
                walk(task.get(key), path)

    for path in files:
        walk(load(path), path)
    return found


# --- README tables against meta/argument_specs.yml ---------------------------------------------------------------

ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|\s*(.+?)\s*\|.*\|\s*$")


def readme_tables(role):
    """{(): {name: (type, default)}, ('mirror_agent_sessions',): {...}, ...} from the README's tables: a header
    "| Variable |" starts the top-level table, "| Key of `a.b` |" the sub-options of a.b."""
    tables, current = {}, None
    for line in (REPO / "roles" / role / "README.md").read_text().splitlines():
        header = re.match(r"^\|\s*(Variable|Key of `([^`]+)`)\s*\|", line)
        if header:
            current = tuple(header.group(2).split(".")) if header.group(2) else ()
            assert current not in tables, "%s README: two tables for %s" % (role, current or "the variables")
            tables[current] = {}
            continue
        if not line.startswith("|"):
            current = None
            continue
        row = ROW.match(line)
        if current is not None and row:
            name, kind, default = row.groups()
            assert name not in tables[current], "%s README: %s listed twice" % (role, name)
            tables[current][name] = (kind, default)
    return tables


def expected_tables(options, path=()):
    """The same shape, from the argument specs."""
    table = {}
    tables = {path: table}
    for name, option in options.items():
        kind = option.get("type", "str") + (" of " + option["elements"] if "elements" in option else "")
        if option.get("required"):
            default = "required"
        elif "default" in option:
            default = option["default"]
        else:
            default = None
        table[name] = (kind, default)
        if "options" in option:
            tables.update(expected_tables(option["options"], path + (name,)))
    return tables


def parse_default(cell):
    """`value` (YAML), "required", or "—" (no default)."""
    if cell == "required":
        return "required"
    if cell in ("—", "-"):
        return None
    match = re.fullmatch(r"`(.*)`", cell)
    assert match, "a default is `value`, required or —; got %r" % cell
    return yaml.safe_load(match.group(1))


@pytest.mark.parametrize("role", ROLES)
def test_readme_variable_tables_match_the_argument_specs(role):
    documented = readme_tables(role)
    expected = expected_tables(specs(role))
    assert sorted(documented) == sorted(expected), "%s README: tables for %s, argument_specs has options at %s" % (
        role,
        sorted(documented),
        sorted(expected),
    )
    for path, table in expected.items():
        where = ".".join(path) or "variables"
        rows = documented[path]
        assert sorted(rows) == sorted(table), "%s README %s: rows %s, argument_specs %s" % (
            role,
            where,
            sorted(rows),
            sorted(table),
        )
        for name, (kind, default) in table.items():
            got_kind, got_default = rows[name]
            assert got_kind == kind, "%s README %s.%s: type %r, argument_specs %r" % (role, where, name, got_kind, kind)
            got = parse_default(got_default)
            assert got == default and type(got) is type(default), "%s README %s.%s: default %r, argument_specs %r" % (
                role,
                where,
                name,
                got,
                default,
            )


@pytest.mark.parametrize("role", ROLES)
def test_defaults_are_the_argument_specs_defaults(role):
    defaults = load(REPO / "roles" / role / "defaults" / "main.yml")
    options = specs(role)
    assert all(name.startswith(role + "_") for name in defaults), sorted(defaults)
    assert {n: o["default"] for n, o in options.items() if "default" in o} == defaults


# --- internal variables --------------------------------------------------------------------------------------------


def set_names(role):
    """(where, name) of every variable the role sets other than its arguments."""
    names = []
    for path in sorted((REPO / "roles" / role / "vars").glob("*.yml")):
        names += [(path.name, name) for name in load(path) or {}]
    for path, task in all_tasks(role):
        where = "%s: %s" % (path.name, task.get("name"))
        names += [(where, name) for name in task.get("ansible.builtin.set_fact", task.get("set_fact")) or {}]
        names += [(where, name) for name in task.get("vars") or {}]
        if "register" in task:
            names.append((where, task["register"]))
        for key in ("loop_var", "index_var"):
            if key in (task.get("loop_control") or {}):
                names.append((where, task["loop_control"][key]))
    return names


@pytest.mark.parametrize("role", ROLES)
def test_internal_variables_are_double_underscore_prefixed(role):
    names = set_names(role)
    assert any(where.startswith("resolve_aws.yml") or role != "mirror_agent" for where, _name in names)
    bad = [(where, name) for where, name in names if not name.startswith("__%s_" % role)]
    assert bad == [], "%s sets variables without the __%s_ prefix: %s" % (role, role, bad)


# --- handlers -----------------------------------------------------------------------------------------------------


def handlers(role):
    return load(REPO / "roles" / role / "handlers" / "main.yml")


def test_handler_names_and_topics_are_unique_across_the_roles():
    seen = {}
    for role in ROLES:
        for handler in handlers(role):
            topics = handler.get("listen", [])
            for name in [handler["name"]] + ([topics] if isinstance(topics, str) else list(topics)):
                assert name not in seen, "handler %r is in %s and %s (handler names are play-wide)" % (
                    name,
                    seen[name],
                    role,
                )
                seen[name] = role


@pytest.mark.parametrize("role", ROLES)
def test_every_notify_has_a_handler_and_handlers_read_no_task_register(role):
    names = set()
    for handler in handlers(role):
        topics = handler.get("listen", [])
        names |= {handler["name"]} | ({topics} if isinstance(topics, str) else set(topics))
    notified = set()
    registers = set()
    for _path, task in all_tasks(role, include_handlers=False):
        notify = task.get("notify", [])
        notified |= {notify} if isinstance(notify, str) else set(notify)
        if "register" in task:
            registers.add(task["register"])
    assert notified and notified <= names, "notified without a handler: %s" % sorted(notified - names)
    text = (REPO / "roles" / role / "handlers" / "main.yml").read_text()
    read = sorted(r for r in registers if re.search(r"(?<![\w])%s(?![\w])" % re.escape(r), text))
    assert read == [], "%s handlers read task registers %s" % (role, read)


# --- OS data and facts --------------------------------------------------------------------------------------------

FACT = re.compile(r"ansible_facts(?:\.(\w+)|\[['\"](\w+)['\"]\])")


@pytest.mark.parametrize("role", ROLES)
def test_os_data_is_in_vars_files_loaded_by_the_set_platform_vars_task(role):
    root = REPO / "roles" / role
    main = load(root / "tasks" / "main.yml")
    assert main[0]["name"] == SET_VARS_TASK and main[0]["ansible.builtin.include_tasks"] == "set_vars.yml"
    assert "when" not in main[0], "the platform variables are needed whatever the state"
    (include,) = [t for t in load(root / "tasks" / "set_vars.yml") if "ansible.builtin.include_vars" in t]
    assert include["name"] == SET_VARS_TASK
    assert "{{ ansible_facts['os_family'] }}.yml" in include["vars"]["__%s_platform_files" % role]
    families = sorted(p.stem for p in (root / "vars").glob("*.yml") if p.stem != "main")
    assert "Debian" in families
    for family in families:
        assert set(load(root / "vars" / (family + ".yml"))) == {"__%s_packages" % role}, family
    assert not any(family in str(load(root / "vars" / "main.yml")) for family in families), "OS data in vars/main.yml"
    for path in task_files(role) + [root / "handlers" / "main.yml"]:
        if path.name == "set_vars.yml":
            continue
        inline = re.findall(
            r"os_family\s*(?:==|!=|\bin\b)|(?:==|!=)\s*['\"](?:%s)['\"]" % "|".join(families), path.read_text()
        )
        assert inline == [], "%s: an OS test inline (%s); OS data goes in vars/<os family>.yml" % (path.name, inline)


@pytest.mark.parametrize("role", ROLES)
def test_the_fact_guard_gathers_every_fact_the_role_reads(role):
    root = REPO / "roles" / role
    guard = load(root / "tasks" / "set_vars.yml")[0]
    assert guard["ansible.builtin.setup"] == {"gather_subset": "{{ __%s_required_facts_subsets }}" % role}
    assert guard["when"] == "__%s_required_facts | difference(ansible_facts.keys() | list) | length > 0" % role
    role_vars = load(root / "vars" / "main.yml")
    required = set(role_vars["__%s_required_facts" % role])
    assert role_vars["__%s_required_facts_subsets" % role] == "{{ ['!all', '!min'] + __%s_required_facts }}" % role
    read = set()
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".yml", ".j2") and "files" not in path.relative_to(root).parts:
            read |= {a or b for a, b in FACT.findall(path.read_text())}
    assert read - {"keys"} <= required, "read but not gathered by the guard: %s" % sorted(read - {"keys"} - required)
    assert "service_mgr" in required and "os_family" in required


# --- platforms ----------------------------------------------------------------------------------------------------


def booted_debian_release():
    """The release tests/lab/nspawn_lab.py debootstraps for the molecule scenario's hosts."""
    text = (REPO / "tests" / "lab" / "nspawn_lab.py").read_text()
    (release,) = re.findall(r'sh\(\s*"debootstrap",.*?"(\w+)",\s*str\(staging\)', text, re.DOTALL)
    return release


def vm_releases():
    """The releases of tests/vm/vmlab.py's images, which the kernels scenario boots as qemu VMs."""
    from vm.vmlab import RELEASES

    return set(RELEASES.values())


def converged_by(scenario, role):
    converge = load(REPO / "extensions" / "molecule" / scenario / "converge.yml")
    return any(role in str(play.get("roles")) for play in converge)


@pytest.mark.parametrize("role", ROLES)
def test_meta_platforms_are_what_a_test_boots_and_the_readme_says_how_to_add_one(role):
    molecule = load(REPO / "extensions" / "molecule" / "default" / "create.yml")
    assert "nspawn_lab.py" in str(molecule), "the molecule scenario boots its hosts with tests/lab/nspawn_lab.py"
    assert converged_by("default", role), "%s is converged by the default scenario" % role
    booted = {booted_debian_release()}
    if converged_by("kernels", role):
        assert "vmlab" in (REPO / "extensions" / "molecule" / "kernels" / "create.yml").read_text()
        booted |= vm_releases()
    (platform,) = load(REPO / "roles" / role / "meta" / "main.yml")["galaxy_info"]["platforms"]
    assert platform["name"] == "Debian" and set(platform["versions"]) == booted
    readme = (REPO / "roles" / role / "README.md").read_text()
    assert "## Platforms, and adding one" in readme and "vars/<os family>.yml" in readme
