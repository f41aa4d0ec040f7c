"""ao.config.yaml: valid files, every error in the corpus, AO compatibility, discovery."""

from __future__ import annotations

import json
import shutil
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from core.config import (
    AgentConfig,
    CiConfig,
    Config,
    ConfigError,
    Defaults,
    MergeConfig,
    ProjectConfig,
    config_schema,
    default_session_prefix,
    find_config,
    load_config,
    load_config_text,
    resolve_project,
)
from core.yaml_marks import Mark, YamlError, load_marked
from tests.conftest import run_git

FIXTURES = Path(__file__).parent.parent / "fixtures" / "config"
KNOWN_AGENTS = frozenset({"claude-code", "codex", "aider", "shell"})


def make_repo(path: Path) -> Path:
    """A real (empty) git repository at ``path``."""
    path.mkdir(parents=True)
    run_git(path, "init", "-q", "-b", "main")
    return path


def load(text: str, base_dir: Path, **environ: str) -> Config:
    return load_config_text(
        text,
        filename="ao.config.yaml",
        base_dir=base_dir,
        known_agents=KNOWN_AGENTS,
        environ=environ,
    ).config


def problems(text: str, base_dir: Path, **environ: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, base_dir, **environ)
    error = caught.value
    assert str(error) == "\n".join(str(problem) for problem in error.problems)
    return [str(problem) for problem in error.problems]


def only_problem(text: str, base_dir: Path, **environ: str) -> str:
    found = problems(text, base_dir, **environ)
    assert len(found) == 1, found
    assert "\n" not in found[0]
    return found[0]


# --- valid configs -------------------------------------------------------------------------


