"""Inline SVG charts (radar, trajectory, criteria over time) and progress: series, weakest criterion, what next."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from evals.charts import SVG_NS, criteria_over_time_chart, radar_chart, trajectory_chart
from evals.progress import (
    PRACTISED_BY,
    criterion_series,
    emphasis,
    history_from_store,
    practised_by,
    recent_overall,
    suggest_next,
    weakest_criterion,
)
from evals.rubric import CORE_CRITERIA, load_rubric
from simulator.behaviours import Behaviour
from simulator.persona.spec import Difficulty
from simulator.store.sessions import SessionSummary
from simulator.trajectory import TrajectoryPoint

NS = {"s": SVG_NS}
EVIL = "<script>alert(1)</script>"


def _parse(svg: str) -> ET.Element:
    """The chart as XML; also checks that it is self-contained (no URL but the SVG namespace)."""
    assert set(re.findall(r"https?://[^\s\"'<>]*", svg)) <= {SVG_NS}
    root = ET.fromstring(svg)
    assert root.tag == f"{{{SVG_NS}}}svg" and root.get("viewBox") and root.get("role") == "img"
    assert root.find("s:title", NS) is not None
    return root


def _classed(root: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in root.iter() if name in (el.get("class") or "").split()]


# -- radar ------------------------------------------------------------------------------------------------------

SCORES = {"adaptability": 3.2, "authenticity": 4.1, "empathy": 1.0, "active_listening": 5.0, "common_ground": 3.0,
          "positive_reinforcement": 4.5, "consistency": 3.6}


def test_radar_draws_one_polygon_per_series_at_the_right_radius() -> None:
    root = _parse(radar_chart(SCORES))
    polygons = root.findall(".//s:polygon", NS)
    assert len(polygons) == 1 and len(_classed(root, "marker")) == len(SCORES)
    points = [tuple(map(float, p.split(","))) for p in polygons[0].get("points").split()]
    _, _, width, height = map(float, root.get("viewBox").split())
    centre = (width / 2, height / 2)
    distance = {k: math.dist(centre, xy) for k, xy in zip(SCORES, points)}
    assert distance["active_listening"] == pytest.approx(5 * distance["empathy"], rel=0.02)
    assert points[0][1] < centre[1] and points[0][0] == pytest.approx(centre[0], abs=0.1)  # first axis points up


def test_radar_compare_is_a_dashed_second_polygon_with_a_legend() -> None:
    offline = {k: max(1.0, v - 1) for k, v in SCORES.items()}
    root = _parse(radar_chart(SCORES, compare=offline, names=("Judge", "Offline")))
    polygons = root.findall(".//s:polygon", NS)
    assert len(polygons) == 2 and polygons[1].get("stroke-dasharray") and not polygons[0].get("stroke-dasharray")
    legend = " ".join(t.text or "" for t in root.iter(f"{{{SVG_NS}}}text"))
    assert "Judge" in legend and "Offline" in legend
    assert len(_classed(root, "marker")) == 2 * len(SCORES)


def test_radar_escapes_labels_and_uses_given_names() -> None:
    svg = radar_chart({"empathy": 3.0, "custom": 4.0, "consistency": 2.0}, labels={"custom": EVIL})
    assert "<script" not in svg and "&lt;script&gt;" in svg
    texts = "".join(_parse(svg).itertext())
    assert EVIL in texts and "Empathy" in texts  # the default name: the id in words


def test_radar_without_scores_says_so() -> None:
    assert "No scores yet" in "".join(_parse(radar_chart({})).itertext())


# -- trajectory -------------------------------------------------------------------------------------------------


def _point(turn: int, trust: float, change: float, reason: str = "", unlocked: tuple[str, ...] = ()) -> TrajectoryPoint:
    return TrajectoryPoint(turn=turn, learner_text="", trust=trust, openness=trust - 5, engagement=50, mood="neutral",
                           trust_change=change, reasons=[reason] if reason else [], behaviours=[],
                           unlocked=list(unlocked))


POINTS = [_point(-1, 30, 0), _point(1, 32, 2), _point(3, 40, 8, "+8.0 trust: validated her worry"),
          _point(5, 28, -12, f"-12.0 trust: {EVIL}"), _point(7, 33, 5, "+5.0 trust: reflected"),
          _point(9, 37.5, 4.5, "+4.5 trust: asked openly", ("budget-cut",)), _point(11, 31.5, -6, "-6.0 trust: jargon")]


def test_trajectory_has_three_markers_per_point_and_links_each_turn() -> None:
    root = _parse(trajectory_chart(POINTS, link_prefix="run-1-turn-"))
    assert len(root.findall(".//s:polyline", NS)) == 3
    markers = _classed(root, "marker")
    assert len(markers) == 3 * len(POINTS)
    for name in ("trust", "openness", "engagement"):
        assert len([m for m in markers if name in m.get("class").split()]) == len(POINTS)
    links = root.findall(".//s:a", NS)
    assert [a.get("href") for a in links] == [f"#run-1-turn-{p.turn}" for p in POINTS[1:]]  # the start has no turn
    assert all(len([m for m in a.iter() if "marker" in (m.get("class") or "")]) == 3 for a in links)


def test_trajectory_without_prefix_has_no_links() -> None:
    root = _parse(trajectory_chart(POINTS))
    assert root.findall(".//s:a", NS) == [] and len(_classed(root, "marker")) == 3 * len(POINTS)


def test_trajectory_labels_the_biggest_trust_moves_with_their_reason() -> None:
    svg = trajectory_chart(POINTS)
    root = _parse(svg)
    moves = _classed(root, "move")
    labels = [m.find("s:text", NS).text for m in moves]
    # five turns moved trust by 4 or more; the four biggest are labelled, in turn order, with a real minus sign
    assert labels == ["T3 +8", "T5 \u221212", "T7 +5", "T11 \u22126"]
    assert moves[1].find("s:title", NS).text == f"turn 5: -12.0 trust: {EVIL}"
    assert "<script" not in svg


def test_trajectory_labels_moves_of_four_points_or_more() -> None:
    points = [_point(-1, 40, 0), _point(1, 44, 4, "+4.0 trust: reflected"), _point(3, 40.1, -3.9, "-3.9 trust: rushed")]
    assert [m.find("s:text", NS).text for m in _classed(_parse(trajectory_chart(points)), "move")] == ["T1 +4"]


def test_trajectory_marks_earned_items_with_a_key() -> None:
    root = _parse(trajectory_chart(POINTS))
    keys = _classed(root, "unlock")
    assert len(keys) == 1 and "budget-cut" in keys[0].find("s:title", NS).text
    assert "hidden item earned" in "".join(root.itertext())  # the legend explains the key
    assert "hidden item earned" not in "".join(_parse(trajectory_chart(POINTS[:3])).itertext())


def test_trajectory_with_only_the_start_or_nothing_still_renders() -> None:
    assert len(_classed(_parse(trajectory_chart(POINTS[:1])), "marker")) == 3
    assert "No turns yet" in "".join(_parse(trajectory_chart([])).itertext())


# -- criteria over time -----------------------------------------------------------------------------------------


def test_criteria_over_time_draws_a_line_per_criterion_and_labels_the_last_value() -> None:
    series = {"empathy": [("1 Mar", 2.0), ("2 Mar", 2.5), ("3 Mar", 3.25)],
              "custom": [("1 Mar", 4.0), ("3 Mar", 3.0)],  # missing a session: still lines up by label
              "overall": [("1 Mar", 3.0), ("2 Mar", 3.2), ("3 Mar", 3.1)]}
    svg = criteria_over_time_chart(series, labels={"custom": EVIL})
    root = _parse(svg)
    assert len(root.findall(".//s:polyline", NS)) == 3
    markers = _classed(root, "marker")
    assert len(markers) == 8
    assert sorted(t.text for t in _classed(root, "last")) == ["3.0", "3.1", "3.2"]  # 3.25 rounds half to even
    x = {m.find("s:title", NS).text: float(m.get("cx")) for m in markers}
    assert x[f"{EVIL} · 3 Mar: 3.0"] == x["Empathy · 3 Mar: 3.2"] > x["Empathy · 2 Mar: 2.5"]
    assert "<script" not in svg and EVIL in "".join(root.itertext())


def test_criteria_over_time_without_data_says_so() -> None:
    assert "No graded sessions yet" in "".join(_parse(criteria_over_time_chart({"empathy": []})).itertext())


# -- progress ---------------------------------------------------------------------------------------------------

START = datetime(2025, 3, 1, 9, tzinfo=UTC)


def _summary(n: int, persona: str = "procurement-skeptic", difficulty: str = "medium", day: int | None = None):
    at = START + timedelta(days=n if day is None else day, minutes=n)
    return SessionSummary(id=f"s{n}", learner_id="ana", persona_id=persona, persona_name=persona, difficulty=difficulty,
                          model="fake", started_at=at, updated_at=at, ended_at=at, end_reason=None, end_detail=None,
                          turns=8)


def _card(overall: float = 3.0, **scores: float) -> dict:
    return {"criteria": {k: {"score": scores.get(k, 3.5), "rationale": "", "evidence": []} for k in CORE_CRITERIA},
            "overall": overall, "strengths": [], "improvements": [], "flags": []}


def test_criterion_series_in_rubric_order_oldest_first_skipping_unscored() -> None:
    history = [(_summary(0), _card(2.5, empathy=2.0)), (_summary(1), {}),
               (_summary(2, day=1), _card(3.0, empathy=3.0)), (_summary(3, day=1), _card(3.5, empathy=4.0))]
    history[0][1]["criteria"]["sales_discovery"] = {"score": 2.0}
    series = criterion_series(history)
    assert list(series) == [*CORE_CRITERIA, "sales_discovery", "overall"]
    assert series["empathy"] == [("1 Mar", 2.0), ("2 Mar", 3.0), ("2 Mar #2", 4.0)]
    assert series["overall"] == [("1 Mar", 2.5), ("2 Mar", 3.0), ("2 Mar #2", 3.5)]
    assert series["sales_discovery"] == [("1 Mar", 2.0)]


def test_weakest_criterion_is_the_lowest_mean_over_the_window() -> None:
    old = [(_summary(i), _card(empathy=1.5, common_ground=3.0)) for i in range(4)]
    recent = [(_summary(4 + i), _card(empathy=4.0, common_ground=2.0 + i * 0.5)) for i in range(3)]  # 2.0, 2.5, 3.0
    history = old + recent
    assert weakest_criterion(history, window=3) == ("common_ground", pytest.approx(2.5))
    assert weakest_criterion(history, window=7)[0] == "empathy"  # (4*1.5 + 3*4) / 7 = 2.57 < common ground 2.71
    assert weakest_criterion([(_summary(0), _card(empathy=2.0, adaptability=2.0))]) == ("adaptability", 2.0)  # tie
    assert weakest_criterion([]) is None and weakest_criterion([(_summary(0), {})]) is None


def test_suggestion_picks_a_persona_whose_triggers_exercise_the_weakest_criterion(library) -> None:
    personas = [s.spec for s in library]
    history = [(_summary(i), _card(3.0, empathy=1.8)) for i in range(3)]
    suggestion = suggest_next(history, personas)
    chosen = library.get(suggestion.persona_id)
    assert suggestion.criterion == "empathy" and suggestion.persona_name == chosen.name
    heavy = [t for t in chosen.triggers.builds
             if t.behaviour in {Behaviour.VALIDATION, Behaviour.REFLECTION_COMPLEX} and t.weight >= 2]
    assert heavy
    best = max(emphasis(p, PRACTISED_BY["empathy"]) for p in personas)
    assert emphasis(chosen, PRACTISED_BY["empathy"]) >= 0.75 * best
    assert emphasis(library.get("price-focused-owner"), PRACTISED_BY["empathy"]) < 0.75 * best  # a poor choice exists
    assert "Empathy has been your weakest area (1.8 out of 5 over your last 3 graded sessions)" in suggestion.reason
    assert chosen.name in suggestion.reason


def test_suggestion_prefers_a_persona_practised_less_recently(library) -> None:
    personas = [s.spec for s in library]
    first = suggest_next([(_summary(0), _card(3.0, positive_reinforcement=1.5))], personas)
    assert any(t.behaviour is Behaviour.AFFIRMATION and t.weight >= 2 for t in library.get(first.persona_id).triggers.builds)
    again = [(_summary(0), _card(3.0, positive_reinforcement=1.5)),
             (_summary(1, persona=first.persona_id), _card(3.0, positive_reinforcement=1.6))]
    second = suggest_next(again, personas)
    assert second.criterion == "positive_reinforcement" and second.persona_id != first.persona_id
    assert any(t.behaviour is Behaviour.AFFIRMATION for t in library.get(second.persona_id).triggers.builds)


def test_suggestion_weighs_emphasis_before_recency(library) -> None:
    """Every persona but a poor match for empathy has been met: the strong match met longest ago wins, not the stranger."""
    personas = [s.spec for s in library]
    practised = PRACTISED_BY["empathy"]
    met = sorted((p for p in personas if p.id != "price-focused-owner"), key=lambda p: -emphasis(p, practised))
    history = [(_summary(i, persona=p.id), _card(3.0, empathy=1.8)) for i, p in enumerate(met)]  # strongest met first
    suggestion = suggest_next(history, personas)
    assert suggestion.persona_id == met[0].id


def test_the_easiest_start_is_the_most_trusting_on_easy(library) -> None:
    trusting = library.get("upset-parent").model_copy(deep=True)
    trusting.difficulty.easy.trust, trusting.difficulty.easy.openness = 70, 10
    suggestion = suggest_next([], [s.spec for s in library if s.spec.id != "upset-parent"] + [trusting])
    assert suggestion.persona_id == "upset-parent" and "trust 70 out of 100" in suggestion.reason


@pytest.mark.parametrize(("last", "overall", "expected"), [
    ("medium", 3.5, "hard"), ("medium", 4.2, "hard"), ("easy", 3.8, "medium"), ("hard", 4.5, "hard"),
    ("medium", 2.2, "easy"), ("hard", 1.5, "medium"), ("easy", 1.2, "easy"),
    ("medium", 3.0, "medium"), ("hard", 2.3, "hard"), ("easy", 3.4, "easy"),
])
def test_difficulty_steps_up_down_or_keeps(library, last: str, overall: float, expected: str) -> None:
    persona = library.get("procurement-skeptic")
    history = [(_summary(0, difficulty="easy"), _card(overall)),  # an older difficulty, superseded
               (_summary(1, difficulty=last), _card(overall, empathy=2.0))]
    suggestion = suggest_next(history, [persona])
    assert suggestion.difficulty == Difficulty(expected)
    assert recent_overall(history) == pytest.approx(overall)
    if expected != last:
        assert f"{overall:.1f} out of 5" in suggestion.reason and f"from the {last} you played last time" in suggestion.reason


def test_difficulty_for_a_persona_not_met_yet_steps_from_medium(library) -> None:
    history = [(_summary(0, persona="procurement-skeptic", difficulty="easy"), _card(4.0, empathy=3.0))]
    suggestion = suggest_next(history, [library.get("grieving-friend")])
    assert suggestion.difficulty is Difficulty.HARD and "last time" not in suggestion.reason


def test_no_history_suggests_the_easiest_start(library) -> None:
    personas = [s.spec for s in library]
    suggestion = suggest_next([], personas)
    chosen = library.get(suggestion.persona_id)
    assert suggestion.difficulty is Difficulty.EASY and suggestion.criterion is None
    assert chosen.difficulty.easy.trust == max(p.difficulty.easy.trust for p in personas)
    assert suggestion.reason.startswith("You have no practice sessions yet, so start gently")
    ungraded = suggest_next([(_summary(0), {})], personas)
    assert ungraded.persona_id == suggestion.persona_id and ungraded.reason.startswith("None of your sessions")


def test_custom_criteria_are_practised_through_their_offline_cues() -> None:
    rubric = load_rubric("sales-discovery")
    assert Behaviour.OPEN_QUESTION in practised_by("discovery_questions", rubric).builds
    assert Behaviour.PUSHING_AGENDA in practised_by("discovery_questions", rubric).breaks
    assert practised_by("discovery_questions").builds == ()  # without the rubric nothing is known about it


def test_history_from_store_is_oldest_first_with_the_latest_card(library) -> None:
    from simulator.models import ScriptedChatModel
    from simulator.session import Session
    from simulator.store import SessionStore
    from simulator.store.database import dispose_all

    store = SessionStore()
    try:
        ids = []
        for offset in (2, 0, 1):  # stored out of order
            session = Session(library.get("procurement-skeptic"), ScriptedChatModel(respond=lambda m: "Go on."))
            session.started_at = START + timedelta(days=offset)
            store.record(session, "ana")
            ids.append((offset, session.id))
        first = dict(ids)[0]
        store.save_scorecard(first, "offline", _card(2.0), learner_id="ana")
        store.save_scorecard(first, "judge", _card(3.0), learner_id="ana")
        history = history_from_store(store, "ana")
        assert [s.id for s, _ in history] == [sid for _, sid in sorted(ids)]
        assert history[0][1]["overall"] == 3.0 and history[1][1] == {} and history[2][1] == {}
        assert history_from_store(store, "someone-else") == []
    finally:
        dispose_all()
