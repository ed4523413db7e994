import hashlib
import math
import time
from collections.abc import Mapping

from dify_plugin import TextEmbeddingModel
from dify_plugin.entities import I18nObject
from dify_plugin.entities.model import (
    AIModelEntity,
    EmbeddingInputType,
    FetchFrom,
    ModelPropertyKey,
    ModelType,
    PriceType,
)
from dify_plugin.entities.model.text_embedding import EmbeddingUsage, TextEmbeddingResult
from dify_plugin.errors.model import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeRateLimitError,
    InvokeServerUnavailableError,
)

DIMENSIONS = 256


class {{class_name}}TextEmbeddingModel(TextEmbeddingModel):
    """A local "hashing" embedding: each word adds +1 or -1 to one of 256 dimensions.

    Texts that share words get similar vectors, which is enough to try the plugin end to end.
    Replace _embed with a call to your embedding API, sending up to max_chunks texts per
    request. `credentials` holds the values of the credential forms in
    provider/{{name}}.yaml.
    """

    def _invoke(
        self,
        model: str,
        credentials: dict,
        texts: list[str],
        user: str | None = None,
        input_type: EmbeddingInputType = EmbeddingInputType.DOCUMENT,
    ) -> TextEmbeddingResult:
        embeddings = [self._embed(text) for text in texts]
        tokens = sum(self.get_num_tokens(model, credentials, texts))
        return TextEmbeddingResult(
            model=model,
            embeddings=embeddings,
            usage=self._calc_response_usage(model, credentials, tokens),
        )

    @staticmethod
    def _embed(text: str) -> list[float]:
        vector = [0.0] * DIMENSIONS
        for word in text.lower().split():
            digest = hashlib.sha256(word.encode("utf-8")).digest()
            index = int.from_bytes(digest[:4], "big") % DIMENSIONS
            vector[index] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector]

    def get_num_tokens(self, model: str, credentials: dict, texts: list[str]) -> list[int]:
        # Rough rule of thumb (about 4 characters per token); use the real tokenizer instead.
        return [(len(text) + 3) // 4 for text in texts]

    def _calc_response_usage(self, model: str, credentials: dict, tokens: int) -> EmbeddingUsage:
        price = self.get_price(
            model=model, credentials=credentials, price_type=PriceType.INPUT, tokens=tokens
        )
        return EmbeddingUsage(
            tokens=tokens,
            total_tokens=tokens,
            unit_price=price.unit_price,
            price_unit=price.unit,
            total_price=price.total_amount,
            currency=price.currency,
            latency=time.perf_counter() - self.started_at,
        )

    def validate_credentials(self, model: str, credentials: Mapping) -> None:
        """Raise CredentialsValidateFailedError if the credentials cannot be used.

        A real implementation embeds one short text with them.
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
            model_type=ModelType.TEXT_EMBEDDING,
            fetch_from=FetchFrom.CUSTOMIZABLE_MODEL,
            model_properties={
                ModelPropertyKey.CONTEXT_SIZE: 8192,
                ModelPropertyKey.MAX_CHUNKS: 32,
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
