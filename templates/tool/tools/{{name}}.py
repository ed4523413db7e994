from collections.abc import Generator
from typing import Any

from dify_plugin import Tool
from dify_plugin.entities.tool import ToolInvokeMessage


class {{class_name}}Tool(Tool):
    def _invoke(self, tool_parameters: dict[str, Any]) -> Generator[ToolInvokeMessage, None, None]:
        """Runs the tool with the parameters declared in its YAML file.

        Replace the example below with your own logic, e.g. a call to an API using a key from
        self.runtime.credentials. Yield as many messages as you need: text, JSON, links,
        images, files (create_blob_message) or workflow variables.
        """
        query = str(tool_parameters.get("query") or "").strip()
        if not query:
            yield self.create_text_message("Please give me some text to work on.")
            return

        words = len(query.split())
        yield self.create_text_message(f"You said: {query} ({words} words)")
        yield self.create_json_message({"query": query, "words": words})