def test_full_config_loads_every_key(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    web = make_repo(tmp_path / "web")
    (web / "src").mkdir()
    loaded = load_config_text(
        (FIXTURES / "full.ao.config.yaml").read_text(),
        filename="full.ao.config.yaml",
        base_dir=tmp_path,
        known_agents=KNOWN_AGENTS,
        environ={"REPO": str(repo), "WEB_REPO": str(web)},
    )
    assert loaded.warnings == []
    assert loaded.path == tmp_path / "full.ao.config.yaml"
    config = loaded.config
    assert config.defaults == Defaults(agent="claude-code", runtime="tmux", workspace="worktree")
    app = config.projects["app"]
    assert app.path == repo.resolve()
    assert app.default_branch == "main"
    assert app.session_prefix == "app"
    assert app.agent_name(config.defaults) == "codex"
    assert app.agent_config == AgentConfig(
        command="codex", permissions="acceptEdits", model="gpt-5"
    )
    # Numbers and booleans stay exactly as written, as text.
    assert app.env == {
        "API_URL": "http://localhost:8080",
        "RETRIES": "3",
        "RATIO": "1.10",
        "VERBOSE": "yes",
        "EMPTY": "",
    }
    web_ui = config.projects["Web_UI"]
    assert web_ui.path == (web / "src").resolve()
    assert web_ui.default_branch is None
    assert web_ui.session_prefix == "web-ui"
    assert web_ui.agent_config.command == "bash -lc 'make watch'"
    assert web_ui.agent_config.permissions == "bypassPermissions"
    assert web_ui.agent_config.model is None


def test_minimal_config_takes_defaults_and_resolves_relative_path(tmp_path: Path) -> None:
    make_repo(tmp_path / "code" / "app")
    config = load("projects:\n  app:\n    path: code/app\n", tmp_path)
    project = config.projects["app"]
    assert project.path == (tmp_path / "code" / "app").resolve()
    assert project.agent_name(config.defaults) == "claude-code"
    assert project.agent_config.permissions == "default"
    assert project.env == {}
    assert project.session_prefix == "app"


def test_path_inside_a_repository_and_home_expansion(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "home" / "code" / "mono")
    (repo / "pkg" / "api").mkdir(parents=True)
    text = "projects:\n  api:\n    path: ~/code/mono/pkg/api\n"
    config = load(text, tmp_path / "elsewhere", HOME=str(tmp_path / "home"))
    assert config.projects["api"].path == (repo / "pkg" / "api").resolve()


def test_empty_sections_mean_empty(tmp_path: Path) -> None:
    make_repo(tmp_path / "app")
    config = load(
        "defaults:\nprojects:\n  app:\n    path: app\n    agentConfig:\n    env:\n", tmp_path
    )
    assert config.defaults.agent == "claude-code"
    assert config.projects["app"].env == {}


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    make_repo(tmp_path / "a")
    make_repo(tmp_path / "b")
    text = (
        "x-common: &common\n"
        "  agent: codex\n"
        "  defaultBranch: trunk\n"
        "projects:\n"
        "  a:\n"
        "    <<: *common\n"
        "    path: a\n"
        "  b:\n"
        "    <<: *common\n"
        "    path: b\n"
        "    agent: aider\n"
    )
    # `x-common` is an unknown top-level key: anchors must live under a known one.
    assert only_problem(text, tmp_path).startswith("ao.config.yaml:1:1: x-common: unknown key")
    text = text.replace("x-common: &common", "defaults: &common").replace(
        "  defaultBranch: trunk\n", "", 1
    )
    config = load(text, tmp_path)
    assert config.projects["a"].agent == "codex"
    assert config.projects["b"].agent == "aider"


# --- ${VAR} expansion ----------------------------------------------------------------------


def test_env_expansion_forms(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = (
        "projects:\n"
        "  app:\n"
        "    path: ${ROOT}/repo\n"
        "    defaultBranch: ${BRANCH:-main}\n"
        "    agentConfig:\n"
        "      model: ${MODEL:-sonnet}\n"
        "      command: echo $${NOT_EXPANDED} $HOME\n"
        "    env:\n"
        "      TOKEN: pre-${TOKEN}-post\n"
        "      BLANK: ${BLANK:-fallback}\n"
    )
    config = load(text, tmp_path, ROOT=str(tmp_path), MODEL="opus", TOKEN="t0k", BLANK="")
    project = config.projects["app"]
    assert project.path == (tmp_path / "repo").resolve()
    assert project.default_branch == "main"
    assert project.agent_config.model == "opus"
    assert project.agent_config.command == "echo ${NOT_EXPANDED} $HOME"
    # `:-` also applies when the variable is set but empty, as in the shell.
    assert project.env == {"TOKEN": "pre-t0k-post", "BLANK": "fallback"}


def test_unset_variable_names_file_line_field_variable_and_fix(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  app:\n    path: repo\n    env:\n      TOKEN: ${API_TOKEN}\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:5:14: projects.app.env.TOKEN: environment variable 'API_TOKEN' is "
        "not set; export it or write ${API_TOKEN:-default}"
    )


def test_unset_variable_in_path_is_reported_once(tmp_path: Path) -> None:
    found = only_problem("projects:\n  app:\n    path: ${NOPE}/x\n", tmp_path)
    assert found.startswith("ao.config.yaml:3:11: projects.app.path: environment variable 'NOPE'")


@pytest.mark.parametrize("reference", ["${BAD-NAME}", "${OPEN", "${1X}", "${}"])
def test_malformed_reference(tmp_path: Path, reference: str) -> None:
    make_repo(tmp_path / "repo")
    text = f"projects:\n  app:\n    path: repo\n    agentConfig:\n      model: '{reference}'\n"
    found = only_problem(text, tmp_path)
    assert found.startswith("ao.config.yaml:5:14: projects.app.agentConfig.model: malformed")
    assert "${NAME:-default}" in found


# --- the error corpus ----------------------------------------------------------------------


def test_unknown_key_suggests_close_match(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  app:\n    path: repo\n    sesionPrefix: x\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:4:5: projects.app.sesionPrefix: unknown key 'sesionPrefix'; did you "
        "mean 'sessionPrefix'? (allowed: agent, agentConfig, backlog, ci, defaultBranch, env, "
        "github, maxConcurrentSessions, merge, orchestratorRules, path, reactions, scm, "
        "sessionPrefix, tracker)"
    )


def test_snake_case_key_points_to_camel_case(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  app:\n    path: repo\n    default_branch: main\n"
    assert "did you mean 'defaultBranch'?" in only_problem(text, tmp_path)


def test_unknown_top_level_and_nested_keys(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = (
        "project:\n"
        "  app: {path: repo}\n"
        "defaults:\n"
        "  agnet: codex\n"
        "projects:\n"
        "  app:\n"
        "    path: repo\n"
        "    agentConfig:\n"
        "      permission: plan\n"
    )
    found = problems(text, tmp_path)
    assert [line.split(": ")[0:2] for line in found] == [
        ["ao.config.yaml:1:1", "project"],
        ["ao.config.yaml:4:3", "defaults.agnet"],
        ["ao.config.yaml:9:7", "projects.app.agentConfig.permission"],
    ]
    assert "did you mean 'projects'?" in found[0]
    assert "did you mean 'agent'?" in found[1]
    assert "did you mean 'permissions'?" in found[2]


def test_ao_only_key_in_ao_config_yaml_is_an_error(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  app:\n    path: repo\ndataDir: ~/.ao\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:4:1: dataDir: unknown key 'dataDir'; it is an "
        "agent-orchestrator.yaml key that ao-tui does not support yet (allowed: cockpit, "
        "defaults, notificationRouting, notifications, notifiers, projects, reactions, report)"
    )


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        (
            "    env: [A, B]\n",
            "ao.config.yaml:4:10: projects.app.env: expected a mapping, got a list",
        ),
        (
            "    agentConfig: claude\n",
            "ao.config.yaml:4:18: projects.app.agentConfig: expected a mapping, got 'claude'",
        ),
        (
            "    agent: [codex]\n",
            "ao.config.yaml:4:12: projects.app.agent: expected a string, got a list",
        ),
        (
            "    env:\n      A: {nested: 1}\n",
            "ao.config.yaml:5:10: projects.app.env.A: expected a string, got a mapping",
        ),
        (
            "    env:\n      A:\n",
            "ao.config.yaml:5:9: projects.app.env.A: no value given; write '' for an empty string",
        ),
    ],
)
def test_wrong_types(tmp_path: Path, snippet: str, expected: str) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  app:\n    path: repo\n" + snippet
    assert only_problem(text, tmp_path) == expected


def test_wrong_type_for_project_and_path(tmp_path: Path) -> None:
    found = problems("projects:\n  app: just-a-string\n  web:\n    path: [a]\n", tmp_path)
    assert found == [
        "ao.config.yaml:2:8: projects.app: expected a mapping, got 'just-a-string'",
        "ao.config.yaml:4:11: projects.web.path: expected a string, got a list",
    ]


def test_unknown_agent_lists_known_agents(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  app:\n    path: repo\n    agent: claud\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:4:12: projects.app.agent: unknown agent 'claud' "
        "(known: aider, claude-code, codex, shell)"
    )


def test_unknown_default_agent(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "defaults:\n  agent: gemini\nprojects:\n  app:\n    path: repo\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:2:10: defaults.agent: unknown agent 'gemini' "
        "(known: aider, claude-code, codex, shell)"
    )


def test_missing_path_points_at_the_project(tmp_path: Path) -> None:
    text = "projects:\n  app:\n    agent: codex\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:2:3: projects.app.path: required key 'path' is missing; add `path:` "
        "with the repository's directory"
    )


def test_project_with_nothing_under_it(tmp_path: Path) -> None:
    found = only_problem("projects:\n  app:\n", tmp_path)
    assert found.startswith("ao.config.yaml:2:3: projects.app.path: required key 'path'")


def test_path_that_does_not_exist(tmp_path: Path) -> None:
    text = "projects:\n  app:\n    path: ~/nowhere\n"
    home = tmp_path / "home"
    assert only_problem(text, tmp_path, HOME=str(home)) == (
        f"ao.config.yaml:3:11: projects.app.path: '~/nowhere' ({home / 'nowhere'}) does not "
        "exist; clone or create the repository there, or fix the path"
    )


def test_path_that_is_not_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    text = f"projects:\n  app:\n    path: {plain}\n"
    assert only_problem(text, tmp_path) == (
        f"ao.config.yaml:3:11: projects.app.path: '{plain}' is not inside a git repository; "
        "run `git init` there or point path at a clone"
    )


def test_path_that_is_a_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "README").write_text("x")
    found = only_problem("projects:\n  app:\n    path: repo/README\n", tmp_path)
    assert found.endswith("is not a directory")


