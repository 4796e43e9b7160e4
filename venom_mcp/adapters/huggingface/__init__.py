"""The Hugging Face Hub through huggingface_hub: catalog rows, and installs into the standard cache.

* `hub`: `HubAdapter`, model listing and search as catalog rows, sized as an install would download;
* `files`: which files an install takes (one GGUF quantization, or safetensors weights and support files);
* `dtypes`: bits per parameter of every safetensors dtype, to size a repo from the Hub's parameter counts;
* `downloads`: `HubDownloads`, plan, download with real progress, verify and delete.

Real Hub answers these are tested on are in tests/fixtures/real/hub/ (see its SOURCES.md).
"""

from .downloads import CANCEL_GRACE_SECONDS, Cancelled, DownloadProgress, HubDownloads, sha256_of
from .dtypes import DTYPE_BITS, dtype_bits, weights_bytes
from .files import (
    GGUF_PREFERENCE,
    SUPPORT_FILES,
    HubFile,
    HubPlan,
    file_quant,
    gguf_choice,
    quant_of,
    quantization_sizes,
    select_files,
)
from .hub import LIST_EXPAND, GGUFListing, HubAdapter, HubSort, gguf_listing, hub_files

__all__ = [
    "CANCEL_GRACE_SECONDS",
    "DTYPE_BITS",
    "GGUF_PREFERENCE",
    "LIST_EXPAND",
    "SUPPORT_FILES",
    "Cancelled",
    "DownloadProgress",
    "GGUFListing",
    "HubAdapter",
    "HubDownloads",
    "HubFile",
    "HubPlan",
    "HubSort",
    "dtype_bits",
    "file_quant",
    "gguf_choice",
    "gguf_listing",
    "hub_files",
    "quant_of",
    "quantization_sizes",
    "select_files",
    "sha256_of",
    "weights_bytes",
]
