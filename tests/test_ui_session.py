"""A session is known to the engine by random tokens, never by its Streamlit session id; the
server maps them back only to ask whether the session is still connected."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import ui.session as session
from ui.session import LOCAL, STATE_KEY, Identity

IDENTITY_PAGE = """
import streamlit as st
from ui.session import attach_session, identity
st.session_state["seen"] = (attach_session(), identity())
"""


def test_outside_streamlit_the_identity_is_local_and_alive():
    from thermolab.jobs import get_manager

    assert session.identity() == LOCAL and session.attach_session() == "local"
    assert session.owner_alive("any-owner")
    assert get_manager().reap() == []


def test_each_session_gets_its_own_random_owner_and_upload_folder_kept_across_runs():
    first, second = AppTest.from_string(IDENTITY_PAGE), AppTest.from_string(IDENTITY_PAGE)
    first.run()
    second.run()
    owner, mine = first.session_state["seen"]
    assert mine == first.session_state[STATE_KEY] and owner == mine.owner
    assert mine != second.session_state[STATE_KEY]
    assert len({mine.owner, mine.uploads, "test session id"}) == 3  # AppTest's session id
    assert len(mine.owner) >= 22 and len(mine.uploads) == 16  # 128 and 64 random bits
    first.run()
    assert first.session_state["seen"] == (owner, mine)  # a rerun keeps the session's identity


@pytest.fixture
def server(monkeypatch):
    """A running server (as `ui.session` sees it) whose connected sessions are `active`."""
    active: set[str] = set()
    monkeypatch.setattr(session, "_running_server", lambda: True)
    monkeypatch.setattr(session, "_active", lambda session_id: session_id in active)
    monkeypatch.setattr(session, "_session_of", {})
    return active


def test_an_owner_is_alive_while_its_session_is_connected(server):
    alice, bob = Identity.new(), Identity.new()
    session._session_of.update({alice: "session-a", bob: "session-b"})
    server.add("session-a")
    assert session.owner_alive(alice.owner)
    assert not session.owner_alive(bob.owner)
    assert not session.owner_alive("session-a")  # a session id is not an owner
    assert not session.owner_alive(Identity.new().owner)  # unknown here (e.g. a restart): gone


def test_upload_folders_of_ended_sessions_are_not_kept_and_are_forgotten(server):
    alice, bob = Identity.new(), Identity.new()
    session._session_of.update({alice: "session-a", bob: "session-b"})
    server.add("session-a")
    assert session.live_upload_folders() == {alice.uploads}
    assert bob not in session._session_of  # the registry forgets an ended session
    server.discard("session-a")
    assert session.live_upload_folders() == set()