def test_empty_path(tmp_path: Path) -> None:
    assert only_problem("projects:\n  app:\n    path: ''\n", tmp_path) == (
        "ao.config.yaml:3:11: projects.app.path: path is empty; give the repository's directory"
    )


def test_invalid_yaml(tmp_path: Path) -> None:
    text = "projects:\n  app:\n    path: [repo\n    agent: codex\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:4:10: invalid YAML: expected ',' or ']', but got ':' (while parsing a "
        "flow sequence that started at line 3)"
    )


def test_invalid_yaml_mapping_value(tmp_path: Path) -> None:
    assert only_problem("projects: app: path\n", tmp_path) == (
        "ao.config.yaml:1:14: invalid YAML: mapping values are not allowed here"
    )


def test_tab_indentation(tmp_path: Path) -> None:
    text = "projects:\n  app:\n\tpath: repo\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:3:1: tabs are not allowed for indentation; use spaces"
    )


def test_tab_after_spaces_points_at_the_tab(tmp_path: Path) -> None:
    text = "projects:\n  app:\n    \tpath: repo\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:3:5: tabs are not allowed for indentation; use spaces"
    )


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  app:\n    path: repo\n    agent: codex\n    path: other\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:5:5: projects.app.path: duplicate key 'path' at line 5 "
        "(first defined at line 3); keep only one"
    )


def test_duplicate_project(tmp_path: Path) -> None:
    text = "projects:\n  app:\n    path: a\n  web:\n    path: b\n  app:\n    path: c\n"
    found = only_problem(text, tmp_path)
    assert found.startswith("ao.config.yaml:6:3: projects.app: duplicate key 'app' at line 6")
    assert "first defined at line 2" in found


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"])
def test_empty_file_shows_a_minimal_config(tmp_path: Path, text: str) -> None:
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:1:1: the file is empty; a minimal config is "
        "`projects: {app: {path: ~/code/app}}`"
    )


def test_projects_missing(tmp_path: Path) -> None:
    assert only_problem("defaults:\n  agent: codex\n", tmp_path) == (
        "ao.config.yaml:1:1: projects: required key 'projects' is missing; a minimal config "
        "is `projects: {app: {path: ~/code/app}}`"
    )


