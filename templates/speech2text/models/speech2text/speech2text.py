import wave
from collections.abc import Mapping
from typing import IO

from dify_plugin import Speech2TextModel
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


class {{class_name}}Speech2TextModel(Speech2TextModel):
    """A stand-in transcriber: it describes the audio it received instead of transcribing it.

    Replace _invoke's body with a call to your speech-to-text API that uploads `file` and
    returns the transcript. `credentials` holds the values of the credential forms in
    provider/{{name}}.yaml.
    """

    def _invoke(
        self, model: str, credentials: dict, file: IO[bytes], user: str | None = None
    ) -> str:
        data = file.read()
        try:
            file.seek(0)
            with wave.open(file, "rb") as wav:
                seconds = wav.getnframes() / float(wav.getframerate())
            return f"[{seconds:.1f} seconds of WAV audio received; no transcription yet]"
        except (wave.Error, EOFError, OSError):
            return f"[{len(data)} bytes of audio received; no transcription yet]"

    def validate_credentials(self, model: str, credentials: Mapping) -> None:
        """Raise CredentialsValidateFailedError if the credentials cannot be used.

        A real implementation transcribes a short sample file with them.
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
            model_type=ModelType.SPEECH2TEXT,
            fetch_from=FetchFrom.CUSTOMIZABLE_MODEL,
            model_properties={
                ModelPropertyKey.FILE_UPLOAD_LIMIT: 25,
                ModelPropertyKey.SUPPORTED_FILE_EXTENSIONS: "wav,mp3,m4a,webm",
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
