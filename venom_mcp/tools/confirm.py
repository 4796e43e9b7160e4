"""How a tool call confirms a change the user may regret (a removal, unloading, stopping a server, a large install):
through MCP elicitation when the client declared it, else by the call's own `confirm=true`.

A call without an MCP request (the REST API, the Semantic Kernel skills, the CLI, the Python API) has no client to
ask: the caller's explicit call is the confirmation. The services say when to ask (services/confirm.py)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.fastmcp import Context
from mcp.shared.exceptions import McpError
from mcp.types import ClientCapabilities, ElicitationCapability
from pydantic import BaseModel, Field, ValidationError

from ..errors import Conflict, InvalidArgument
from ..services.confirm import Confirm

ConfirmFlag = Annotated[bool, Field(strict=True, description="Skip the question (clients that cannot ask).")]


class Answer(BaseModel):
    """The form a client shows: accepting it (checked) is the confirmation."""

    confirm: bool = Field(default=True, title="Go ahead", description="Uncheck, or decline, to change nothing.")


class ConfirmationNeeded(InvalidArgument):
    """The client cannot ask its user and the call did not say confirm=true."""


class NotConfirmed(Conflict):
    """The user declined or cancelled the confirmation."""


def asker(ctx: Context[Any, Any, Any] | None, confirm: bool, tool: str) -> Confirm | None:
    """What the services call to confirm, or None when nobody is to be asked (confirm=true, or no MCP client)."""
    if confirm or ctx is None:
        return None
    try:
        session = ctx.session
    except ValueError:  # no request: a REST, Semantic Kernel or Python caller
        return None

    async def ask(question: str) -> None:
        if not session.check_client_capability(ClientCapabilities(elicitation=ElicitationCapability())):
            raise ConfirmationNeeded(f"{question} This client cannot ask you (it declared no elicitation): nothing "
                                     f"was done; call {tool} again with confirm=true to go ahead.")
        try:
            answer = await ctx.elicit(question, Answer)
        except (McpError, ValidationError) as exc:
            reason = exc.error.message if isinstance(exc, McpError) else "its answer was not a yes or no"
            raise NotConfirmed(f"{question} The client could not ask ({reason}): nothing was done; call {tool} "
                               "again with confirm=true to go ahead.") from exc
        if answer.action == "accept" and answer.data.confirm:
            return
        how = "cancelled" if answer.action == "cancel" else "declined"
        raise NotConfirmed(f"Nothing was done: the user {how} ({question})")

    return ask


__all__ = ["Answer", "ConfirmFlag", "ConfirmationNeeded", "NotConfirmed", "asker"]
