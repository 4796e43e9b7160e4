"""Which generation overrides a model may have: every value checked against the runtime parameter table
(adapters/generation.py) and against the chat tool's own argument limits (conversation.py), so that an override
is always a value chat itself would take. model_config publishes the resulting ranges.

    >>> limits("ollama", "max_tokens").describe()
    'from 1 to 32768'
    >>> check("google", "gemini-2.0-flash", {"temperature": 1, "stop": "END"})
    {'temperature': 1.0, 'stop': ['END']}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .. import conversation as chat_args
from ..adapters.generation import NAMES, PARAMETERS, parameter, parameters
from ..adapters.ray.app_config import DEPLOYMENT_OPTIONS, OPTION_NAMES
from ..errors import InvalidArgument

# Our name -> the chat tool's argument type, whose limits an override obeys too.
CHAT_ARGUMENTS: Mapping[str, Any] = {
    "max_tokens": chat_args.MaxTokens, "temperature": chat_args.Temperature, "top_p": chat_args.TopP,
    "top_k": chat_args.TopK, "seed": chat_args.Seed, "stop": chat_args.Stop,
    "repeat_penalty": chat_args.RepeatPenalty, "num_ctx": chat_args.NumCtx,
}
_STOP: TypeAdapter[Any] = TypeAdapter(chat_args.Stop)
SHOWN = 60  # characters of a refused value quoted in an error


@dataclass(frozen=True)
class Limits:
    minimum: float | None
    maximum: float | None
    above: bool = False  # the minimum itself is excluded (repeat_penalty > 0)

    def admits(self, value: float) -> bool:
        low = self.minimum is None or (value > self.minimum if self.above else value >= self.minimum)
        return low and (self.maximum is None or value <= self.maximum)

    def describe(self) -> str:
        low, high = self.minimum, self.maximum
        if low is not None and high is not None:
            return f"over {low} and up to {high}" if self.above else f"from {low} to {high}"
        if low is not None:
            return f"over {low}" if self.above else f"of at least {low}"
        return f"of at most {high}" if high is not None else "of any size"


@cache
def limits(runtime: str, name: str) -> Limits:
    """The range an override of `name` on `runtime` takes: the table's and the chat argument's, both."""
    found = parameter(runtime, name)
    schema = TypeAdapter(CHAT_ARGUMENTS[name]).json_schema()
    options: list[dict[str, Any]] = schema.get("anyOf", [schema])
    numeric = next((o for o in options if o.get("type") in ("integer", "number")), {})
    table = (found.minimum, found.maximum) if found else (None, None)
    lows: list[tuple[float, bool]] = [(v, False) for v in (table[0], numeric.get("minimum")) if v is not None]
    if "exclusiveMinimum" in numeric:
        lows.append((numeric["exclusiveMinimum"], True))
    highs = [v for v in (table[1], numeric.get("maximum")) if v is not None]
    low, above = max(lows) if lows else (None, False)
    return Limits(low, min(highs) if highs else None, above)


def check(runtime: str, model: str, values: Mapping[str, object]) -> dict[str, object]:
    """The overrides as stored (numbers as floats, stop as a list), in the table's order; InvalidArgument names
    every value that is wrong and what it takes."""
    problems: list[str] = []
    checked: dict[str, object] = {}
    for name, value in values.items():
        try:
            checked[name] = check_value(runtime, model, name, value)
        except InvalidArgument as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidArgument("; ".join(problems) + "; nothing was changed")
    return ordered(checked)


def check_value(runtime: str, model: str, name: str, value: object) -> object:
    if name in OPTION_NAMES:
        return _deployment_value(runtime, model, name, value)
    found = parameter(runtime, name)
    if name not in NAMES:
        taken = ", ".join(p.name for p in parameters(runtime)) or "no generation parameter"
        raise InvalidArgument(f"unknown parameter {_shown(name)}: {model} on {runtime} takes {taken}")
    if found is None:
        takers = ", ".join(r for r in PARAMETERS if parameter(r, name) is not None)
        raise InvalidArgument(f"{name} is not taken by {runtime} ({model}); the runtimes that take it: {takers}")
    if found.type == "array":
        try:
            stop = _STOP.validate_python(value)
        except ValidationError:
            raise InvalidArgument(f"{name} takes a string or a list of 1 to 4 strings of 1 to 200 characters "
                                  f"(got {_shown(value)})") from None
        return [stop] if isinstance(stop, str) else list(stop)
    integer = found.type == "integer"
    allowed = limits(runtime, name)
    what = f"{name} on {runtime} takes {'an integer' if integer else 'a number'} {allowed.describe()}"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        raise InvalidArgument(f"{what} (got {_shown(value)})")
    if not allowed.admits(value):
        raise InvalidArgument(f"{what} (got {value})")
    return value if integer else float(value)


# Hugging Face models run on these engines locally and on ray: the Ray Serve options apply to them.
CLUSTER_ENGINES = ("vllm", "llamacpp")


def _deployment_value(runtime: str, model: str, name: str, value: object) -> object:
    """A Ray Serve replica option (adapters/ray/app_config.py), used when the model is activated on ray."""
    if runtime not in CLUSTER_ENGINES:
        raise InvalidArgument(f"{name} is a Ray Serve option: {model} runs on {runtime}, not on ray (Hugging Face "
                              "models do)")
    option = next(o for o in DEPLOYMENT_OPTIONS if o.name == name)
    integer = option.type == "integer"
    high = f" to {option.maximum:g}" if option.maximum is not None else ""
    what = f"{name} takes {'an integer' if integer else 'a number'} from {option.minimum:g}{high}"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        raise InvalidArgument(f"{what} (got {_shown(value)})")
    if value < option.minimum or (option.maximum is not None and value > option.maximum):
        raise InvalidArgument(f"{what} (got {value})")
    return value if integer else float(value)


def together(model: str, values: Mapping[str, object]) -> None:
    """Overrides that must agree: the answer (max_tokens) fits in the context (num_ctx), as chat requires; Ray
    Serve's replicas are a number or an autoscaling range, not both, and the range is not upside down."""
    low, high = values.get("min_replicas"), values.get("max_replicas")
    if values.get("num_replicas") is not None and (low is not None or high is not None):
        raise InvalidArgument(f"num_replicas and min_replicas/max_replicas both set for {model}: give a fixed number "
                              "or an autoscaling range (reset the other with reset=true); nothing was changed")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        raise InvalidArgument(f"min_replicas={low} is over max_replicas={high} for {model}; nothing was changed")
    max_tokens, num_ctx = values.get("max_tokens"), values.get("num_ctx")
    if isinstance(max_tokens, int) and isinstance(num_ctx, int) and max_tokens >= num_ctx:
        raise InvalidArgument(f"max_tokens={max_tokens} does not fit in num_ctx={num_ctx} for {model}: the context "
                              "holds the prompt and the answer; raise num_ctx or lower max_tokens; nothing was changed")


def ordered(values: Mapping[str, object]) -> dict[str, object]:
    return {name: values[name] for name in (*NAMES, *OPTION_NAMES) if name in values}


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."