@pytest.mark.parametrize(("text", "column"), [("projects: {}\n", 11), ("projects:\n", 10)])
def test_projects_empty(tmp_path: Path, text: str, column: int) -> None:
    assert only_problem(text, tmp_path) == (
        f"ao.config.yaml:1:{column}: projects: no projects are defined; add one, e.g. "
        "`projects: {app: {path: ~/code/app}}`"
    )


@pytest.mark.parametrize(
    ("text", "got"),
    [("- app\n- web\n", "a list"), ("just text\n", "'just text'"), ("42\n", "int 42")],
)
def test_top_level_not_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    assert only_problem(text, tmp_path) == (
        f"ao.config.yaml:1:1: the top level must be a mapping with a `projects:` key, got {got}; "
        "a minimal config is `projects: {app: {path: ~/code/app}}`"
    )


def test_bad_permission_mode(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  app:\n    path: repo\n    agentConfig:\n      permissions: yolo\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:5:20: projects.app.agentConfig.permissions: unknown permission mode "
        "'yolo' (allowed: default, acceptEdits, plan, bypassPermissions; AO's 'skip' means "
        "bypassPermissions)"
    )


@pytest.mark.parametrize("prefix", ["App", "my_app", "-app", "a" * 21])
def test_bad_session_prefix(tmp_path: Path, prefix: str) -> None:
    make_repo(tmp_path / "repo")
    text = f"projects:\n  app:\n    path: repo\n    sessionPrefix: '{prefix}'\n"
    found = only_problem(text, tmp_path)
    assert found.startswith("ao.config.yaml:4:20: projects.app.sessionPrefix: sessionPrefix")
    assert f"(e.g. '{default_session_prefix(prefix)}')" in found


