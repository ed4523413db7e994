"""Unit tests of the greet tool: its _invoke runs here, without Dify.

Run them with `dify plugin test`, or in the plugin's environment with `.venv/bin/python -m pytest`.
Without the Dify plugin SDK installed they are skipped.
"""

import sys
from pathlib import Path
from unittest.mock import MagicMock

import pytest

pytest.importorskip("dify_plugin", reason="the Dify plugin SDK is not installed: pip install -r requirements.txt")

from dify_plugin.entities.tool import ToolRuntime  # noqa: E402

# The plugin's own folder, so that `tools` imports however pytest was started.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tools.greet import GreetTool  # noqa: E402


def greet(**parameters):
    """The text of every message the tool yields for these parameters."""
    runtime = ToolRuntime(credentials={}, user_id="test-user", session_id=None)
    tool = GreetTool(runtime=runtime, session=MagicMock())
    return [m.message.text for m in tool._invoke(parameters)]


def test_greets_by_name():
    assert greet(name="Ada") == ["Hello, Ada!"]


def test_greets_the_world_without_a_name():
    assert greet() == ["Hello, world!"]
