import json
from collections.abc import Generator
from typing import Any

from dify_plugin.entities.agent import AgentInvokeMessage
from dify_plugin.entities.model.llm import LLMModelConfig
from dify_plugin.entities.model.message import (
    PromptMessage,
    SystemPromptMessage,
    TextPromptMessageContent,
    ToolPromptMessage,
    UserPromptMessage,
)
from dify_plugin.interfaces.agent import AgentModelConfig, AgentStrategy, ToolEntity
from pydantic import BaseModel, Field


class StrategyParameters(BaseModel):
    """The parameters declared in the strategy YAML, as Dify sends them:
    strategies/{{name}}.yaml
    """

    model: AgentModelConfig
    tools: list[ToolEntity] | None = None
    instruction: str | None = None
    query: str
    maximum_iterations: int = Field(default=3, ge=1)


def _text_of(message: PromptMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):
        return "".join(
            part.data for part in message.content if isinstance(part, TextPromptMessageContent)
        )
    return ""


class {{class_name}}Strategy(AgentStrategy):
    """A minimal function-calling agent.

    Each round asks the model for an answer, offering it the selected tools; when it calls tools
    their results are added to the conversation and the next round begins. The last round offers
    no tools, so the model has to answer. Change the prompts, the stopping rule or the way tool
    results are shown to build your own strategy.
    """

    def _invoke(self, parameters: dict[str, Any]) -> Generator[AgentInvokeMessage, None, None]:
        params = StrategyParameters.model_validate(parameters)
        tools = {tool.identity.name: tool for tool in params.tools or []}
        prompt_tools = self._init_prompt_tools(list(tools.values()))
        model_config = LLMModelConfig(**params.model.model_dump(mode="json"))

        messages: list[PromptMessage] = []
        if params.instruction:
            messages.append(SystemPromptMessage(content=params.instruction))
        messages.extend(params.model.history_prompt_messages)
        messages.append(UserPromptMessage(content=params.query))

        for round_number in range(1, params.maximum_iterations + 1):
            last_round = round_number == params.maximum_iterations
            round_log = self.create_log_message(
                label=f"Round {round_number}",
                data={},
                status=AgentInvokeMessage.LogMessage.LogStatus.START,
            )
            yield round_log

            result = self.session.model.llm.invoke(
                model_config=model_config,
                prompt_messages=messages,
                tools=None if last_round or not prompt_tools else prompt_tools,
                stream=False,
            )
            reply = result.message
            messages.append(reply)

            if not reply.tool_calls:
                answer = _text_of(reply)
                yield self.finish_log_message(log=round_log, data={"answer": answer})
                yield self.create_text_message(answer)
                return

            observations: dict[str, str] = {}
            for call in reply.tool_calls:
                output = self._run_tool(tools.get(call.function.name), call.function.arguments)
                observations[call.function.name] = output
                messages.append(
                    ToolPromptMessage(content=output, tool_call_id=call.id, name=call.function.name)
                )
            yield self.finish_log_message(log=round_log, data={"tool_results": observations})

        yield self.create_text_message("I could not finish within the maximum number of rounds.")

    def _run_tool(self, tool: ToolEntity | None, arguments: str) -> str:
        """Calls one tool through Dify and turns what it returns into text for the model."""
        if tool is None:
            return "Error: the model asked for a tool that is not available."
        try:
            args = json.loads(arguments) if arguments else {}
        except json.JSONDecodeError:
            return f"Error: the tool arguments are not valid JSON: {arguments}"

        parts: list[str] = []
        try:
            for message in self.session.tool.invoke(
                provider_type=tool.provider_type,
                provider=tool.identity.provider,
                tool_name=tool.identity.name,
                parameters={**tool.runtime_parameters, **args},
            ):
                if isinstance(message.message, AgentInvokeMessage.TextMessage):
                    parts.append(message.message.text)
                elif isinstance(message.message, AgentInvokeMessage.JsonMessage):
                    parts.append(json.dumps(message.message.json_object, ensure_ascii=False))
        except Exception as e:
            return f"Error: the tool failed: {e}"
        return "\n".join(parts) or "(the tool returned nothing)"
