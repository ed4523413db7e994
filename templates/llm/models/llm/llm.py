from collections.abc import Generator, Mapping

from dify_plugin import LargeLanguageModel
from dify_plugin.entities import I18nObject
from dify_plugin.entities.model import (
    AIModelEntity,
    FetchFrom,
    ModelPropertyKey,
    ModelType,
    ParameterRule,
)
from dify_plugin.entities.model.llm import (
    LLMMode,
    LLMResult,
    LLMResultChunk,
    LLMResultChunkDelta,
    LLMUsage,
)
from dify_plugin.entities.model.message import (
    AssistantPromptMessage,
    PromptMessage,
    PromptMessageTool,
    TextPromptMessageContent,
    UserPromptMessage,
)
from dify_plugin.errors.model import (
    CredentialsValidateFailedError,
    InvokeAuthorizationError,
    InvokeBadRequestError,
    InvokeConnectionError,
    InvokeError,
    InvokeRateLimitError,
    InvokeServerUnavailableError,
)


def _text_of(message: PromptMessage) -> str:
    """The text parts of a prompt message (images and other files are skipped)."""
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):
        return "".join(
            part.data for part in message.content if isinstance(part, TextPromptMessageContent)
        )
    return ""


class {{class_name}}LargeLanguageModel(LargeLanguageModel):
    """An "echo" model: it answers with the last user message.

    Replace _generate with a call to your model's API, and get_num_tokens with the model's own
    tokenizer. `credentials` holds the values of the credential forms in
    provider/{{name}}.yaml.
    """

    def _invoke(
        self,
        model: str,
        credentials: dict,
        prompt_messages: list[PromptMessage],
        model_parameters: dict,
        tools: list[PromptMessageTool] | None = None,
        stop: list[str] | None = None,
        stream: bool = True,
        user: str | None = None,
    ) -> LLMResult | Generator[LLMResultChunk, None, None]:
        text = self._generate(prompt_messages, model_parameters, stop)
        usage = self._calc_response_usage(
            model=model,
            credentials=credentials,
            prompt_tokens=self.get_num_tokens(model, credentials, prompt_messages, tools),
            completion_tokens=self._estimate_tokens(text),
        )
        if not stream:
            return LLMResult(model=model, message=AssistantPromptMessage(content=text), usage=usage)
        return self._stream(model, text, usage)

    def _generate(
        self, prompt_messages: list[PromptMessage], model_parameters: dict, stop: list[str] | None
    ) -> str:
        last_user = next(
            (_text_of(m) for m in reversed(prompt_messages) if isinstance(m, UserPromptMessage)),
            "",
        )
        words = f"Echo: {last_user}".split()
        text = " ".join(words[: int(model_parameters.get("max_tokens") or 512)])
        for word in stop or []:
            if word and word in text:
                text = text[: text.index(word)]
        return text

    def _stream(
        self, model: str, text: str, usage: LLMUsage
    ) -> Generator[LLMResultChunk, None, None]:
        words = text.split(" ")
        for index, word in enumerate(words):
            is_last = index == len(words) - 1
            yield LLMResultChunk(
                model=model,
                delta=LLMResultChunkDelta(
                    index=index,
                    message=AssistantPromptMessage(content=word if is_last else word + " "),
                    usage=usage if is_last else None,
                    finish_reason="stop" if is_last else None,
                ),
            )

    def get_num_tokens(
        self,
        model: str,
        credentials: dict,
        prompt_messages: list[PromptMessage],
        tools: list[PromptMessageTool] | None = None,
    ) -> int:
        return sum(self._estimate_tokens(_text_of(m)) for m in prompt_messages)

    @staticmethod
    def _estimate_tokens(text: str) -> int:
        # Rough rule of thumb (about 4 characters per token); use the real tokenizer instead.
        return (len(text) + 3) // 4

    def validate_credentials(self, model: str, credentials: Mapping) -> None:
        """Raise CredentialsValidateFailedError if the credentials cannot be used.

        A real implementation sends a tiny request (e.g. one short prompt) with them.
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
            model_type=ModelType.LLM,
            fetch_from=FetchFrom.CUSTOMIZABLE_MODEL,
            model_properties={
                ModelPropertyKey.MODE: LLMMode.CHAT.value,
                ModelPropertyKey.CONTEXT_SIZE: 8192,
            },
            parameter_rules=[
                ParameterRule(name="temperature", use_template="temperature"),
                ParameterRule(name="max_tokens", use_template="max_tokens"),
            ],
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
