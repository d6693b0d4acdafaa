"""Who a browser session is to the engine: an owner token and an uploads folder, never its id.

A Streamlit session id is a secret: a client that presents one on ``_stcore/stream`` (the third
Sec-WebSocket-Protocol entry) is reconnected to that session, with its page, its jobs and their
Stop buttons, and the session's own browser is disconnected. So the id never leaves this module.
A session is known elsewhere by an `Identity` of two random values made here and kept in its
session state: `owner`, which owns its jobs and runs (`thermolab.jobs`, `thermolab.runs`), and
`uploads`, which names its folder of uploaded texts. Knowing one tells nothing about the other
or about the session id.

The registry below maps each identity back to its session id on the server, only to ask
Streamlit whether that session is still connected: `owner_alive` (the job manager's liveness
probe, and who may adopt a stopped training) and `live_upload_folders` (whose uploads are kept).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from thermolab.jobs import get_manager

__all__ = [
    "LOCAL",
    "Identity",
    "attach_session",
    "identity",
    "live_upload_folders",
    "owner_alive",
]

#: Where a session keeps its identity in `st.session_state`.
STATE_KEY = "thermolab.identity"


@dataclass(frozen=True)
class Identity:
    """A session's names outside this module. owner: a URL-safe token of 128 random bits.
    uploads: 64 random bits in hex, the name of `<runs dir>/uploads/<uploads>/`."""

    owner: str
    uploads: str

    @classmethod
    def new(cls) -> Identity:
        return cls(owner=secrets.token_urlsafe(16), uploads=secrets.token_hex(8))


#: The identity outside a Streamlit script run (tests, the command line): always alive.
LOCAL = Identity(owner="local", uploads="local")

_lock = threading.Lock()
_session_of: dict[Identity, str] = {}  # identity → Streamlit session id, server-side only


def identity() -> Identity:
    """This session's identity (made on its first run), registered for liveness checks;
    `LOCAL` outside a Streamlit script run."""
    import streamlit as st
    from streamlit.runtime import scriptrunner

    context = scriptrunner.get_script_run_ctx(suppress_warning=True)
    if context is None:
        return LOCAL
    mine = st.session_state.get(STATE_KEY)
    if not isinstance(mine, Identity):
        mine = st.session_state[STATE_KEY] = Identity.new()
    with _lock:
        _session_of[mine] = context.session_id
    return mine


def attach_session() -> str:
    """This session's owner token; marks it seen by the job manager.

    Pages call this on every run: it registers `owner_alive` as the manager's liveness probe,
    so work started by a browser that has gone away is stopped.
    """
    owner = identity().owner
    manager = get_manager()
    manager.set_liveness(owner_alive)
    manager.touch(owner)
    return owner


def _active(session_id: str) -> bool:
    from streamlit import runtime

    return runtime.get_instance().is_active_session(session_id)


def _running_server() -> bool:
    from streamlit import runtime

    return runtime.exists()


def owner_alive(owner: str) -> bool:
    """Whether the session with this owner token is still connected.

    An owner this server has not seen since it started (a restart) is gone. Outside a running
    Streamlit server nothing can be told, so every owner counts as alive.
    """
    if not _running_server():
        return True
    with _lock:
        sessions = [session for mine, session in _session_of.items() if mine.owner == owner]
    return any(_active(session) for session in sessions)


def live_upload_folders() -> set[str]:
    """The upload folder names of the sessions still connected; the registry forgets the
    others (a session that comes back registers again on its next run). Outside a running
    Streamlit server: every folder registered."""
    with _lock:
        registered = dict(_session_of)
    if not _running_server():
        return {mine.uploads for mine in registered}
    alive = {mine for mine, session in registered.items() if _active(session)}
    with _lock:
        for mine in registered.keys() - alive:
            if _session_of.get(mine) == registered[mine]:
                del _session_of[mine]
    return {mine.uploads for mine in alive}
