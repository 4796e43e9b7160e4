"""The MCP conformance suite (`@modelcontextprotocol/conformance`, pinned in tests/node/) against
`venom-mcp serve --transport http`: every scenario that applies to our server passes.

The suite's other scenarios call its own fixture tools, resources and prompts (`test_image_content`,
`test://static-text`, `test_simple_prompt`...), which a server built for another purpose does not have; they are
listed below with the reason and not asserted. Every scenario the suite lists must be in one of the two lists,
so a new version of the suite cannot add a scenario that nobody looked at.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.node_tools import NodeTools, tools_or_skip
from tests.serve_process import served_over_http, server_env

APPLICABLE = {
    "server-initialize": "initialize: protocol version, capabilities, serverInfo",
    "ping": "ping answers {}",
    "logging-set-level": "logging/setLevel answers {} (we declare the logging capability)",
    "completion-complete": "completion/complete answers with a values array (none for a prompt we do not have)",
    "tools-list": "every tool has a name, a description and an input schema",
    "resources-list": "resources/list is well formed",
    "prompts-list": "prompts/list is well formed",
    "server-sse-multiple-streams": "several concurrent SSE streams on one session",
    "dns-rebinding-protection": "a foreign Host/Origin is refused on a loopback bind",
}

FIXTURE_TOOL = "calls the suite's fixture tool {}, which our server does not have"
NOT_APPLICABLE = {
    # These two pass, but only because calling an unknown tool gives an isError result with a text: they would
    # pass against any server, so they are not counted.
    "tools-call-simple-text": FIXTURE_TOOL.format("test_simple_text"),
    "tools-call-error": FIXTURE_TOOL.format("test_error_handling"),
    "tools-call-image": FIXTURE_TOOL.format("test_image_content"),
    "tools-call-audio": FIXTURE_TOOL.format("test_audio_content"),
    "tools-call-embedded-resource": FIXTURE_TOOL.format("test_embedded_resource"),
    "tools-call-mixed-content": FIXTURE_TOOL.format("test_multiple_content_types"),
    "tools-call-with-logging": FIXTURE_TOOL.format("test_tool_with_logging"),
    "tools-call-with-progress": FIXTURE_TOOL.format("test_tool_with_progress"),
    "tools-call-sampling": FIXTURE_TOOL.format("test_sampling"),
    "tools-call-elicitation": FIXTURE_TOOL.format("test_elicitation"),
    "elicitation-sep1034-defaults": FIXTURE_TOOL.format("test_elicitation_sep1034_defaults"),
    "elicitation-sep1330-enums": FIXTURE_TOOL.format("test_elicitation_sep1330_enums"),
    "json-schema-2020-12": FIXTURE_TOOL.format("json_schema_2020_12_tool"),
    "server-sse-polling": FIXTURE_TOOL.format("test_reconnection") + " (a pending scenario of the suite)",
    "resources-read-text": "reads the suite's fixture resource test://static-text",
    "resources-read-binary": "reads the suite's fixture resource test://static-binary",
    "resources-templates-read": "reads the suite's fixture template test://template/{id}/data",
    "resources-subscribe": "subscribes to the suite's fixture resource test://watched-resource",
    "resources-unsubscribe": "unsubscribes from the suite's fixture resource test://watched-resource",
    "prompts-get-simple": "gets the suite's fixture prompt test_simple_prompt",
    "prompts-get-with-args": "gets the suite's fixture prompt test_prompt_with_arguments",
    "prompts-get-embedded-resource": "gets the suite's fixture prompt test_prompt_with_embedded_resource",
    "prompts-get-with-image": "gets the suite's fixture prompt test_prompt_with_image",
}

# results/server-<scenario>-<ISO time with ':' and '.' replaced by '-'>
RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$")
SUITE_TIMEOUT_S = 900  # the whole suite takes seconds; this only stops a hung run


@pytest.fixture(scope="module")
def node_tools() -> NodeTools:
    return tools_or_skip()


def listed_scenarios(tools: NodeTools) -> set[str]:
    listing = subprocess.run(tools.conformance("list", "--server"), capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0, listing.stderr
    return set(re.findall(r"^\s+- (\S+)", listing.stdout, re.MULTILINE))


def test_every_scenario_of_the_suite_is_classified(node_tools: NodeTools) -> None:
    assert not APPLICABLE.keys() & NOT_APPLICABLE.keys()
    assert listed_scenarios(node_tools) == APPLICABLE.keys() | NOT_APPLICABLE.keys()


def test_the_applicable_scenarios_pass(node_tools: NodeTools, home: Path, hub_url: str, library_url: str,
                                       ollama_url: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    env = server_env(home, hub_url, library_url, ollama_url)
    with served_over_http(env, tmp_path) as url:
        # One run of the whole suite ("all": pending scenarios too); its exit status is 1 because of the
        # fixture scenarios, so the verdict comes from each scenario's checks.json.
        run = subprocess.run(node_tools.conformance("server", "--url", url, "--suite", "all", "-o", str(results)),
                             capture_output=True, text=True, timeout=SUITE_TIMEOUT_S, cwd=tmp_path)
    checks: dict[str, list[dict[str, object]]] = {}
    for folder in results.iterdir():
        found = RESULT_DIR.match(folder.name)
        assert found, folder.name
        checks[found["scenario"]] = json.loads((folder / "checks.json").read_text())
    assert APPLICABLE.keys() <= checks.keys(), f"scenarios that did not run:\n{run.stdout[-4000:]}{run.stderr}"
    failures = {
        name: [f"{c['id']}: {c.get('errorMessage')}" for c in checks[name] if c["status"] == "FAILURE"]
        for name in APPLICABLE
    }
    failed = {name: found for name, found in failures.items() if found}
    assert not failed, json.dumps(failed, indent=1)
    for name in APPLICABLE:  # and each one checked something
        assert any(c["status"] == "SUCCESS" for c in checks[name]), (name, checks[name])
