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
    ProviderName, Field(description="hf is an alias of huggingface.")
]
Query = Annotated[
    str | None, Field(default=None, max_length=200)
]
# install_model shows what a model name looks like, once; the other tools name models installed_models lists.
NewName = Annotated[
    ModelName,
    Field(description="e.g. llama3.2:1b, org/repo, org/repo:Q4_K_M."),
]
Name = ModelName
OptionalRuntime = Annotated[
    RuntimeName | None,
    Field(default=None),
]
OperationId = Annotated[str, Field(min_length=1, max_length=64)]
Refresh = Annotated[
    bool,
    Field(strict=True, description="Bypass the cache."),
]
Month = Annotated[
    str | None,
    AfterValidator(_month),
    Field(default=None, description="papers: of this month, YYYY-MM."),
]
