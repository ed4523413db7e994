from typing import Any

from dify_plugin import ToolProvider


class HelloWorldProvider(ToolProvider):
    def _validate_credentials(self, credentials: dict[str, Any]) -> None:
        # This plugin needs no credentials, so there is nothing to check.
        pass
