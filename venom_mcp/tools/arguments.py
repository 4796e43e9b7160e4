"""Argument types shared by several tools, with the descriptions clients show."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

from ..records import (
    ModelName,
    ProviderName,
    RuntimeName,
)


def _month(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ValueError(f"month must be YYYY-MM, for example 2025-12 (got {value!r})")
    return value


Provider = Annotated[
    ProviderName, Field(description="Where models come from: 'huggingface' (alias 'hf') or 'ollama'.")
]
Query = Annotated[
    str | None, Field(default=None, max_length=200, description="Words to search for; omit to browse.")
]
Name = Annotated[
    ModelName,
    Field(description="Model name: Ollama 'llama3.2:1b', Hugging Face 'org/repo' or 'org/repo:Q4_K_M' (GGUF)."),
]
OptionalRuntime = Annotated[
    RuntimeName | None,
    Field(default=None, description="ollama, vllm or llamacpp; omit to pick the one the model needs."),
]
OperationId = Annotated[str, Field(min_length=1, max_length=64, description="An operation_id from install_model.")]
Refresh = Annotated[
    bool,
    Field(strict=True, description="Ask the source now instead of the cache (at most once every 10 s per source); "
                                   "when it fails the cached answer comes back with stale=true."),
]
Month = Annotated[
    str | None,
    AfterValidator(_month),
    Field(default=None, description="Papers of one month, as YYYY-MM; omit for the latest."),
]
