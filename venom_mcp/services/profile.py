"""VENOM_RUNTIME_PROFILE enforced at one gate: installs, activations, server control, fallback and the catalog
all ask here whether the profile allows a runtime (`light`: Ollama and the cloud; `llm_off`: the cloud only;
`full`: everything). Which runtimes a profile exposes is a column of the runtime table."""

from __future__ import annotations

from ..adapters import runtimes as table
from ..config import Settings
from ..errors import InvalidArgument
from ..records import CatalogResult


def allowed(settings: Settings, runtime: str) -> bool:
    return runtime in table.exposed(settings.runtime_profile)


def local(settings: Settings) -> tuple[str, ...]:
    """The local runtimes the profile exposes, in table order."""
    return table.exposed(settings.runtime_profile, "local")


def refusal(settings: Settings, runtime: str, doing: str) -> str:
    return refusal_of(settings.runtime_profile, runtime, doing)


def refusal_of(profile: str, runtime: str, doing: str) -> str:
    """Why `profile` does not allow `doing` on `runtime`, and the fix (for callers that hold no Settings)."""
    exposed = ", ".join(table.exposed(profile, "local")) or "no local runtime"
    fix = "set VENOM_RUNTIME_PROFILE=full" if runtime in table.exposed("full") else "choose another runtime"
    return (f"VENOM_RUNTIME_PROFILE={profile} does not allow {doing} on {runtime} "
            f"(local runtimes it allows: {exposed}); {fix}")


def require(settings: Settings, runtime: str, doing: str) -> None:
    """Raise a clear InvalidArgument when the profile does not expose `runtime`; nothing has been done yet."""
    if not allowed(settings, runtime):
        raise InvalidArgument(refusal(settings, runtime, doing))


def mark_catalog(settings: Settings, result: CatalogResult) -> CatalogResult:
    """Catalog rows whose runtime the profile does not allow are shown, but not offered for install."""
    rows = []
    for row in result.models:
        if allowed(settings, row.runtime):
            rows.append(row)
            continue
        note = refusal(settings, row.runtime, "installs")
        if row.provider == "huggingface" and row.runtime == "llamacpp" and allowed(settings, "ollama"):
            note += f"; or install it into Ollama as hf.co/{row.model_name} with provider=ollama"
        rows.append(row.model_copy(update={"installable": False, "install_note": note}))
    return result.model_copy(update={"models": rows})
