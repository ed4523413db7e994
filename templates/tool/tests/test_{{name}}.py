"""Unit tests of the {{name}} tool: its _invoke runs here, without Dify.

Run them in the plugin's environment with `.venv/bin/python -m pytest`. Without the Dify plugin
SDK installed they are skipped. Add a test for each behaviour you add to the tool.
"""

import importlib
import sys
from pathlib import Path
from unittest.mock import MagicMock

import pytest

pytest.importorskip("dify_plugin", reason="the Dify plugin SDK is not installed: pip install -r requirements.txt")

from dify_plugin.entities.tool import ToolInvokeMessage, ToolRuntime  # noqa: E402

# The plugin's own folder, so that `tools` imports however pytest was started; by its name as a
# string, which may hold a "-" as the plugin's name may.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
{{class_name}}Tool = importlib.import_module("tools.{{name}}").{{class_name}}Tool


def make_tool(credentials=None):
    """The tool as Dify creates it, with the credentials a user saved, and a mock session:
    calls back into Dify (self.session.model, storage...) return mocks instead."""
    runtime = ToolRuntime(credentials=credentials or {}, user_id="test-user", session_id=None)
    return {{class_name}}Tool(runtime=runtime, session=MagicMock())


def invoke(tool, **parameters):
    """Every message the tool yields for these parameters."""
    return list(tool._invoke(parameters))


def test_replies_with_text_and_json():
    messages = invoke(make_tool(), query="what is the weather")

    assert [m.type for m in messages] == [
        ToolInvokeMessage.MessageType.TEXT,
        ToolInvokeMessage.MessageType.JSON,
    ]
    assert messages[0].message.text == "You said: what is the weather (4 words)"
    assert messages[1].message.json_object == {"query": "what is the weather", "words": 4}


def test_asks_for_text_when_the_query_is_blank():
    messages = invoke(make_tool(), query="   ")

    assert len(messages) == 1
    assert messages[0].message.text == "Please give me some text to work on."
