"""The chat slash commands (/gpt, /gem, /ollama <model>, ...): their names, the runtime each switches to, and how a
text is read as one. The runtime controller runs them; the MCP prompts offer them as a client's slash commands."""

from __future__ import annotations

SLASH_HELP = ("/gpt [model], /gem [model], /ollama <model>, /vllm <model>, /llamacpp <model>, /ray <model>, /status, "
              "/models")
SLASH_TARGETS = {"gpt": "openai", "gem": "google", "ollama": "ollama", "vllm": "vllm", "llamacpp": "llamacpp",
                 "ray": "ray"}


def parse_slash_command(text: str) -> tuple[str, str | None] | None:
    """'/gem gemini-2.0-flash' -> ('gem', 'gemini-2.0-flash'); None when the text is not a slash command."""
    text = text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None
    command, _, argument = text[1:].partition(" ")
    return command.lower(), (argument.strip() or None)
