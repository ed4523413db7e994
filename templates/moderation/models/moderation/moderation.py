import re
from collections.abc import Mapping

from dify_plugin import ModerationModel
from dify_plugin.entities import I18nObject
from dify_plugin.entities.model import AIModelEntity, FetchFrom, ModelPropertyKey, ModelType
from dify_plugin.errors.model import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeRateLimitError,
    InvokeServerUnavailableError,
)

# Example word list. A real moderation model decides with an API call instead.
BLOCKED_WORDS = {"spam", "scam", "phishing"}
_WORD = re.compile(r"\w+")


class {{class_name}}ModerationModel(ModerationModel):
    """Flags a text when it contains one of BLOCKED_WORDS.

    Replace _flagged with a call to your moderation API; return True when the text must be
    blocked. `credentials` holds the values of the credential forms in
    provider/{{name}}.yaml.
    """

    def _invoke(self, model: str, credentials: dict, text: str, user: str | None = None) -> bool:
        schema = self.get_model_schema(model, credentials)
        size = 2000
        if schema:
            size = int(schema.model_properties.get(ModelPropertyKey.MAX_CHARACTERS_PER_CHUNK, size))
        chunks = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        return any(self._flagged(chunk) for chunk in chunks)

    @staticmethod
    def _flagged(chunk: str) -> bool:
        return any(word.lower() in BLOCKED_WORDS for word in _WORD.findall(chunk))

    def validate_credentials(self, model: str, credentials: Mapping) -> None:
        """Raise CredentialsValidateFailedError if the credentials cannot be used.

        A real implementation checks one harmless sentence with them.
        """
        if not str(credentials.get("api_key") or "").strip():
            raise CredentialsValidateFailedError("API key is required.")

    def get_customizable_model_schema(
        self, model: str, credentials: Mapping
    ) -> AIModelEntity | None:
        """Describes a model the user added by name (configurate method customizable-model)."""
        return AIModelEntity(
            model=model,
            label=I18nObject(en_US=model),
            model_type=ModelType.MODERATION,
            fetch_from=FetchFrom.CUSTOMIZABLE_MODEL,
            model_properties={
                ModelPropertyKey.MAX_CHUNKS: 32,
                ModelPropertyKey.MAX_CHARACTERS_PER_CHUNK: 2000,
            },
        )

    @property
    def _invoke_error_mapping(self) -> dict[type[InvokeError], list[type[Exception]]]:
        """Maps exceptions raised by your client library to the errors Dify shows to users."""
        return {
            InvokeConnectionError: [ConnectionError],
            InvokeServerUnavailableError: [],
            InvokeRateLimitError: [],
            InvokeAuthorizationError: [PermissionError],
            InvokeBadRequestError: [ValueError, KeyError, TypeError],
        }
