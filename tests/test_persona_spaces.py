"""Persona spaces with a login: a learner's studio saves are theirs alone, shared personas are changed only by
trainers and admins, and no save replaces a bundled persona."""

from __future__ import annotations

import pytest

from rapport.ui import auth
from rapport.ui.auth import Role, write_user
from rapport.ui.context import LibraryHolder
from rapport.ui.studio import save_studio_persona
from simulator.errors import PersonaNotFoundError
from simulator.paths import bundled_personas_dir, learner_personas_dir, user_personas_dir
from simulator.persona import PersonaLibrary
from simulator.persona.library import Origin

BUNDLED = bundled_personas_dir() / "disengaged-student.yaml"


def variant(persona_id: str, name: str = "Kayla Bee") -> str:
    return BUNDLED.read_text(encoding="utf-8").replace("id: disengaged-student", f"id: {persona_id}").replace(
        "name: Kayla Brennan", f"name: {name}")


@pytest.fixture
def holder() -> LibraryHolder:
    return LibraryHolder(PersonaLibrary())  # bundled + the shared folder under this test's RAPPORT_HOME


def save(holder: LibraryHolder, text: str, login: str | None, role: Role, force: bool = False):
    return save_studio_persona(holder, text, force=force, login=login, role=role)


def test_a_learner_s_save_is_theirs_alone(holder):
    bundled_before = BUNDLED.read_text(encoding="utf-8")
    path, message = save(holder, variant("kayla-ana"), "ana", Role.LEARNER)
    assert path == learner_personas_dir("ana") / "kayla-ana.yaml" and "only you see it" in message
    assert holder.for_learner("ana").get("kayla-ana").name == "Kayla Bee"
    assert holder.for_learner("ana").source("kayla-ana").origin is Origin.OWN
    with pytest.raises(PersonaNotFoundError):
        holder.for_learner("ben").get("kayla-ana")
    with pytest.raises(PersonaNotFoundError):
        holder.library.get("kayla-ana")  # not shared, and not in the library without a login
    assert not list(user_personas_dir().glob("*.yaml"))  # nothing written to the shared folder
    assert BUNDLED.read_text(encoding="utf-8") == bundled_before


def test_a_learner_cannot_replace_a_bundled_or_shared_persona(holder):
    path, message = save(holder, variant("disengaged-student", "Not Kayla"), "ana", Role.LEARNER, force=True)
    assert path is None
    assert message.startswith("Not saved: `disengaged-student` is the id of a bundled persona")
    assert "`disengaged-student-2`" in message  # a free id to use instead
    assert holder.for_learner("ana").get("disengaged-student").name == "Kayla Brennan"
    assert not learner_personas_dir("ana").exists()

    save(holder, variant("team-kayla", "Team Kayla"), "tess", Role.TRAINER)
    path, message = save(holder, variant("team-kayla", "Ana's Kayla"), "ana", Role.LEARNER, force=True)
    assert path is None and "is the id of a shared persona" in message and "`team-kayla-2`" in message
    assert holder.for_learner("ben").get("team-kayla").name == "Team Kayla"


def test_a_trainer_changes_the_shared_personas_for_everyone(holder):
    holder.for_learner("ana"), holder.for_learner("ben")  # views built before the save are refreshed
    path, message = save(holder, variant("team-kayla", "Team Kayla"), "tess", Role.TRAINER)
    assert path == user_personas_dir() / "team-kayla.yaml" and "everyone's practice gallery" in message
    for learner in ("ana", "ben", None):
        assert holder.for_learner(learner).get("team-kayla").name == "Team Kayla"
    path, message = save(holder, variant("team-kayla", "Team Kayla 2"), "admin", Role.ADMIN, force=True)
    assert path is not None and holder.for_learner("ben").get("team-kayla").name == "Team Kayla 2"


def test_not_even_a_trainer_silently_replaces_a_bundled_persona(holder):
    for login, role in (("tess", Role.TRAINER), (None, Role.ADMIN)):  # with a login, and the local user without
        path, message = save(holder, variant("disengaged-student", "Not Kayla"), login, role, force=True)
        assert path is None and "would replace it for everyone" in message and "`disengaged-student-2`" in message
    assert holder.library.get("disengaged-student").name == "Kayla Brennan"
    assert not (user_personas_dir() / "disengaged-student.yaml").exists()


def test_without_a_login_the_local_user_saves_shared_personas_as_before(holder):
    path, message = save(holder, variant("kayla-mine"), None, Role.ADMIN)
    assert path == user_personas_dir() / "kayla-mine.yaml" and message.startswith("Saved `")
    assert holder.library.get("kayla-mine").name == "Kayla Bee"
    again, message = save(holder, variant("kayla-mine"), None, Role.ADMIN)
    assert again is None and "Tick the overwrite box" in message  # never overwritten silently


def test_a_shared_persona_added_later_wins_over_a_learner_s_copy(holder):
    save(holder, variant("kayla-ana", "Ana's Kayla"), "ana", Role.LEARNER)
    (user_personas_dir()).mkdir(parents=True, exist_ok=True)
    (user_personas_dir() / "kayla-ana.yaml").write_text(variant("kayla-ana", "Shared Kayla"), encoding="utf-8")
    holder.refresh()
    view = holder.for_learner("ana")
    assert view.get("kayla-ana").name == "Shared Kayla"
    assert any("already the id of a shared persona" in p.message for p in view.problems)


def test_a_learner_name_cannot_leave_the_learners_folder():
    for name in ("..", "a/b", "", "a\\b"):
        with pytest.raises(ValueError):
            learner_personas_dir(name)


def test_over_http_a_learner_s_saved_persona_is_invisible_to_another_learner(library, tmp_path, monkeypatch):
    from gradio_client import Client

    from rapport.ui import build_app

    from .browser_support import served
    from .test_ui_browser import fake_persona_model

    monkeypatch.setattr(auth, "ITERATIONS", 1000)
    users = tmp_path / "users.toml"
    for name, role in (("ana", Role.LEARNER), ("ben", Role.LEARNER), ("tess", Role.TRAINER)):
        write_user(users, name, f"{name}-pw", role)
    monkeypatch.setenv("RAPPORT_AUTH", str(users))
    with served(build_app(PersonaLibrary(), fake_persona_model())) as url:
        ana, ben, tess = (Client(url, auth=(n, f"{n}-pw"), verbose=False) for n in ("ana", "ben", "tess"))
        message, _ = ana.predict(variant("kayla-ana"), False, api_name="/save_text")
        assert "only you see it" in message
        message, _ = ana.predict(variant("disengaged-student", "Not Kayla"), True, api_name="/save_text")
        assert message.startswith("Not saved")
        assert "Kayla Bee" in str(ana.predict("kayla-ana", "medium", api_name="/start"))
        with pytest.raises(Exception, match="no persona with id 'kayla-ana'"):
            ben.predict("kayla-ana", "medium", api_name="/start")
        message, _ = tess.predict(variant("team-kayla", "Team Kayla"), False, api_name="/save_text")
        assert "everyone's practice gallery" in message
        assert "Team Kayla" in str(ben.predict("team-kayla", "medium", api_name="/start"))
    assert "Kayla Brennan" in BUNDLED.read_text(encoding="utf-8")

