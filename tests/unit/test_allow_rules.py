"""``agentConfig.allow``: the permission rules a project declares, checked as the config loads.

Real config files in real git repositories; each bad rule is reported on one line naming
the file, line, column, the entry and what would fix it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.allow_rules import MAX_RULE_LENGTH, MAX_RULES, list_problem, rule_problem
from core.config import AgentConfig, Config, ConfigError, config_schema, load_config_text
from tests.conftest import run_git

KNOWN_AGENTS = frozenset({"claude-code", "shell"})


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A directory holding the git repository ``repo`` the configs point at."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run_git(repo, "init", "-q", "-b", "main")
    return tmp_path


def load(text: str, base_dir: Path) -> Config:
    return load_config_text(
        text, filename="ao.config.yaml", base_dir=base_dir, known_agents=KNOWN_AGENTS
    ).config


def problems(text: str, base_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, base_dir)
    return [str(problem) for problem in caught.value.problems]


PROJECT = "projects:\n  app:\n    path: repo\n    agentConfig:\n"


def test_rules_load_in_order_as_written(base: Path) -> None:
    text = PROJECT + (
        "      allow:\n"
        '        - "Bash(pytest:*)"\n'
        '        - "Bash(git commit:*)"\n'
        "        - Edit\n"
        "        - WebFetch(domain:docs.python.org)\n"
        "        - mcp__github__get_issue\n"
        "        - Read(~/.config/app/**)\n"
    )
    allow = load(text, base).projects["app"].agent_config.allow
    assert allow == (
        "Bash(pytest:*)",
        "Bash(git commit:*)",
        "Edit",
        "WebFetch(domain:docs.python.org)",
        "mcp__github__get_issue",
        "Read(~/.config/app/**)",
    )


def test_no_rules_unless_written(base: Path) -> None:
    assert load("projects: {app: {path: repo}}", base).projects["app"].agent_config.allow == ()
    empty = load(PROJECT + "      allow:\n", base).projects["app"].agent_config.allow
    assert empty == ()
    assert AgentConfig().allow == ()


def test_a_bad_rule_names_file_line_entry_and_fix(base: Path) -> None:
    text = PROJECT + '      allow:\n        - Edit\n        - "Bash(pytest:*"\n'
    assert problems(text, base) == [
        "ao.config.yaml:7:11: projects.app.agentConfig.allow.1: 'Bash(pytest:*' has no "
        "closing ')' at its end; close the specifier, e.g. 'Bash(pytest:*)' or 'Edit'"
    ]


def test_every_bad_rule_of_a_list_is_reported(base: Path) -> None:
    text = PROJECT + (
        "      allow:\n"
        '        - "Bash(pytest:*)\\nrm -rf ~"\n'
        "        - Edit\n"
        '        - " Edit"\n'
        "        - {Bash: x}\n"
        "        - 12\n"
    )
    found = problems(text, base)
    assert [line.split(": ")[1] for line in found] == [
        "projects.app.agentConfig.allow.0",
        "projects.app.agentConfig.allow.2",
        "projects.app.agentConfig.allow.3",
        "projects.app.agentConfig.allow.4",
    ]
    assert found[0].startswith("ao.config.yaml:6:11: ")
    assert "contains a newline at character 15" in found[0]
    assert "has spaces around it" in found[1]
    assert found[2].endswith("expected a string, got a mapping")
    # YAML read 12 as a number; it is kept as the text written, which names no tool.
    assert "'12' does not start with a tool name" in found[3]
    assert all("\n" not in line for line in found)


def test_the_list_itself_is_checked(base: Path) -> None:
    one = problems(PROJECT + "      allow: Edit\n", base)
    assert one == [
        "ao.config.yaml:5:14: projects.app.agentConfig.allow: expected a list of rules, got "
        "the text 'Edit'; write allow: ['Edit']"
    ]
    mapping = problems(PROJECT + "      allow: {Bash: pytest}\n", base)
    assert "expected a list of rules, got a mapping" in mapping[0]
    many = ", ".join(f"Bash(t{i}:*)" for i in range(MAX_RULES + 1))
    too_many = problems(PROJECT + f"      allow: [{many}]\n", base)
    assert too_many == [
        f"ao.config.yaml:5:14: projects.app.agentConfig.allow: {MAX_RULES + 1} rules (at "
        f"most {MAX_RULES}); allow each command family with one prefix rule such as "
        "'Bash(npm run:*)'"
    ]
    exactly = ", ".join(f"Bash(t{i}:*)" for i in range(MAX_RULES))
    loaded = load(PROJECT + f"      allow: [{exactly}]\n", base)
    assert len(loaded.projects["app"].agent_config.allow) == MAX_RULES


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("", "the rule is empty"),
        ("   ", "the rule is empty"),
        ("Bash(a\rb)", "contains a carriage return at character 7"),
        ("Bash(a\tb)", "contains a tab at character 7"),
        ("Bash(\x1b[2J)", "contains an escape character (ESC) at character 6"),
        ("Bash(\x9b2J)", "contains the invisible or control character U+009B"),
        ("Bash(\x7f)", "U+007F"),
        ("Bash(ls \u202egnp.*)", "U+202E at character 9"),
        ("Bash(ls\u200b-la)", "U+200B"),
        ("Bash(ls\u2028x)", "U+2028"),
        ("Bash(ls\u00a0-la)", "U+00A0"),
        ("Bash(ls \udcff)", "U+DCFF"),
        ("Edit ", "has spaces around it"),
        ("(pytest)", "does not start with a tool name"),
        ("Bash pytest", "does not start with a tool name"),
        ("*", "does not start with a tool name"),
        ("Bash(pytest", "has no closing ')'"),
        ("Bash(pytest) and more", "has no closing ')'"),
        ("Bash()", "nothing between its parentheses; write 'Bash'"),
        ("Bash(  )", "nothing between its parentheses"),
        ("B" * (MAX_RULE_LENGTH + 1), f"at most {MAX_RULE_LENGTH}"),
    ],
)
def test_rule_problems(rule: str, expected: str) -> None:
    problem = rule_problem(rule)
    assert expected in problem
    assert problem.isprintable(), problem  # the rule is quoted with its escapes shown


@pytest.mark.parametrize(
    "rule",
    [
        "Edit",
        "Bash",
        "Bash(pytest:*)",
        "Bash(npm run test:*)",
        "Bash(echo $(date) (x))",
        "WebFetch(domain:example.com)",
        "mcp__server__*",
        "Read(//home/me/**/*.py)",
        "Bash(grep 'ü' CHANGES.md)",
        "B" * MAX_RULE_LENGTH,
    ],
)
def test_good_rules(rule: str) -> None:
    assert rule_problem(rule) == ""


def test_list_problems() -> None:
    assert list_problem(["Edit"]) == ""
    assert list_problem(("Edit",)) == ""
    assert "got int" in list_problem(3)
    assert "got the text 'Edit'" in list_problem("Edit")


def test_the_schema_describes_the_rules() -> None:
    schema = config_schema()["$defs"]["AgentConfig"]["properties"]["allow"]
    assert schema["type"] == "array" and schema["maxItems"] == MAX_RULES
    assert schema["items"]["maxLength"] == MAX_RULE_LENGTH
    assert "without asking" in schema["description"]
