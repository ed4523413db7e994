from collections.abc import Mapping
from typing import Any

from dify_plugin.errors.tool import ToolProviderCredentialValidationError
from dify_plugin.interfaces.datasource import DatasourceProvider


class {{class_name}}DatasourceProvider(DatasourceProvider):
    def _validate_credentials(self, credentials: Mapping[str, Any]) -> None:
        """Called when a user saves the credentials of provider/{{name}}.yaml.

        Make a cheap, authenticated request to the service (for example, fetch the current
        user) and raise ToolProviderCredentialValidationError when it fails.
        """
        if not str(credentials.get("api_key") or "").strip():
            raise ToolProviderCredentialValidationError("API key is required.")
