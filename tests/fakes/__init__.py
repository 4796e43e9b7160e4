"""Protocol-faithful fakes of the upstream services venom_mcp talks to, for offline tests."""

from .hub import FakeHub
from .live import LiveServer
from .ollama_library import FakeOllamaLibrary

__all__ = ["FakeHub", "FakeOllamaLibrary", "LiveServer"]
