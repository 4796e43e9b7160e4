"""Chat with routing, fallback, governance and per-runtime parameters: used by the chat tool, translation and news.

- request.py: one request, checked (prompt or messages, system, parameters, JSON output, tools, think)
- route.py: which runtime answers: the model asked for, and `plan`, the seam of the routing policy
- wire.py: the request written for Ollama or an OpenAI-compatible API (names from adapters/generation.py)
- context.py: the prompt's tokens against the model's context, before sending
- structured.py: response_format: JSON parsed and checked against the schema
- service.py: ChatService, the attempts along the plan with governance and request gates
- stream.py: the same for an answer that streams (fallback until its first piece)
- failures.py: what went wrong along the plan, with each attempt's reason code
"""

from .failures import ChatFailed
from .request import ChatRequest, build
from .service import ChatService
from .stream import ChatStream, StreamBroken, StreamRoute

__all__ = ["ChatFailed", "ChatRequest", "ChatService", "ChatStream", "StreamBroken", "StreamRoute", "build"]
