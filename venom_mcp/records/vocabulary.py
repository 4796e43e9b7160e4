"""The vocabulary of SPEC section 3: providers, runtimes and their aliases, model names, timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, WithJsonSchema
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode

from .wire_schema import lean

Provider = Literal["huggingface", "ollama"]
Runtime = Literal["ollama", "vllm", "llamacpp", "ray", "openai", "google"]
LocalRuntime = Literal["ollama", "vllm", "llamacpp"]

PROVIDER_ALIASES = {"hf": "huggingface"}
RUNTIME_ALIASES = {"gpt": "openai", "gem": "google", "gemini": "google", "google-gemini": "google"}


def _accepting(canonical: tuple[str, ...], aliases: dict[str, str]) -> tuple[BeforeValidator, WithJsonSchema]:
    """Map each alias to its canonical name, exactly as spelled (no case folding: the schema is the contract), and
    publish every accepted spelling in the enum."""

    def normalize(value: object) -> object:
        return aliases.get(value, value) if isinstance(value, str) else value

    return BeforeValidator(normalize), WithJsonSchema({"type": "string", "enum": [*canonical, *aliases]})


# Input types that accept the aliases of SPEC section 3 and publish them in the enum next to the canonical names.
ProviderName = Annotated[Provider, *_accepting(get_args(Provider), PROVIDER_ALIASES)]
RuntimeName = Annotated[Runtime, *_accepting(get_args(Runtime), RUNTIME_ALIASES)]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# Every timestamp is sent with its offset (RFC 3339, what `format: date-time` promises); a source that gives a
# naive time (the Ollama library's page) means UTC.
Timestamp = Annotated[datetime, AfterValidator(_aware)]


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    @classmethod
    def model_json_schema(
        cls, by_alias: bool = True, ref_template: str = DEFAULT_REF_TEMPLATE,
        schema_generator: type[GenerateJsonSchema] = GenerateJsonSchema, mode: JsonSchemaMode = "validation", *,
        union_format: Literal["any_of", "primitive_type_array"] = "any_of",
    ) -> dict[str, Any]:
        """The schema that FastMCP publishes as a tool's outputSchema: lean and draft-07 (see wire_schema)."""
        return lean(super().model_json_schema(by_alias, ref_template, schema_generator, mode,
                                              union_format=union_format))


# ---- model names (SPEC section 3) -----------------------------------------------------------------

_NAME_CHARS = re.compile(r"^[A-Za-z0-9_.:/-]+$")


def check_model_name(value: str) -> str:
    """Refuse names that could escape a folder or be read as an option; say what is allowed."""
    if not value:
        raise ValueError("model name is empty; give e.g. 'llama3.2:1b' or 'org/repo'")
    if len(value) > 200:
        raise ValueError(f"model name is {len(value)} characters long; at most 200 are allowed")
    if not _NAME_CHARS.match(value):
        raise ValueError(f"model name {value!r} may only hold letters, digits and _ . : / -")
    if value.startswith(("-", "/")):
        raise ValueError(f"model name {value!r} must not start with '-' or '/'")
    parts = re.split(r"[/:]", value)
    if any(part == ".." for part in parts):
        raise ValueError(f"model name {value!r} must not contain a '..' segment")
    # "." would become ".:latest" and reach Ollama; "a//b" or "llama3:" name nothing either.
    if not all(any(char.isalnum() for char in part) for part in parts):
        raise ValueError(
            f"model name {value!r} has a part without a letter or digit (empty, or only dots or dashes); "
            "give e.g. 'llama3.2:1b' or 'org/repo'"
        )
    return value


ModelName = Annotated[str, AfterValidator(check_model_name)]