def test_bad_project_id_and_env_name_point_at_the_key(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  my app:\n    path: repo\n    env:\n      2FA: x\n"
    assert problems(text, tmp_path) == [
        "ao.config.yaml:2:3: projects.my app: project id 'my app' may only contain letters, "
        "digits, '_' and '-'",
        "ao.config.yaml:5:7: projects.my app.env.2FA: '2FA' is not a valid environment variable "
        "name (letters, digits and '_', not starting with a digit)",
    ]


def test_session_prefix_collision(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = "projects:\n  web-app:\n    path: repo\n  web_app:\n    path: repo\n"
    assert only_problem(text, tmp_path) == (
        "ao.config.yaml:4:3: projects.web_app.sessionPrefix: session prefix 'web-app' is also "
        "used by project 'web-app'; session ids would collide, so give one of them its own "
        "sessionPrefix"
    )


def test_all_problems_are_collected_in_file_order(tmp_path: Path) -> None:
    text = (
        "defaults:\n"
        "  agent: nope\n"
        "projects:\n"
        "  a:\n"
        "    path: missing-dir\n"
        "    colour: blue\n"
        "  b:\n"
        '    env: {X: "${UNSET_ONE}"}\n'
    )
    found = problems(text, tmp_path)
    assert [line.split(": ")[0] for line in found] == [
        "ao.config.yaml:2:10",
        "ao.config.yaml:5:11",
        "ao.config.yaml:6:5",
        "ao.config.yaml:7:3",
        "ao.config.yaml:8:14",
    ]
    assert all("\n" not in line for line in found)


# --- files on disk -------------------------------------------------------------------------


def test_load_config_names_the_file_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_repo(tmp_path / "repo")
    (tmp_path / "ao.config.yaml").write_text("projects:\n  app:\n    path: repo\n    agent: x\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_config(Path("ao.config.yaml"), known_agents=KNOWN_AGENTS)
    assert str(caught.value).startswith("ao.config.yaml:4:12: projects.app.agent: unknown agent")
    (tmp_path / "ao.config.yaml").write_text("projects:\n  app:\n    path: repo\n")
    loaded = load_config(Path("ao.config.yaml"), known_agents=KNOWN_AGENTS)
    assert loaded.path == tmp_path / "ao.config.yaml"
    assert loaded.config.projects["app"].path == (tmp_path / "repo").resolve()


def test_load_config_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    missing = tmp_path / "ao.config.yaml"
    with pytest.raises(ConfigError, match=r"ao\.config\.yaml: config file not found$"):
        load_config(missing, known_agents=KNOWN_AGENTS)
    missing.write_bytes(b"projects:\n  app:\n    path: caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(missing, known_agents=KNOWN_AGENTS)
    assert str(caught.value) == f"{missing}:3:14: the file is not valid UTF-8; save it as UTF-8"


# --- agent-orchestrator.yaml ---------------------------------------------------------------


def test_ao_multi_project_example_loads_with_warnings(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_repo(home / "frontend")
    make_repo(home / "backend")
    config_dir = tmp_path / "conf"
    config_dir.mkdir()
    target = config_dir / "agent-orchestrator.yaml"
    shutil.copyfile(FIXTURES / "ao__examples__multi-project.yaml", target)
    # SLACK_WEBHOOK_URL is deliberately unset: a notifier's options are expanded only when
    # it sends, so the config loads and only that notifier is broken (doctor says so).
    loaded = load_config(target, known_agents=KNOWN_AGENTS, environ={"HOME": str(home)})
    config = loaded.config
    slack = config.notifiers["slack"]
    assert slack.plugin == "slack"
    assert slack.options() == {"webhookUrl": "${SLACK_WEBHOOK_URL}", "channel": "#agent-updates"}
    assert config.notification_routing is not None
    assert config.notification_routing.urgent == ["desktop", "slack"]
    assert config.defaults.notifiers == ["desktop", "slack"]
    assert set(config.projects) == {"frontend", "backend"}
    assert config.projects["frontend"].path == (home / "frontend").resolve()
    assert config.projects["frontend"].session_prefix == "fe"
    assert config.projects["backend"].session_prefix == "api"
    assert config.projects["backend"].default_branch == "main"
    assert config.defaults.agent == "claude-code"
    frontend = config.projects["frontend"]
    assert frontend.tracker is not None and frontend.tracker.plugin == "github"
    assert frontend.github is not None and frontend.github.repo == "org/frontend"
    assert config.projects["backend"].tracker is None  # linear: warned below
    name = str(target)
    assert loaded.warnings == [
        f"{name}:4:1: key 'dataDir' is not supported yet and is ignored",
        f"{name}:5:1: key 'worktreeDir' is not supported yet and is ignored",
        f"{name}:15:5: key 'name' is not supported yet and is ignored",
        f"{name}:24:5: key 'agentRules' is not supported yet and is ignored",
        f"{name}:30:5: key 'name' is not supported yet and is ignored",
        f"{name}:36:5: tracker plugin 'linear' is not supported yet and is ignored",
        f"{name}:40:5: key 'agentRules' is not supported yet and is ignored",
    ]


def test_ao_self_hosting_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_repo(home / "agent-orchestrator")
    game = make_repo(tmp_path / "TestDefenseGame")
    text = (FIXTURES / "ao__agent-orchestrator.yaml").read_text()
    # The one machine-specific absolute path is pointed at a real repository here.
    text = text.replace("/Users/mizelan/Documents/GitHub/TestDefenseGame", str(game))
    loaded = load_config_text(
        text,
        filename="agent-orchestrator.yaml",
        base_dir=tmp_path,
        known_agents=KNOWN_AGENTS,
        environ={"HOME": str(home)},
        ao_compat=True,
    )
    ao = loaded.config.projects["ao"]
    assert ao.agent_config.permissions == "bypassPermissions"  # AO's `skip`
    assert ao.session_prefix == "ao"
    game_project = loaded.config.projects["testdefensegame"]
    assert game_project.agent_config.model == "gpt-5.3-codex-spark"
    assert game_project.session_prefix == "tdg"
    ignored = [warning.split(": ", 1)[1] for warning in loaded.warnings]
    for key in ("symlinks", "postCreate", "automation"):
        assert f"key {key!r} is not supported yet and is ignored" in ignored
    # Its reactions load; AO's tracker-progress keys are not reactions ao-tui has.
    for key in ("issue-progress-pr-opened", "issue-completed"):
        assert any(f"unknown key {key!r} is ignored" in warning for warning in ignored)
    # AO's `scm: {plugin: github}` and `repo: owner/name` are understood.
    assert ao.scm == "github"
    assert ao.github is not None and ao.github.repo == "ComposioHQ/agent-orchestrator"
    assert "tracker plugin 'linear' is not supported yet and is ignored" in ignored
    assert (
        "agent-orchestrator.yaml:60:5: key 'orchestratorAgentConfig' is not supported yet "
        "and is ignored" in loaded.warnings
    )
    assert all(warning.startswith("agent-orchestrator.yaml:") for warning in loaded.warnings)


def test_ao_mode_unknown_keys_and_prefix_folding(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = (
        "projects:\n"
        "  game:\n"
        "    path: repo\n"
        "    sessionPrefix: TDG_Main\n"
        "    agnet: codex\n"
        "    agentConfig:\n"
        "      permissions: auto-edit\n"
        "      opencodeSessionId: abc\n"
    )
    loaded = load_config_text(
        text,
        filename="agent-orchestrator.yaml",
        base_dir=tmp_path,
        known_agents=KNOWN_AGENTS,
        environ={},
        ao_compat=True,
    )
    project = loaded.config.projects["game"]
    assert project.session_prefix == "tdg-main"
    assert project.agent is None
    assert project.agent_config.permissions == "acceptEdits"
    assert loaded.warnings == [
        "agent-orchestrator.yaml:4:20: sessionPrefix 'TDG_Main' is used as 'tdg-main' "
        "(a-z, 0-9, '-')",
        "agent-orchestrator.yaml:5:5: unknown key 'agnet' is ignored; did you mean 'agent'?",
        "agent-orchestrator.yaml:8:7: key 'opencodeSessionId' is not supported yet and is ignored",
    ]


def test_ao_mode_still_reports_real_errors(tmp_path: Path) -> None:
    text = "port: 3000\nprojects:\n  app:\n    repo: org/app\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(
            text,
            filename="agent-orchestrator.yaml",
            base_dir=tmp_path,
            known_agents=KNOWN_AGENTS,
            ao_compat=True,
        )
    assert str(caught.value) == (
        "agent-orchestrator.yaml:3:3: projects.app.path: required key 'path' is missing; add "
        "`path:` with the repository's directory"
    )


# --- discovery -----------------------------------------------------------------------------


def test_find_config_precedence(tmp_path: Path) -> None:
    top = tmp_path / "top"
    deep = top / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(deep, environ={}) is None
    (top / "agent-orchestrator.yaml").write_text("x")
    assert find_config(deep, environ={}) == top / "agent-orchestrator.yaml"
    (top / "ao.config.yml").write_text("x")
    assert find_config(deep, environ={}) == top / "ao.config.yml"
    (top / "ao.config.yaml").write_text("x")
    assert find_config(deep, environ={}) == top / "ao.config.yaml"
    # The nearest directory wins, even with an AO file.
    (top / "a" / "agent-orchestrator.yml").write_text("x")
    assert find_config(deep, environ={}) == top / "a" / "agent-orchestrator.yml"
    # The environment variable beats the walk, --config beats both.
    from_env = tmp_path / "env.yaml"
    from_env.write_text("x")
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text("x")
    environ = {"AO_TUI_CONFIG": str(from_env)}
    assert find_config(deep, environ=environ) == from_env
    assert find_config(deep, str(explicit), environ=environ) == explicit
    # A relative --config is relative to cwd; a directory is searched like a walk step.
    assert find_config(tmp_path, "explicit.yaml", environ={}) == explicit
    assert find_config(tmp_path, "top", environ={}) == top / "ao.config.yaml"


def test_find_config_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        find_config(tmp_path, "nope.yaml", environ={})
    assert str(caught.value) == "nope.yaml: config file not found (given by --config)"
    with pytest.raises(ConfigError) as caught:
        find_config(tmp_path, environ={"AO_TUI_CONFIG": "~/gone.yaml", "HOME": str(tmp_path)})
    assert str(caught.value) == "~/gone.yaml: config file not found (given by $AO_TUI_CONFIG)"
    with pytest.raises(ConfigError, match="no config file in this directory"):
        find_config(tmp_path, str(tmp_path), environ={})


def test_find_config_reads_os_environ_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = tmp_path / "chosen.yaml"
    chosen.write_text("x")
    monkeypatch.setenv("AO_TUI_CONFIG", str(chosen))
    assert find_config(tmp_path / "anywhere") == chosen


# --- resolve_project -----------------------------------------------------------------------


@pytest.fixture
def two_projects(tmp_path: Path) -> Config:
    make_repo(tmp_path / "web")
    make_repo(tmp_path / "api")
    make_repo(tmp_path / "api" / "vendor" / "sdk")
    text = "projects:\n  web: {path: web}\n  api: {path: api}\n  sdk: {path: api/vendor/sdk}\n"
    return load(text, tmp_path)


def test_resolve_project_by_name_and_by_cwd(two_projects: Config, tmp_path: Path) -> None:
    assert resolve_project(two_projects, "web", tmp_path)[0] == "web"
    assert resolve_project(two_projects, None, tmp_path / "web")[0] == "web"
    (tmp_path / "api" / "src").mkdir()
    assert resolve_project(two_projects, None, tmp_path / "api" / "src")[0] == "api"
    # Nested repositories: the deepest project holding cwd wins.
    name, project = resolve_project(two_projects, None, tmp_path / "api" / "vendor" / "sdk")
    assert name == "sdk"
    assert project is two_projects.projects["sdk"]


def test_resolve_project_errors_list_ids(two_projects: Config, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_project(two_projects, "mobile", tmp_path)
    assert str(caught.value) == "unknown project 'mobile' (known: api, sdk, web)"
    with pytest.raises(ConfigError) as caught:
        resolve_project(two_projects, None, tmp_path)
    message = str(caught.value)
    assert "pass --project with one of: api, sdk, web" in message
    assert "\n" not in message


def test_resolve_the_only_project_from_anywhere(tmp_path: Path) -> None:
    make_repo(tmp_path / "web")
    config = load("projects:\n  web: {path: web}\n", tmp_path)
    assert resolve_project(config, None, Path("/"))[0] == "web"


# --- models and schema ---------------------------------------------------------------------


def test_models_built_in_python_skip_disk_checks() -> None:
    project = ProjectConfig(path=Path("somewhere/not/checked"), agent="anything")
    config = Config(projects={"My_Proj": project})
    assert config.projects["My_Proj"].session_prefix == "my-proj"
    assert config.projects["My_Proj"].agent_name(config.defaults) == "anything"
    assert config.defaults.agent == "claude-code"


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("app", "app"), ("My_App", "my-app"), ("__x__", "x"), ("___", "ao"), ("a" * 30, "a" * 20)],
)
def test_default_session_prefix(name: str, prefix: str) -> None:
    assert default_session_prefix(name) == prefix


def test_config_schema_is_json_with_yaml_keys() -> None:
    schema = json.loads(json.dumps(config_schema()))
    assert schema["title"] == "ao.config.yaml"
    assert schema["required"] == ["projects"]
    assert schema["additionalProperties"] is False
    defs = schema["$defs"]
    project = defs["ProjectConfig"]
    assert set(project["properties"]) == {
        "path",
        "defaultBranch",
        "sessionPrefix",
        "agent",
        "agentConfig",
        "env",
        "scm",
        "github",
        "tracker",
        "ci",
        "merge",
        "reactions",
        "maxConcurrentSessions",
        "backlog",
        "orchestratorRules",
    }
    assert project["required"] == ["path"]
    assert project["additionalProperties"] is False
    assert "relative to the config file" in project["properties"]["path"]["description"]
    permissions = defs["AgentConfig"]["properties"]["permissions"]
    assert permissions["enum"] == ["default", "acceptEdits", "plan", "bypassPermissions"]
    assert schema["properties"]["projects"]["propertyNames"] == {"pattern": "^[A-Za-z0-9_-]+$"}


# --- the marked YAML loader ----------------------------------------------------------------


def test_marks_are_one_based_for_keys_and_values() -> None:
    document = load_marked("a:\n  b: [1, x]\n")
    assert document is not None
    assert document.data == {"a": {"b": [1, "x"]}}
    assert document.marks[("a", "b")].key == Mark(2, 3)
    assert document.marks[("a", "b")].value == Mark(2, 6)
    assert document.marks[("a", "b", 1)].value == Mark(2, 10)
    assert document.marks[("a", "b", 0)].source_text == "1"
    # Unwritten paths fall back to their nearest written ancestor.
    assert document.key_mark(("a", "b", "missing")) == Mark(2, 3)


def test_yaml_loader_rejects_several_documents_and_huge_alias_bombs() -> None:
    with pytest.raises(YamlError, match="expected a single document"):
        load_marked("a: 1\n---\nb: 2\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefg":
        previous = chr(ord(level) - 1)
        bomb += (
            f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, "
            f"*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
        )
    with pytest.raises(YamlError, match="expands to more than"):
        load_marked(bomb)


# --- scm, ci and merge ---------------------------------------------------------------------


def test_scm_ci_and_merge_keys(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = (
        "projects:\n"
        "  app:\n"
        "    path: repo\n"
        "    scm: local\n"
        "    ci:\n"
        "      command: python -m pytest -q\n"
        "      timeout: 30\n"
        "    merge:\n"
        "      method: squash\n"
    )
    project = load(text, tmp_path).projects["app"]
    assert project.scm == "local"
    assert project.ci == CiConfig(command="python -m pytest -q", timeout=30)
    assert project.merge == MergeConfig(method="squash")


def test_scm_ci_and_merge_defaults(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    project = load("projects:\n  app:\n    path: repo\n    merge:\n", tmp_path).projects["app"]
    assert (project.scm, project.ci, project.merge.method) == ("auto", None, "merge")
    assert CiConfig(command="make test").timeout == 600


def test_scm_ci_and_merge_errors_name_file_line_col(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = (
        "projects:\n"
        "  app:\n"
        "    path: repo\n"
        "    scm: gitlab\n"
        "    ci:\n"
        '      command: "  "\n'
        "      timeout: 0\n"
        "      retries: 2\n"
        "    merge:\n"
        "      method: fast-forward\n"
    )
    assert problems(text, tmp_path) == [
        "ao.config.yaml:4:10: projects.app.scm: Input should be 'auto', 'local' or 'github', "
        "got 'gitlab'",
        "ao.config.yaml:6:16: projects.app.ci.command: the CI command is empty; give the line "
        "that runs the tests",
        "ao.config.yaml:7:16: projects.app.ci.timeout: Input should be greater than 0",
        "ao.config.yaml:8:7: projects.app.ci.retries: unknown key 'retries' "
        "(allowed: command, timeout)",
        "ao.config.yaml:10:15: projects.app.merge.method: Input should be 'merge', 'squash' "
        "or 'rebase', got 'fast-forward'",
    ]


def test_ci_needs_a_command_mapping(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    assert only_problem("projects:\n  app:\n    path: repo\n    ci: pytest\n", tmp_path) == (
        "ao.config.yaml:4:9: projects.app.ci: expected a mapping, got 'pytest'"
    )
    assert only_problem(
        "projects:\n  app:\n    path: repo\n    ci:\n      timeout: 5\n", tmp_path
    ) == ("ao.config.yaml:4:5: projects.app.ci.command: required key 'command' is missing")


def test_cockpit_keys_and_bell(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    text = (
        f"projects: {{app: {{path: {repo}}}}}\ncockpit:\n  keys: {{session.kill: K}}\n  bell: no\n"
    )
    config = load(text, tmp_path)
    assert config.cockpit.keys == {"session.kill": "K"}
    assert config.cockpit.bell is False
    assert load(f"projects: {{app: {{path: {repo}}}}}\n", tmp_path).cockpit.bell is True


def test_cockpit_unknown_setting_names_its_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app")
    problem = only_problem(
        f"projects: {{app: {{path: {repo}}}}}\ncockpit:\n  bel: true\n", tmp_path
    )
    assert problem.startswith("ao.config.yaml:3:3: cockpit.bel:")


def test_github_and_tracker_blocks(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = (
        "projects:\n"
        "  app:\n"
        "    path: repo\n"
        "    scm: github\n"
        "    github:\n"
        "      repo: octo-org/widgets\n"
        "      apiUrl: http://127.0.0.1:8080/\n"
        "      pollInterval: 5\n"
        "    tracker: github\n"
    )
    project = load_config_text(
        text, filename="ao.config.yaml", base_dir=tmp_path, known_agents=KNOWN_AGENTS
    ).config
    app = project.projects["app"]
    assert app.github is not None
    assert (app.github.repo, app.github.api_url, app.github.poll_interval) == (
        "octo-org/widgets",
        "http://127.0.0.1:8080",
        5.0,
    )
    assert app.tracker is not None and (app.tracker.plugin, app.tracker.path) == (
        "github",
        "TASKS.md",
    )


def test_github_block_errors_name_the_line(tmp_path: Path) -> None:
    make_repo(tmp_path / "repo")
    text = (
        "projects:\n"
        "  app:\n"
        "    path: repo\n"
        "    github:\n"
        "      repo: widgets\n"
        "      apiUrl: api.github.com\n"
        "      pollInterval: 0.5\n"
        "    tracker:\n"
        "      plugin: jira\n"
    )
    found = problems(text, tmp_path)
    assert found[0] == (
        "ao.config.yaml:5:13: projects.app.github.repo: repo 'widgets' is not owner/name "
        "(e.g. octo-org/widgets)"
    )
    assert found[1].startswith("ao.config.yaml:6:15: projects.app.github.apiUrl: apiUrl ")
    assert found[2].startswith("ao.config.yaml:7:21: projects.app.github.pollInterval: ")
    assert found[3].startswith("ao.config.yaml:9:15: projects.app.tracker.plugin: ")


def _sections(model: type[BaseModel], path: tuple[str, ...]) -> Iterator[SectionAt]:
    """Every model reachable from ``model`` and the YAML path of its keys (a mapping of
    models, like ``projects``, is entered through an entry named ``app``)."""
    yield model, path
    for name, info in model.model_fields.items():
        key = info.alias or name
        annotation = info.annotation
        if typing.get_origin(annotation) is dict:
            value = typing.get_args(annotation)[1]
            # A notifier's options are its plugin's to check: any key is accepted there.
            entry = value if isinstance(value, type) and issubclass(value, BaseModel) else None
            if entry is not None and entry.model_config.get("extra") != "allow":
                yield from _sections(entry, (*path, key, "app"))
            continue
        for arg in (annotation, *typing.get_args(annotation)):  # X, or X | None
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _sections(arg, (*path, key))


SectionAt = tuple[type[BaseModel], tuple[str, ...]]


def test_every_key_of_every_model_is_suggested_for_a_near_miss(tmp_path: Path) -> None:
    # The key checks come from the models: every field of every section is known, and a
    # key one letter short of it is answered with "did you mean" that field, in any
    # section (a section added to a model needs no edit of the checks).
    repo = make_repo(tmp_path / "app")
    checked = set()
    for model, path in _sections(Config, ()):
        for name, info in model.model_fields.items():
            key = info.alias or name
            typo = key[:-1]
            data: dict[str, Any] = {"projects": {"app": {"path": str(repo)}}}
            section = data
            for part in path:
                section = section.setdefault(part, {})
            section[typo] = "x"
            found = problems(json.dumps(data), tmp_path)
            where = ".".join((*path, typo))
            expected = f"{where}: unknown key {typo!r}; did you mean {key!r}? (allowed: "
            assert any(expected in problem for problem in found), (where, found)
            checked.add(where)
    assert {"projects.app.agentConfig.permission", "cockpit.bel", "defaults.agen"} <= checked


def test_an_empty_cockpit_section_means_empty_like_every_section(tmp_path: Path) -> None:
    # Which sections may be left empty comes from the models too: `cockpit:` and its
    # `keys:` read as null and mean "no settings", as `defaults:` always did.
    repo = make_repo(tmp_path / "app")
    config = load(f"projects: {{app: {{path: {repo}}}}}\ncockpit:\n  keys:\n", tmp_path)
    assert config.cockpit.keys == {}
    assert load(f"projects: {{app: {{path: {repo}}}}}\ncockpit:\n", tmp_path).cockpit.bell
