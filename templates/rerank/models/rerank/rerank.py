import re
from collections.abc import Mapping

from dify_plugin import RerankModel
from dify_plugin.entities import I18nObject
from dify_plugin.entities.model import AIModelEntity, FetchFrom, ModelPropertyKey, ModelType
from dify_plugin.entities.model.rerank import RerankDocument, RerankResult
from dify_plugin.errors.model import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeRateLimitError,
    InvokeServerUnavailableError,
)

_WORD = re.compile(r"\w+")


class {{class_name}}RerankModel(RerankModel):
    """A local reranker: a document scores the share of the query's words it contains.

    Replace _score with a call to your rerank API, which usually scores all documents in one
    request. `credentials` holds the values of the credential forms in
    provider/{{name}}.yaml.
    """

    def _invoke(
        self,
        model: str,
        credentials: dict,
        query: str,
        docs: list[str],
        score_threshold: float | None = None,
        top_n: int | None = None,
        user: str | None = None,
    ) -> RerankResult:
        query_words = {word.lower() for word in _WORD.findall(query)}
        scored = [
            RerankDocument(index=index, text=doc, score=self._score(query_words, doc))
            for index, doc in enumerate(docs)
        ]
        # Best first; on a tie the shorter document wins.
        scored.sort(key=lambda d: (-d.score, len(d.text)))
        if score_threshold is not None:
            scored = [d for d in scored if d.score >= score_threshold]
        if top_n is not None:
            scored = scored[:top_n]
        return RerankResult(model=model, docs=scored)

    @staticmethod
    def _score(query_words: set[str], doc: str) -> float:
        if not query_words:
            return 0.0
        doc_words = {word.lower() for word in _WORD.findall(doc)}
        return round(len(query_words & doc_words) / len(query_words), 4)

    def validate_credentials(self, model: str, credentials: Mapping) -> None:
        """Raise CredentialsValidateFailedError if the credentials cannot be used.

        A real implementation reranks two short documents with them.
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
            model_type=ModelType.RERANK,
            fetch_from=FetchFrom.CUSTOMIZABLE_MODEL,
            model_properties={ModelPropertyKey.CONTEXT_SIZE: 8192},
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
