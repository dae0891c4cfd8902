"""One connection of a woken device to its MDM: `Idle`, then each command until none is left.

The device PUTs `{"Status": "Idle"}` to `ServerURL`; a 200 with an empty body means no
command, otherwise the body is a command plist, answered (`commands.answer`) in the next PUT,
whose answer is the next command. An answer that is not a command (not a property list, no
CommandUUID), a refusal (401, ...), or a connection failure ends the conversation with the
reason in words; so do erase, restart and unenrollment, once acknowledged.
"""

from __future__ import annotations

import logging
import plistlib
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..clock import service as clock
from . import transport
from .commands import Effect, Facts, Managed, answer, error_result
from .enrollment import user_agent

logger = logging.getLogger("dep_emulator.device_mdm")


@dataclass
class Conversation:
    steps: list[dict[str, Any]] = field(default_factory=list)
    effect: Effect = Effect.NONE
    not_now_used: int = 0
    commands: int = 0
    problem: str | None = None  # why the conversation ended before the server ran dry


async def converse(
    client: httpx.AsyncClient,
    *,
    server_url: str,
    identity: transport.Identity,
    sign: bool,
    facts: Facts,
    managed: Managed,
    max_commands: int,
) -> Conversation:
    """Talk until the MDM runs dry, something ends the talk, or `max_commands` commands were run
    (a server that hands out commands forever must not keep a device: setting
    `mdm_max_commands_per_poll`)."""
    talk = Conversation()
    message: dict[str, Any] = {"Status": "Idle", "UDID": facts.udid}
    step, command_uuid, note = "connect.Idle", None, None
    while True:
        sent, reply = await transport.put_plist(
            client,
            server_url,
            message,
            content_type=transport.COMMAND,
            identity=identity,
            sign=sign,
            user_agent=user_agent(facts),
        )
        record: dict[str, Any] = {
            "wall_at": clock.wall_now(),
            "step": step,
            "url": server_url,
            "status": reply.status,
            "ok": True,
            "detail": note,
            "command_uuid": command_uuid,
            "sent": sent.decode(),
            "answered": transport.printable(reply.body),
        }
        talk.steps.append(record)
        if reply.error is not None or reply.status != 200:
            talk.problem = reply.error or transport.status_reason(reply)
            if reply.error is not None and command_uuid is not None:
                talk.problem += f" (after the device sent its result for {command_uuid})"
            record |= {"ok": False, "detail": talk.problem}
            return talk
        if talk.effect is not Effect.NONE:
            return talk  # acknowledged; now the device restarts, erases itself or forgets the MDM
        if not reply.body.strip():
            return talk  # no more commands
        command = _command(reply.body)
        if isinstance(command, str):
            talk.problem = command
            record |= {"ok": False, "detail": command}
            return talk
        if talk.commands >= max_commands:
            talk.problem = (
                f"the MDM sent more than {max_commands} commands in one connection (the same one "
                "again?); the device stopped and leaves the rest for its next connection"
            )
            record |= {"ok": False, "detail": talk.problem}
            return talk
        talk.commands += 1
        before = managed.not_now_remaining
        try:
            result, talk.effect = answer(command, facts, managed)
        except Exception as exc:  # a command no branch foresaw: reported, never a 500
            logger.exception("the device could not answer a command")
            result = error_result(12021, "MCMDMErrorDomain", f"The device could not run the command ({exc}).")
        talk.not_now_used += before - managed.not_now_remaining
        command_uuid = str(command["CommandUUID"])
        body = command.get("Command")
        request_type = body.get("RequestType") if isinstance(body, dict) else None
        step = f"command.{str(request_type or 'unknown')[:40]}"
        message = {"UDID": facts.udid, "CommandUUID": command_uuid} | result
        note = _error_note(result)


def _error_note(result: dict[str, Any]) -> str | None:
    """What the device said when it could not run a command (its ErrorChain), in words."""
    if result.get("Status") != "Error":
        return None
    chain = result.get("ErrorChain") or [{}]
    return f"the device answered Error: {chain[0].get('USEnglishDescription', 'no description')}"


def _command(body: bytes) -> dict[str, Any] | str:
    """The command in `body`, or why it is not one (in words)."""
    try:
        command = plistlib.loads(body)
    except Exception:  # plistlib raises several types on garbage
        return "the MDM answered with something that is not a property list; the device ignored it"
    if not isinstance(command, dict) or not isinstance(command.get("CommandUUID"), str):
        return "the MDM's answer is a property list but not a command (no CommandUUID)"
    if not isinstance(command.get("Command"), dict):
        return "the MDM's command has no Command dictionary"
    if not command["CommandUUID"].strip():
        return "the MDM's command has an empty CommandUUID"
    return command
