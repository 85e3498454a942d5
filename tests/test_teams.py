"""Teams: cohorts, assignments, attempts, trainers' comments and overrides, scoped in the store by role and
membership (on SQLite and PostgreSQL), the cohort view's numbers, exports, the CLI, and the HTTP API."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from evals.cohort import Standing, concerns, export_csv, heatmap, override_agreement, progress_series, standings
from rapport.service import Practice
from simulator.errors import RapportError
from simulator.models import ScriptedChatModel
from simulator.roles import UserRole
from simulator.session import Session
from simulator.store import AssignmentSpec, PassBar, SessionStore, TeamError, TeamStore, Viewer
from simulator.store.database import dispose_all

from .test_cli import rapport
from .test_store import postgres_url  # noqa: F401 - the fixture, asked for by name

TESS = Viewer(name="tess", role=UserRole.TRAINER)
ZED = Viewer(name="zed", role=UserRole.TRAINER)  # trains another cohort
ANA = Viewer(name="ana", role=UserRole.LEARNER)
BEN = Viewer(name="ben", role=UserRole.LEARNER)
CARA = Viewer(name="cara", role=UserRole.LEARNER)  # in zed's cohort
ADMIN = Viewer(name="root", role=UserRole.ADMIN)
CRITERIA = ("empathy", "active_listening", "authenticity")


@pytest.fixture(params=["sqlite", "postgres"])
def teams(request, monkeypatch, tmp_path):
    if request.param == "postgres":
        monkeypatch.setenv("RAPPORT_DATABASE_URL", request.getfixturevalue("postgres_url"))
    store = TeamStore()
    yield store
    dispose_all()


def scored_session(store: SessionStore, library, learner: str, scores: dict[str, float], *,
                   persona: str = "grieving-friend", difficulty: str = "medium", success: bool = False,
                   counts_for=None) -> str:
    """A stored, ended session of `learner` with a scorecard carrying `scores` (and their mean as overall);
    `counts_for=(teams, assignment, viewer)` records it as an attempt when it starts, as the app does."""
    from simulator.record import EndReason, Ending

    session = Session(library.get(persona), ScriptedChatModel(respond=lambda m: "Go on."), difficulty=difficulty)
    store.record(session, learner)
    if counts_for is not None:
        teams, assignment, viewer = counts_for
        teams.record_attempt(assignment.id, session.id, viewer)
    list(session.send_sync("That sounds hard. What has it been like for you?"))
    session.ending = Ending(reason=EndReason.SUCCESS if success else EndReason.LEARNER_ENDED)
    store.save_ending(session, learner_id=learner)
    overall = sum(scores.values()) / len(scores)
    card = {"criteria": {k: {"score": v, "rationale": f"{k} read from the turns", "evidence": []}
                         for k, v in scores.items()}, "overall": overall}
    store.save_scorecard(session.id, "offline", card, learner_id=learner)
    return session.id


def attempt(teams: TeamStore, library, assignment, viewer: Viewer, scores: dict[str, float], **kwargs) -> str:
    """An attempt at `assignment` by `viewer`, ended and graded with `scores`."""
    return scored_session(teams.sessions, library, viewer.name, scores, persona=assignment.persona_id,
                          difficulty=assignment.difficulty.value, counts_for=(teams, assignment, viewer), **kwargs)


@pytest.fixture
def term(teams, library):
    """tess trains 'Nursing' (ana, ben) with one assignment; zed trains 'Sales' (cara)."""
    teams.create_cohort("Nursing", TESS)
    teams.add_members("Nursing", ["ana", "ben"], TESS)
    teams.create_cohort("Sales", ZED)
    teams.add_members("Sales", ["cara"], ZED)
    grief = teams.assign("Nursing", AssignmentSpec(title="Breaking bad news", persona_id="grieving-friend",
                                                   max_attempts=2, pass_bar=PassBar.parse("empathy>=3.5")), TESS)
    deal = teams.assign("Sales", AssignmentSpec(title="Discovery call", persona_id="procurement-skeptic"), ZED)
    return grief, deal


# -- scope, in the store --------------------------------------------------------------------------------------


def test_a_trainer_sees_only_the_cohorts_they_train(teams, term):
    grief, deal = term
    assert [c.name for c in teams.cohorts(TESS)] == ["Nursing"]
    assert [c.name for c in teams.cohorts(ADMIN)] == ["Nursing", "Sales"]
    for call in (lambda: teams.results("Sales", TESS), lambda: teams.cohort(deal.cohort_id, TESS),
                 lambda: teams.assignment(deal.id, TESS), lambda: teams.add_members("Sales", ["ana"], TESS),
                 lambda: teams.assign("Sales", AssignmentSpec(title="x", persona_id="procurement-skeptic"), TESS),
                 lambda: teams.overrides(TESS, cohort="Sales")):
        with pytest.raises(TeamError, match="no (cohort|assignment)"):
            call()
    assert [a.title for a in teams.assignments(TESS)] == ["Breaking bad news"]


def test_a_learner_reads_only_their_own_cohorts_assignments_and_no_cohort_view(teams, term):
    grief, deal = term
    assert [a.title for a in teams.assignments(ANA, as_learner=True)] == ["Breaking bad news"]
    assert [a.title for a in teams.assignments(CARA, as_learner=True)] == ["Discovery call"]
    assert teams.assignments(ANA) == [] and teams.cohorts(ANA) == []  # not as a trainer
    with pytest.raises(TeamError):
        teams.assignment(deal.id, ANA, as_learner=True)
    for cohort in ("Nursing", "Sales"):
        with pytest.raises(TeamError, match="no cohort"):
            teams.results(cohort, ANA)
    with pytest.raises(TeamError, match="only a trainer"):
        teams.create_cohort("Mine", ANA)


def test_sessions_are_read_by_their_learner_and_by_trainers_only_when_assigned(teams, term, library):
    grief, deal = term
    assigned = attempt(teams, library, grief, ANA, {"empathy": 3.0})
    private = scored_session(teams.sessions, library, "ana", {"empathy": 2.0})  # practice nobody assigned
    other = attempt(teams, library, deal, CARA, {"empathy": 4.0})
    assert teams.session_record(assigned, TESS).learner_id == "ana"
    assert teams.session_record(assigned, ANA).id == assigned
    for viewer, session_id in ((TESS, private), (TESS, other), (ZED, assigned), (BEN, assigned), (CARA, assigned),
                               (ANA, other)):
        with pytest.raises(TeamError, match="no session"):
            teams.session_record(session_id, viewer)
        with pytest.raises(TeamError, match="no session"):
            teams.comments(session_id, viewer)
    assert teams.session_record(other, ADMIN).id == other  # an admin reviews every cohort's attempts
    with pytest.raises(TeamError, match="no session"):
        teams.session_record(private, ADMIN)  # but a learner's own practice stays theirs, even from an admin


def test_only_the_cohort_s_trainer_comments_and_overrides_and_the_learner_reads_them(teams, term, library):
    grief, _ = term
    sid = attempt(teams, library, grief, ANA, {"empathy": 3.0, "active_listening": 2.5})
    teams.comment(sid, 1, "Here you named her feeling: keep doing that.", TESS)
    made = teams.override(sid, "empathy", 4.0, "She reflected the loss well; the coder missed it.", TESS)
    assert made.machine_score == 3.0 and made.score == 4.0
    for viewer in (ANA, BEN, ZED):  # not the learner themself, another learner, nor another cohort's trainer
        with pytest.raises(TeamError, match="no session"):
            teams.comment(sid, 1, "sneaky", viewer)
        with pytest.raises(TeamError, match="no session"):
            teams.override(sid, "empathy", 5, "sneaky", viewer)
    assert [c.text for c in teams.comments(sid, ANA)] == ["Here you named her feeling: keep doing that."]
    assert [o.score for o in teams.overrides(ANA, session_id=sid)] == [4.0]
    assert teams.reviewed(ANA) == {sid: (1, 1)} and teams.reviewed(BEN) == {}
    with pytest.raises(TeamError, match="no session"):
        teams.overrides(BEN, session_id=sid)
    assert teams.overrides(ZED) == [] and len(teams.overrides(TESS, cohort="Nursing")) == 1
    [tried] = teams.results("Nursing", TESS).attempts
    assert tried.machine["empathy"] == 3.0 and tried.scores["empathy"] == 4.0  # the override counts, the machine stays


def test_a_trainer_demoted_in_the_users_file_loses_the_cohort(teams, term):
    assert teams.cohorts(Viewer(name="tess", role=UserRole.LEARNER)) == []


def test_review_input_is_checked(teams, term, library):
    grief, _ = term
    sid = attempt(teams, library, grief, ANA, {"empathy": 3.0})
    for turn in (-1, 0, 2, 99, True):  # 0 and 2 are the persona's turns
        with pytest.raises(TeamError, match="no learner turn"):
            teams.comment(sid, turn, "x", TESS)
    with pytest.raises(TeamError, match="at most"):
        teams.comment(sid, 1, "x" * 5000, TESS)
    for score in (0, 6, float("nan"), float("inf"), "4"):
        with pytest.raises(TeamError, match="1 to 5"):
            teams.override(sid, "empathy", score, "why", TESS)
    with pytest.raises(TeamError, match="give a reason"):
        teams.override(sid, "empathy", 4, "  ", TESS)
    with pytest.raises(TeamError, match="no criterion 'overall'"):
        teams.override(sid, "overall", 4, "why", TESS)
    with pytest.raises(TeamError, match="no criterion 'empahty'"):
        teams.override(sid, "empahty", 4, "why", TESS)
    for hostile in ("%", "a" * 40, "' OR 1=1 --"):
        with pytest.raises(RapportError):
            teams.session_record(hostile, TESS)
        with pytest.raises(RapportError):
            teams.results(hostile, TESS)


# -- attempts ------------------------------------------------------------------------------------------------------


def test_attempts_are_counted_and_must_match_the_assignment(teams, term, library):
    grief, deal = term
    wrong = scored_session(teams.sessions, library, "ana", {"empathy": 3.0}, difficulty="hard")
    with pytest.raises(TeamError, match="practised with grieving-friend on medium"):
        teams.record_attempt(grief.id, wrong, ANA)
    theirs = scored_session(teams.sessions, library, "ben", {"empathy": 3.0})
    with pytest.raises(TeamError, match="no stored session"):
        teams.record_attempt(grief.id, theirs, ANA)
    with pytest.raises(TeamError, match="no assignment"):
        teams.record_attempt(deal.id, wrong, ANA)  # not ana's cohort
    with pytest.raises(TeamError, match="was not started for"):  # her own practice, already under way
        teams.record_attempt(grief.id, scored_session(teams.sessions, library, "ana", {"empathy": 3.0}), ANA)
    first = attempt(teams, library, grief, ANA, {"empathy": 3.0})
    with pytest.raises(TeamError, match="already counts"):
        teams.record_attempt(grief.id, first, ANA)
    attempt(teams, library, grief, ANA, {"empathy": 3.2})
    with pytest.raises(TeamError, match="used all 2 attempt"):
        attempt(teams, library, grief, ANA, {"empathy": 3.2})
    with pytest.raises(TeamError, match="used all 2"):
        teams.check_attempt(grief.id, ANA)
    assert teams.attempts_left(grief, BEN) == 2


def test_practice_starts_an_attempt_with_the_assigned_difficulty_and_refuses_one_too_many(teams, term, library):
    grief, _ = term
    practice = Practice(store=teams.sessions)
    model = ScriptedChatModel(respond=lambda m: "I appreciate you asking.")
    runs = [practice.start(library.get("grieving-friend"), model, learner="ana", difficulty="hard",
                           assignment=grief.id, viewer=ANA) for _ in range(2)]
    assert all(r.session.difficulty.value == "medium" for r in runs)  # the assignment's, not the one asked for
    with pytest.raises(RapportError, match="used all 2"):
        practice.start(library.get("grieving-friend"), model, learner="ana", assignment=grief.id, viewer=ANA)
    with pytest.raises(RapportError, match="practised with grieving-friend"):
        practice.start(library.get("procurement-skeptic"), model, learner="ben", assignment=grief.id, viewer=BEN)
    assert len(teams.sessions.list(learner_id="ana")) == 2 and teams.sessions.list(learner_id="ben") == []
    # the real grading path: the ended attempt shows in the cohort view with offline scores
    session = runs[0].session
    list(session.send_sync("I'm so sorry about your dad. How are you holding up?"))
    session.end()
    asyncio.run(practice.finish(runs[0]))
    results = teams.results("Nursing", TESS)
    cells = heatmap(results)
    assert cells["ana"]["empathy"].latest_session == session.id and 1 <= cells["ana"]["empathy"].latest <= 5
    assert cells["ben"] == {}


def test_deleting_a_session_removes_its_attempt_comments_and_overrides(teams, term, library):
    grief, _ = term
    sid = attempt(teams, library, grief, ANA, {"empathy": 3.0})
    teams.comment(sid, 1, "note", TESS)
    teams.override(sid, "empathy", 4, "why", TESS)
    teams.sessions.delete(sid, learner_id="ana")
    assert teams.results("Nursing", TESS).attempts == [] and teams.reviewed(ANA) == {}


# -- the cohort view's numbers --------------------------------------------------------------------------------------


def test_heatmap_standings_and_who_needs_attention(teams, term, library):
    grief, _ = term
    teams.add_members("Nursing", ["dev"], TESS)
    now = datetime.now(UTC)
    # ana: 3.0 then 4.0 (passes the bar empathy >= 3.5); ben: two graded attempts, both below the bar
    attempt(teams, library, grief, ANA, {"empathy": 3.0, "active_listening": 4.5})
    passing = attempt(teams, library, grief, ANA, {"empathy": 4.0, "active_listening": 3.5})
    attempt(teams, library, grief, BEN, {"empathy": 2.0, "active_listening": 2.0})
    last = attempt(teams, library, grief, BEN, {"empathy": 3.0, "active_listening": 2.0})
    results = teams.results("Nursing", TESS)
    cells = heatmap(results)
    assert (cells["ana"]["empathy"].latest, cells["ana"]["empathy"].best) == (4.0, 4.0)
    assert (cells["ana"]["active_listening"].latest, cells["ana"]["active_listening"].best) == (3.5, 4.5)
    assert cells["ana"]["active_listening"].best_session != passing and cells["dev"] == {}
    by = {(s.learner, s.standing) for s in standings(results, now)}
    assert by == {("ana", Standing.PASSED), ("ben", Standing.NOT_PASSED), ("dev", Standing.DUE)}
    [worry] = concerns(results, now)
    assert worry.learner == "ben" and "used all 2 attempt(s)" in worry.reason and worry.session_id == last
    # an override lifts ben over the bar: he passes and needs no attention any more
    teams.override(last, "empathy", 3.5, "Good acknowledgement at turn 1.", TESS)
    results = teams.results("Nursing", TESS)
    assert ("ben", Standing.PASSED) in {(s.learner, s.standing) for s in standings(results, now)}
    assert concerns(results, now) == []
    assert [v for _, v in progress_series(results)["empathy"]] == [3.12]  # one day: the mean of four attempts


def test_missed_due_dates_and_falling_scores_need_attention(teams, library):
    teams.create_cohort("Sales team", TESS)
    teams.add_members("Sales team", ["ana", "ben"], TESS)
    late = teams.assign("Sales team", AssignmentSpec(title="Old one", persona_id="procurement-skeptic",
                                                     due_at=datetime.now(UTC) - timedelta(days=1)), TESS)
    now = teams.assign("Sales team", AssignmentSpec(title="Open", persona_id="grieving-friend", max_attempts=5), TESS)
    for score in (4.5, 3.8, 3.0):
        attempt(teams, library, now, ANA, {"empathy": score})
    attempt(teams, library, late, BEN, {"empathy": 4.0})
    strict = teams.assign("Sales team", AssignmentSpec(title="Strict", persona_id="grieving-friend",
                                                       pass_bar=PassBar.parse("empathy>=4.5"),
                                                       due_at=datetime.now(UTC) - timedelta(hours=1)), TESS)
    attempt(teams, library, strict, BEN, {"empathy": 3.0})  # finished, but below the bar, and the date has gone
    found = {(c.learner, c.reason) for c in concerns(teams.results("Sales team", TESS), datetime.now(UTC))}
    assert {(who, why.split(" ")[0]) for who, why in found} == {("ana", "missed"), ("ana", "scores"), ("ben", "missed")}
    assert any(who == "ben" and why.endswith("not passed") for who, why in found)
    assert any(who == "ana" and "Strict" in why and why.endswith("no attempt finished") for who, why in found)


def test_an_override_counts_for_an_overall_bar(teams, library):
    from evals.cohort import counted, passed
    from evals.rubric import load_rubric

    teams.create_cohort("Bar", TESS)
    teams.add_members("Bar", ["ana"], TESS)
    bar = teams.assign("Bar", AssignmentSpec(title="Overall", persona_id="grieving-friend",
                                             pass_bar=PassBar.parse("overall>=3.5")), TESS)
    sid = attempt(teams, library, bar, ANA, {"empathy": 3.0, "active_listening": 3.0})
    for name in ("empathy", "active_listening"):
        teams.override(sid, name, 5.0, "Both were excellent.", TESS)
    [raw] = teams.results("Bar", TESS).attempts
    assert raw.scores["overall"] == 3.0 and not passed(bar, raw)
    [moved] = counted(teams.results("Bar", TESS), lambda persona: load_rubric("default")).attempts
    assert moved.scores["overall"] == 5.0 and moved.machine["overall"] == 3.0 and passed(bar, moved)


def test_co_trainers_cannot_take_each_other_s_cohort_by_accident(teams, term):
    teams.add_members("Nursing", ["zed"], TESS, role="trainer")
    with pytest.raises(TeamError, match="zed trains Nursing"):
        teams.add_members("Nursing", ["zed"], TESS)  # typed into "learners to add"
    teams.remove_member("Nursing", "tess", ZED)
    with pytest.raises(TeamError, match="only trainer"):
        teams.remove_member("Nursing", "zed", ZED)
    assert [c.name for c in teams.cohorts(ZED)] == ["Nursing", "Sales"]


def test_pass_bar_parsing_and_the_goal():
    bar = PassBar.parse("Empathy >= 3.5; overall≥3", goal=True)
    assert bar.criteria == {"empathy": 3.5} and bar.overall == 3
    assert not bar.passes({"empathy": 4, "overall": 4}, "learner_ended")
    assert bar.passes({"empathy": 4, "overall": 4}, "success")
    assert not bar.passes({"overall": 4}, "success")  # a criterion the card lacks is not met
    for bad in ("empathy 3", "empathy>=9", "x>=1, ,=2"):
        with pytest.raises(TeamError):
            PassBar.parse(bad)


def test_exports_keep_the_machine_score_beside_the_trainer_s_and_neutralise_formulas(teams, term, library):
    grief, _ = term
    teams.add_members("Nursing", ["=HYPERLINK(1)"], TESS)
    sid = attempt(teams, library, grief, ANA, {"empathy": 3.0})
    teams.override(sid, "empathy", 4.0, "why", TESS)
    text = export_csv(teams.results("Nursing", TESS))
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert (row["empathy"], row["empathy_machine"], row["passed"], row["overridden"]) == ("4.0", "3.0", "True", "empathy")
    assert export_csv(teams.results("Sales", ZED)).startswith("cohort,assignment,")  # the header, with no attempts
    assert [r.criterion for r in override_agreement(teams.overrides(TESS, latest=True))] == ["empathy", "all"]


# -- the CLI --------------------------------------------------------------------------------------------------------


def test_a_trainer_scripts_a_term_from_the_cli(library, tmp_path):
    assert rapport("cohorts", "create", "Spring 27", "--trainer", "tess").returncode == 0
    assert rapport("cohorts", "add", "Spring 27", "ana", "ben").returncode == 0
    made = rapport("assign", "Spring 27", "grieving-friend", "--title", "Bad news", "--bar", "empathy>=3.5",
                   "--due", "2030-01-31", "--attempts", "2", "--goal")
    assert made.returncode == 0, made.stderr
    assignment_id = made.stdout.strip().splitlines()[-1]
    listed = rapport("cohorts", "list")
    assert "Spring 27" in listed.stdout and "tess" in listed.stdout
    shown = rapport("cohorts", "show", "Spring 27")
    assert "Bad news" in shown.stdout and "empathy ≥ 3.5, goal reached" in shown.stdout and "ana" in shown.stdout
    # a learner's attempt, graded, then exported three ways
    teams = TeamStore()
    sid = attempt(teams, library, teams.assignment(assignment_id, ANA, as_learner=True), ANA, {"empathy": 4.0},
                  success=True)
    as_csv = rapport("cohorts", "export", "Spring 27")
    [row] = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert row["learner"] == "ana" and row["passed"] == "True" and row["session_id"] == sid
    as_json = json.loads(rapport("cohorts", "export", "Spring 27", "--format", "json").stdout)
    assert {s["learner"]: s["standing"] for s in as_json["standings"]} == {"ana": "passed", "ben": "due"}
    zipped = tmp_path / "t.zip"
    assert rapport("cohorts", "export", "Spring 27", "--transcripts", assignment_id[:8], "-o", str(zipped)).returncode == 0
    names = zipfile.ZipFile(zipped).namelist()
    assert "index.csv" in names and any(n.startswith("ana-") and n.endswith(".txt") for n in names)
    assert any(n.endswith(".json") for n in names)
    withdrawn = rapport("cohorts", "unassign", "Spring 27", assignment_id[:8])
    assert withdrawn.returncode == 0 and "withdrew Bad news" in withdrawn.stderr
    assert "Bad news" not in rapport("cohorts", "show", "Spring 27").stdout
    assert teams.session_record(sid, ANA).id == sid  # her session stays hers
    # bad input: one line each
    for args, message in ((("assign", "Spring 27", "grieving-friend", "--bar", "empahty>=3"), "not graded on"),
                          (("assign", "Spring 27", "nobody-here"), "nobody-here"),
                          (("assign", "Spring 27", "grieving-friend", "--due", "31/01/2030"), "YYYY-MM-DD"),
                          (("cohorts", "show", "Autumn"), "no cohort 'Autumn'"),
                          (("cohorts", "create", "Spring 27"), "already exists"),
                          (("cohorts", "create", "$(rm -rf)"), "not allowed")):
        result = rapport(*args)
        assert result.returncode == 1 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1, (
            args, result.stderr)


def test_calibrate_overrides_reports_agreement_with_the_cohort_s_trainers(teams, term, library):
    grief, _ = term
    for viewer, machine, trainer in ((ANA, 3.0, 4.0), (ANA, 2.0, 2.5), (BEN, 4.0, 4.0), (BEN, 3.5, 2.0)):
        sid = attempt(teams, library, grief, viewer, {"empathy": machine})
        teams.override(sid, "empathy", trainer, "trainer's reading", TESS)
    result = rapport("calibrate", "--overrides", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["criterion"]: r for r in json.loads(result.stdout)}
    assert rows["empathy"]["n"] == 4 and rows["empathy"]["mean_absolute_difference"] == 0.75
    assert rows["empathy"]["bias"] == 0.0
    assert rows["empathy"]["within_half_point"] == 0.5
    assert rapport("calibrate", "--overrides", "--cohort", "Sales").stdout == ""  # none in zed's cohort


def test_the_users_file_is_checked_when_logins_are_on(tmp_path, monkeypatch):
    from rapport.ui import auth

    monkeypatch.setattr(auth, "ITERATIONS", 1000)
    users = tmp_path / "users.toml"
    auth.write_user(users, "tess", "pw", UserRole.TRAINER)
    auth.write_user(users, "ana", "pw")
    monkeypatch.setenv("RAPPORT_AUTH", str(users))
    result = rapport("cohorts", "create", "Team", "--trainer", "ana")
    assert result.returncode == 1 and "must be a trainer" in result.stderr
    assert rapport("cohorts", "create", "Team", "--trainer", "tess").returncode == 0
    result = rapport("cohorts", "add", "Team", "anna")
    assert result.returncode == 1 and "no user 'anna'" in result.stderr


# -- through the HTTP API, logged in ----------------------------------------------------------------------------------


def test_over_http_nobody_reads_a_cohort_they_do_not_train(library, tmp_path, monkeypatch):
    from gradio_client import Client

    from rapport.ui import auth, build_app

    from .browser_support import served
    from .test_ui_browser import fake_persona_model

    monkeypatch.setattr(auth, "ITERATIONS", 1000)
    users = tmp_path / "users.toml"
    for name, role in (("tess", UserRole.TRAINER), ("zed", UserRole.TRAINER), ("ana", UserRole.LEARNER),
                       ("cara", UserRole.LEARNER)):
        auth.write_user(users, name, f"{name}-pw", role)
    monkeypatch.setenv("RAPPORT_AUTH", str(users))
    teams = TeamStore()
    nursing = teams.create_cohort("Nursing", TESS)
    teams.add_members("Nursing", ["ana"], TESS)
    grief = teams.assign("Nursing", AssignmentSpec(title="Bad news", persona_id="grieving-friend",
                                                   pass_bar=PassBar.parse("empathy>=3.5")), TESS)
    sid = attempt(teams, library, grief, ANA, {"empathy": 3.0})
    with served(build_app(library, fake_persona_model())) as url:
        tess, zed, ana, cara = (Client(url, auth=(n, f"{n}-pw"), verbose=False) for n in ("tess", "zed", "ana", "cara"))
        view = tess.predict(nursing.id, "", api_name="/cohort_view")
        assert 'data-session="' + sid in view[1] and "3.0" in view[1]
        review = tess.predict(sid, api_name="/review")
        assert "ana with Ben Adeyemi" in review[0] and "Scorecard" in review[0]  # (the session id is server state)
        for client in (zed, ana, cara):
            with pytest.raises(Exception, match="no cohort"):
                client.predict(nursing.id, "", api_name="/cohort_view")
            with pytest.raises(Exception, match="no cohort"):
                client.predict(nursing.id, api_name="/export_cohort")
        for client in (zed, cara):
            with pytest.raises(Exception, match="no session"):
                client.predict(sid, api_name="/review")
        assert "ana with" in ana.predict(sid, api_name="/review")[0]  # her own session, read back
        with pytest.raises(Exception, match="no session"):
            ana.predict(1, "sneaky", "empathy", api_name="/comment")  # but she cannot review it
        with pytest.raises(Exception, match="only a trainer"):
            ana.predict("Mine", api_name="/create_cohort")
        # the trainer's comment reaches the learner; she starts the assignment from the Practice tab's API
        tess.predict(sid, api_name="/review")
        tess.predict(1, "You named her loss here: keep that.", "empathy", api_name="/comment")
        assert [c.text for c in teams.comments(sid, ANA)] == ["You named her loss here: keep that."]
        ana.predict(grief.id, api_name="/start_assignment")
        with pytest.raises(Exception, match="no assignment"):
            cara.predict(grief.id, api_name="/start_assignment")
    assert teams.results("Nursing", TESS).attempts[1].learner_id == "ana"


def test_a_database_from_before_teams_is_upgraded_in_place(tmp_path, library):
    from .test_store import old_database

    url = old_database(tmp_path / "old.db", "0002", library.get("grieving-friend"))
    assert SessionStore(url).load_record("s1", learner_id="ana").persona.id == "grieving-friend"
    teams = TeamStore(url)
    teams.create_cohort("After upgrade", TESS)
    teams.add_members("After upgrade", ["ana"], TESS)
    made = teams.assign("After upgrade", AssignmentSpec(title="New", persona_id="grieving-friend"), TESS)
    with pytest.raises(TeamError, match="was not started for"):
        teams.record_attempt(made.id, "s1", ANA)  # practice from before the assignment does not count
    sid = attempt(teams, library, made, ANA, {"empathy": 3.0})
    assert [a.session_id for a in teams.results("After upgrade", TESS).attempts] == [sid]
    dispose_all()


def test_below_the_bar_after_two_attempts_with_attempts_left_needs_attention(teams, library):
    teams.create_cohort("Retry", TESS)
    teams.add_members("Retry", ["ana"], TESS)
    hard = teams.assign("Retry", AssignmentSpec(title="Hard one", persona_id="grieving-friend", max_attempts=4,
                                                pass_bar=PassBar.parse("empathy>=4")), TESS)
    attempt(teams, library, hard, ANA, {"empathy": 3.0})
    assert concerns(teams.results("Retry", TESS), datetime.now(UTC)) == []  # one try is not a pattern yet
    attempt(teams, library, hard, ANA, {"empathy": 3.5})
    results = teams.results("Retry", TESS)
    [worry] = concerns(results, datetime.now(UTC))
    assert "below the bar of 'Hard one' after 2 attempts (empathy ≥ 4)" in worry.reason
    assert [(s.standing, s.left) for s in standings(results, datetime.now(UTC))] == [(Standing.DONE, 2)]


# -- an assessed attempt is a record ------------------------------------------------------------------------------


def test_an_assessed_attempt_cannot_be_rewound_even_when_reopened_after_it_ended(teams, term, library):
    from simulator.errors import SessionError

    grief, _ = term
    practice = Practice(store=teams.sessions)
    model = ScriptedChatModel(respond=lambda m: "I appreciate you asking.")
    run = practice.start(library.get("grieving-friend"), model, learner="ana", assignment=grief.id, viewer=ANA)
    assert run.assignment.id == grief.id and run.session.assessed
    list(run.session.send_sync("Get over it."))
    for rewind in (run.session.undo, run.session.restart):
        with pytest.raises(SessionError, match="assessed attempt"):
            rewind()
    with pytest.raises(RapportError, match="never removed"):  # the store keeps it whoever asks
        teams.sessions.truncate(run.session, 1, learner_id="ana")
    resumed = practice.resume(run.session.id[:10], model, learner="ana")
    assert resumed.session.assessed and resumed.assignment.id == grief.id and practice.is_attempt(run.session.id[:10], "ana")
    assert [t.text for t in teams.session_record(run.session.id, TESS).turns][1] == "Get over it."
    run.session.end()
    asyncio.run(practice.finish(run))
    ended_at = teams.sessions.summary(run.session.id, learner_id="ana").ended_at
    reopened = practice.resume(run.session.id, model, learner="ana").session
    assert teams.sessions.summary(run.session.id, learner_id="ana").ended_at == ended_at  # not rewritten by reopening
    with pytest.raises(SessionError, match="assessed attempt"):
        reopened.restart()  # and an ended attempt cannot be played again
    own = practice.start(library.get("grieving-friend"), model, learner="ana")
    assert not own.session.assessed and not practice.is_attempt(own.session.id, "ana")
    list(own.session.send_sync("Hello."))
    assert own.session.undo()  # the learner's own practice rewinds as before


def test_an_attempt_recalls_earlier_attempts_only_never_private_practice(teams, term, library):
    from simulator.store.tables import memories

    grief, _ = term
    private = scored_session(teams.sessions, library, "ana", {"empathy": 3.0})
    first = attempt(teams, library, grief, ANA, {"empathy": 3.0})
    with teams.engine.begin() as db:
        for sid, text in ((private, "ana said she lost her own father last spring"), (first, "ana promised to call")):
            db.execute(memories.insert().values(id=f"m-{sid[:8]}", learner_id="ana", persona_id="grieving-friend",
                                                session_id=sid, kind="commitment", text=text,
                                                created_at=datetime.now(UTC)))
    run = Practice(store=teams.sessions).start(library.get("grieving-friend"), ScriptedChatModel(respond=lambda m: "Hm."),
                                              learner="ana", assignment=grief.id, viewer=ANA)
    assert [m.text for m in run.recall.items] == ["ana promised to call"]
    own = Practice(store=teams.sessions).start(library.get("grieving-friend"), ScriptedChatModel(), learner="ana")
    assert len(own.recall.items) == 2  # her own practice remembers everything, as before


def test_a_cohort_cannot_be_named_after_another_cohort_s_id(teams, term):
    grief, _ = term
    with pytest.raises(TeamError, match="looks like a cohort id"):
        teams.create_cohort(grief.cohort_id, ZED)
    assert teams.cohort(grief.cohort_id, TESS).name == "Nursing"


def test_error_toasts_show_titles_as_written():
    from rapport.ui.chat_view import refusal

    shown = str(refusal("you have used all 1 attempt(s) at '<img src=\"http://evil.example/x.png\">'"))
    assert "<img" not in shown and "&lt;img" in shown


def test_an_assignment_is_played_and_graded_by_the_server_s_models_whatever_settings_chose(teams, term, library):
    from types import SimpleNamespace

    from rapport.ui import build_app
    from simulator.config import ModelSpec

    from .test_ui_browser import fake_persona_model

    grief, _ = term
    demo = build_app(library, fake_persona_model())
    [begin] = [f.fn for f in demo.fns.values() if f.fn is not None and f.fn.__name__ == "begin"]
    chosen = ModelSpec(provider="fake", model="learner-picked")
    session = begin(grief.id, chosen, "offline", False, SimpleNamespace(username="ana"))[0]
    run = demo.context.practice.run_of(session)
    assert run.assignment.id == grief.id and run.judge_choice is None
    assert session.model is demo.context.persona_model.model


def test_downloads_and_gradio_s_file_cache_are_private_and_swept(monkeypatch):
    import os
    from pathlib import Path

    from rapport.ui import downloads

    from simulator.settings import settings

    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    downloads.private_gradio_cache()
    cache = Path(settings().gradio_temp_dir)
    assert cache.is_dir() and cache.stat().st_mode & 0o777 == 0o700  # not /tmp/gradio, readable by all
    monkeypatch.setattr(downloads, "_root", None)
    old = downloads.download_folder("export-")
    os.utime(old, (0, 0))  # written long ago
    new = downloads.download_folder("export-")
    assert not old.exists() and new.is_dir() and new.stat().st_mode & 0o777 == 0o700
    import shutil

    shutil.rmtree(new.parent)  # a /tmp cleaner took the whole folder
    assert downloads.download_folder("session-").is_dir()


def test_the_terminal_chat_keeps_a_resumed_attempt_as_it_stands(library):
    teams = TeamStore()
    teams.create_cohort("Terminal", TESS)
    teams.add_members("Terminal", ["ana"], TESS)
    grief = teams.assign("Terminal", AssignmentSpec(title="Bad news", persona_id="grieving-friend"), TESS)
    run = Practice(store=teams.sessions).start(library.get("grieving-friend"), ScriptedChatModel(respond=lambda m: "Hm."),
                                               learner="ana", assignment=grief.id, viewer=ANA)
    list(run.session.send_sync("Get over it."))
    dispose_all()
    result = rapport("chat", "--resume", run.session.id[:12], input="/undo\n/restart\nI'm sorry. That was unkind.\n/end\n",
                     RAPPORT_PERSONA_MODEL="fake", RAPPORT_LEARNER="ana")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("this is an assessed attempt") == 2
    learner_turns = [t.text for t in teams.session_record(run.session.id, TESS).turns if t.speaker.value == "learner"]
    assert learner_turns == ["Get over it.", "I'm sorry. That was unkind."]


def test_a_second_tab_on_an_attempt_cannot_replace_what_the_first_stored(teams, term, library):
    grief, _ = term
    practice = Practice(store=teams.sessions)
    model = ScriptedChatModel(respond=lambda m: "Hm.")
    first = practice.start(library.get("grieving-friend"), model, learner="ana", assignment=grief.id, viewer=ANA)
    second = practice.resume(first.session.id, model, learner="ana")  # another tab, opened before the first spoke
    list(first.session.send_sync("Get over it."))
    with pytest.raises(RapportError, match="went on elsewhere"):
        list(second.session.send_sync("I'm so sorry."))
    learner_turns = [t.text for t in teams.session_record(first.session.id, TESS).turns if t.speaker.value == "learner"]
    assert learner_turns == ["Get over it."]
    with pytest.raises(RapportError, match="never replaced"):
        teams.sessions.import_(teams.sessions.export(first.session.id, learner_id="ana"), learner_id="ana", replace=True)
