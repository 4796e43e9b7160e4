"""Which files of a Hub repo a runtime needs: one GGUF quantization, or config, tokenizer and weights.

The same choice sizes a catalog row and plans an install, so `list_models` shows what `install_model`
would fetch. GGUF repos name their quantizations in file names (`x-Q4_K_M.gguf`, `x.Q8_0.gguf`), often with
split files in a folder named after the quantization (`Q8_0/x-Q8_0-00001-of-00002.gguf`), and carry files
that are not models: vision projectors (`mmproj-*`), importance matrices (`imatrix*`) and draft models kept
in other folders (`MTP/mtp-x-Q4_0.gguf`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidArgument

# What a runtime needs of a transformers repo besides the weights; everything else (original/, onnx/...) is skipped.
SUPPORT_FILES = {
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
    "special_tokens_map.json", "added_tokens.json", "vocab.json", "vocab.txt", "merges.txt",
    "chat_template.jinja", "chat_template.json", "preprocessor_config.json", "processor_config.json",
}  # fmt: skip
GGUF_PREFERENCE = ("Q4_K_M", "Q4_K_S", "Q5_K_M", "Q6_K", "Q8_0", "F16")

# A quantization name between separators: Q4_K_M, IQ4_XS, TQ1_0, Q4_0_4_4, MXFP4 and the float types. The name
# is followed by ".", "-", "/" or the end, so the folder of "Q8_0/x-Q8_0-00001-of-00002.gguf" reads Q8_0, not Q8.
_QUANT = re.compile(r"(?i)(?:^|[._/-])((?:[IT]?Q\d(?:_[A-Z0-9]+)*)|MXFP4|BF16|FP16|FP32|F16|F32)(?=[./-]|$)")


@dataclass(frozen=True)
class HubFile:
    path: str
    size: int
    sha256: str | None  # the LFS oid, where the Hub gives one

    @property
    def is_weight(self) -> bool:
        return self.path.endswith((".safetensors", ".gguf", ".bin"))


@dataclass
class HubPlan:
    """What an install of one repo will fetch, known before a byte is written."""

    repo_id: str
    revision: str
    files: list[HubFile]
    gguf: bool
    quantization: str | None = None
    cached_bytes: int = 0
    config: dict[str, Any] = field(default_factory=dict)
    quantizations: dict[str, int] = field(default_factory=dict)  # GGUF: every named quantization's bytes

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def quant_of(path: str) -> str | None:
    """The quantization a GGUF path names (upper case), the first one from the left; None if it names none."""
    found = _QUANT.search(path)
    return found.group(1).upper() if found else None


def _is_model_gguf(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return name.endswith(".gguf") and "mmproj" not in name and not name.startswith("imatrix")


def _quants(path: str) -> tuple[str | None, str | None]:
    """The quantization the file name gives, and the one its folder gives."""
    folder, _, name = path.rpartition("/")
    return quant_of(name), quant_of(folder.rsplit("/", 1)[-1]) if folder else None


def file_quant(path: str) -> str | None:
    """A GGUF file's quantization: its name's, else its folder's (`Q4_K_M/model-00001-of-00002.gguf`)."""
    by_name, by_folder = _quants(path)
    return by_name or by_folder


def _in_own_folder(path: str) -> bool:
    """A file at the top, or in a folder named after its own quantization (how split quants are kept)."""
    if "/" not in path:
        return True
    by_name, by_folder = _quants(path)
    return by_folder is not None and by_folder == (by_name or by_folder)


def gguf_models(paths: dict[str, HubFile]) -> list[HubFile]:
    """The GGUF files that are models: no projectors or imatrices, no drafts kept in other folders."""
    candidates = [f for p, f in paths.items() if _is_model_gguf(p)]
    return [f for f in candidates if _in_own_folder(f.path)] or candidates


def gguf_groups(paths: dict[str, HubFile]) -> dict[str, list[HubFile]]:
    """The model GGUF files by quantization (a file that names none stands alone, under its path), the parts of
    a split file together, sorted. When a quantization is both a top-level file and a folder of parts, the
    top-level file is the one an install takes, so it alone is the group."""
    groups: dict[str, list[HubFile]] = defaultdict(list)
    for file in gguf_models(paths):
        groups[file_quant(file.path) or file.path].append(file)
    return {key: sorted([f for f in files if "/" not in f.path] or files, key=lambda f: f.path)
            for key, files in groups.items()}


def quantization_sizes(paths: dict[str, HubFile]) -> dict[str, int]:
    """quantization -> bytes of its files (all parts of a split one), for every named GGUF model of a repo."""
    return {key: sum(f.size for f in files) for key, files in gguf_groups(paths).items()
            if file_quant(files[0].path) == key}


def default_quant(groups: dict[str, list[HubFile]]) -> str:
    """The group an install takes when none is named: the first of GGUF_PREFERENCE, else the smallest."""
    return next((q for q in GGUF_PREFERENCE if q in groups), None) or min(
        groups, key=lambda q: sum(f.size for f in groups[q])
    )


def gguf_choice(paths: dict[str, HubFile], quant: str | None = None) -> tuple[list[HubFile], str | None]:
    """The files of one quantization (all parts of a split file): `quant`, or the default an install takes.

    The default is the first of GGUF_PREFERENCE the repo has, else the smallest model. When a quantization is
    both a top-level file and a folder of parts, the top-level file is the one.
    """
    groups = gguf_groups(paths)
    if not groups:
        raise InvalidArgument("this repo holds no GGUF files; install it for runtime 'vllm' instead")
    available = sorted(q for q, files in groups.items() if file_quant(files[0].path))
    if quant:
        key = quant.upper()
        if key not in groups:
            raise InvalidArgument(
                f"no {quant} file in this repo; available quantizations: {', '.join(available) or 'none named'}"
            )
    else:
        key = default_quant(groups)
    chosen = groups[key]
    return chosen, file_quant(chosen[0].path)


def select_files(paths: dict[str, HubFile], *, want_gguf: bool, quant: str | None) -> tuple[list[HubFile], str | None]:
    """The files a runtime needs: one GGUF quantization, or config, tokenizer and safetensors weights."""
    if want_gguf:
        return gguf_choice(paths, quant)
    top = {p: f for p, f in paths.items() if "/" not in p}
    weights = [f for p, f in top.items() if p.endswith(".safetensors")]
    index = ["model.safetensors.index.json"]
    if not weights:
        weights = [f for p, f in top.items() if p.startswith("pytorch_model") and p.endswith(".bin")]
        index = ["pytorch_model.bin.index.json"]
    if not weights:
        hint = ("; it holds GGUF files: install it for runtime 'llamacpp'" if any(p.endswith(".gguf") for p in paths)
                else "")  # fmt: skip
        raise InvalidArgument(f"this repo holds no safetensors or PyTorch weights that vLLM could load{hint}")
    support = [f for p, f in top.items() if p in SUPPORT_FILES or p in index]
    return sorted(support + weights, key=lambda f: f.path), None
