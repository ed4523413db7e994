import io
import math
import struct
import wave
from collections.abc import Generator, Mapping

from dify_plugin import TTSModel
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

SAMPLE_RATE = 16_000
CHUNK_SIZE = 4096
VOICE_PITCH = {"low": 220.0, "high": 440.0}  # Hz, keyed by the `mode` of each voice


class {{class_name}}TTSModel(TTSModel):
    """A local "speaker" that beeps once per word, as a WAV file.

    Replace _synthesize with a call to your speech API and stream its audio back in chunks,
    as below. `credentials` holds the values of the credential forms in
    provider/{{name}}.yaml.
    """

    def _invoke(
        self,
        model: str,
        tenant_id: str,
        credentials: dict,
        content_text: str,
        voice: str,
        user: str | None = None,
    ) -> bytes | Generator[bytes, None, None]:
        word_limit = self._get_model_word_limit(model, credentials) or 3500
        words = content_text.split()[:word_limit]
        pitch = VOICE_PITCH.get(voice, VOICE_PITCH["low"])
        audio = self._synthesize(words, pitch)
        # Always hand the audio back as a generator of chunks: Dify streams them to the user.
        return (audio[i : i + CHUNK_SIZE] for i in range(0, len(audio), CHUNK_SIZE))

    @staticmethod
    def _synthesize(words: list[str], pitch: float) -> bytes:
        frames = bytearray()
        for word in words:
            beep = int(SAMPLE_RATE * min(0.08 + 0.03 * len(word), 0.4))
            for n in range(beep):
                sample = 0.3 * math.sin(2 * math.pi * pitch * n / SAMPLE_RATE)
                frames += struct.pack("<h", int(sample * 32767))
            frames += b"\x00\x00" * int(SAMPLE_RATE * 0.06)  # pause between words
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(bytes(frames))
        return buffer.getvalue()

    def validate_credentials(self, model: str, credentials: Mapping) -> None:
        """Raise CredentialsValidateFailedError if the credentials cannot be used.

        A real implementation synthesizes one short word with them.
        """
        if not str(credentials.get("api_key") or "").strip():
            raise CredentialsValidateFailedError("API key is required.")

    def get_customizable_model_schema(
        self, model: str, credentials: Mapping
    ) -> AIModelEntity | None:
        """Describes a model the user added by name (configurate method customizable-model)."""
        voices = [
            {"mode": mode, "name": f"{mode.capitalize()} tone", "language": ["en-US"]}
            for mode in VOICE_PITCH
        ]
        return AIModelEntity(
            model=model,
            label=I18nObject(en_US=model),
            model_type=ModelType.TTS,
            fetch_from=FetchFrom.CUSTOMIZABLE_MODEL,
            model_properties={
                ModelPropertyKey.DEFAULT_VOICE: "low",
                ModelPropertyKey.VOICES: voices,
                ModelPropertyKey.WORD_LIMIT: 3500,
                ModelPropertyKey.AUDIO_TYPE: "wav",
                ModelPropertyKey.MAX_WORKERS: 5,
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
