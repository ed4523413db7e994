from typing import Any

from dify_plugin import ToolProvider
from dify_plugin.errors.tool import ToolProviderCredentialValidationError


class {{class_name}}Provider(ToolProvider):
    def _validate_credentials(self, credentials: dict[str, Any]) -> None:
        """Called when a user saves the credentials declared in the provider YAML.

        Make a cheap, authenticated request to the service here and raise
        ToolProviderCredentialValidationError when it fails. The template declares no
        credentials, so the example only checks an optional key's shape.
        """
        api_key = credentials.get("api_key")
        if api_key is not None and not str(api_key).strip():
            raise ToolProviderCredentialValidationError("The API key must not be empty.")
