"""The scorecard after a session: radar, criteria with evidence that jumps to the turn, trajectory, rewrites."""

from __future__ import annotations

import json
from html import escape

from evals.charts import criterion_label, key_icon_svg, radar_chart, trajectory_chart
from evals.delivery import DeliveryReport, delivery_report
from evals.grading import Graded
from evals.scorecard import Scorecard
from simulator.record import SessionRecord
from simulator.transcript import Speaker

from .downloads import download_folder

NAMES = {
    "adaptability": "Adaptability", "authenticity": "Authenticity", "empathy": "Empathy",
    "active_listening": "Active listening", "common_ground": "Common ground",
    "positive_reinforcement": "Positive reinforcement", "consistency": "Consistency",
}
TURN_ID = "sc-turn-"


def criterion_name(key: str) -> str:
    return NAMES.get(key, criterion_label(key))


def _criteria_html(card: Scorecard) -> str:
    rows = []
    for key, score in card.criteria.items():
        spread = f" ± {score.spread:.1f}" if score.spread else ""
        quotes = "".join(
            f'<li><a href="#{TURN_ID}{e.turn}" class="evidence">turn {e.turn}</a>: “{escape(e.quote)}”</li>'
            for e in score.evidence
        )
        rows.append(f'<div class="criterion"><div class="criterion-head"><b>{escape(criterion_name(key))}</b>'
                    f'<span class="score">{score.score:.1f}{spread}</span></div><p>{escape(score.rationale)}</p>'
                    f'{f"<ul>{quotes}</ul>" if quotes else ""}</div>')
    return "".join(rows)


def transcript_html(session: SessionRecord) -> str:
    trust = {p.turn: p for p in session.trajectory_points()[1:]}
    items = []
    for index, turn in enumerate(session.turns):
        who = session.persona.short_name if turn.speaker is Speaker.PERSONA else "You"
        point = trust.get(index)
        note = f' <span class="turn-trust">trust {point.trust:.0f} ({point.trust_change:+.0f})</span>' if point else ""
        if turn.delivery is not None and turn.delivery.words_per_minute:
            note += f' <span class="turn-trust">🎙 {turn.delivery.words_per_minute:.0f} words/min</span>'
        items.append(f'<li id="{TURN_ID}{index}" class="turn {turn.speaker.value}"><span class="turn-n">{index}</span>'
                     f'<b>{escape(who)}:</b> {escape(turn.text)}{note}</li>')
    return f'<ol class="sc-transcript">{"".join(items)}</ol>'


def review_html(comments: list, overrides: list, verdict: str | None = None) -> str:
    """An assigned attempt's standing against its bar (`verdict`), and a trainer's review of a session: the scores
    they set (beside the machine's, with why) and their comments on turns (linked to the transcript). Empty when
    there is none of these."""
    if not comments and not overrides and not verdict:
        return ""
    parts = ['<div class="sc-review" id="sc-review">']
    if verdict:
        parts.append(f'<p class="sc-verdict"><b>{escape(verdict)}</b></p>')
    if comments or overrides:
        parts.append("<h3>Trainer's review</h3>")
    if overrides:
        standing = {o.criterion: o for o in overrides}  # the newest per criterion stands
        parts.append("<ul>" + "".join(
            f'<li class="override"><b>{escape(criterion_name(o.criterion))}: {o.score:.1f}</b>'
            + (f" (machine {o.machine_score:.1f})" if o.machine_score is not None else "")
            + f" — {escape(o.reason)} <small>({escape(o.author)}, {o.created_at:%Y-%m-%d})</small></li>"
            for o in standing.values()) + "</ul>")
    if comments:
        parts.append('<ul class="sc-comments">' + "".join(
            f'<li class="comment"><a href="#{TURN_ID}{c.turn}">turn {c.turn}</a>: {escape(c.text)} '
            f"<small>({escape(c.author)}, {c.created_at:%Y-%m-%d})</small></li>" for c in comments) + "</ul>")
    return "".join(parts) + "</div>"


def _turn_links(turns: list[int]) -> str:
    return ", ".join(f'<a href="#{TURN_ID}{t}">turn {t}</a>' for t in turns)


def delivery_html(report: DeliveryReport | None) -> str:
    """The delivery section of a voice session (empty for a typed one)."""
    if report is None:
        return ""
    rate = f"{report.words_per_minute:.0f}" if report.words_per_minute else "–"
    pause = f"{report.pause_before:.1f} s" if report.pause_before is not None else "–"
    stats = [
        ("Your pace", f"{rate} words/min (theirs: {report.persona_words_per_minute:.0f})"),
        ("Turns at their pace", f"{report.pace_matched:.0%}"),
        ("Pause before answering", f"{pause} (median)"),
        ("Filler words", f"{report.fillers} ({report.fillers_per_100_words:.1f} per 100 words)"),
        ("Your share of talk time", f"{report.talk_share:.0%}"),
        ("Started before they finished", str(report.interruptions)),
        ("Monotone turns", str(report.monotone_turns)),
        ("Loudness variation", f"{report.loudness_spread_db:.1f} dB (median within a turn)"
         if report.loudness_spread_db is not None else "–"),
    ]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in stats)
    findings = "".join(f"<li>{escape(text)}: {_turn_links(turns)}</li>" for text, turns in report.findings)
    trend = "".join(f"<li>{escape(t)}</li>" for t in report.trend)
    return (f'<div id="sc-delivery"><h3>Delivery <small>({report.spoken_turns} spoken turn(s))</small></h3>'
            f'<table class="sc-delivery">{table}</table>'
            + (f"<ul>{findings}</ul>" if findings else "")
            + (f"<p><b>Across the session</b></p><ul>{trend}</ul>" if trend else "") + "</div>")


_BY_MODEL = ' <small class="sc-by-model">(written by the local model)</small>'


def scorecard_html(session: SessionRecord, graded: Graded) -> str:
    """Everything the learner sees after ending a session, as one self-contained HTML block."""
    card, offline = graded.scorecard, graded.offline
    judged = card is not offline
    scores = {k: v.score for k, v in card.criteria.items()}
    radar = radar_chart(scores, labels=NAMES, compare={k: v.score for k, v in offline.criteria.items()} if judged else None,
                        names=("Judge model", "Offline coder") if judged else ("Offline coder", ""))
    items = {i.id: i.content for i in session.persona.hidden_information}
    earned = [items[i] for i in session.unlocked]
    improvements = "".join(
        f'<li><a href="#{TURN_ID}{i.turn}">turn {i.turn}</a>: you said “{escape(i.original)}”'
        f'<br><b>Try:</b> “{escape(i.better)}”{_BY_MODEL if i.written_by == "model" else ""}'
        f'<br><i>{escape(i.why)}</i></li>' for i in card.improvements
    )
    source = "judge model" if judged else "offline coder (no judge model configured)"
    parts = [
        f'<div class="scorecard" id="scorecard-view"><h2>Scorecard <small>({escape(source)})</small></h2>',
        f'<div class="sc-overall">Overall <b>{card.overall:.1f}</b> / 5'
        + (f' · offline coder {offline.overall:.1f}' if judged else "") + "</div>",
        f'<p>{escape(card.summary)}</p>' if card.summary else "",
        f'<div class="sc-grid"><div class="sc-radar">{radar}</div><div class="sc-criteria">{_criteria_html(card)}</div></div>'
        if not judged else
        f'<div class="sc-radar">{radar}</div><div class="sc-pair"><div class="sc-criteria" id="sc-judge">'
        f'<h3>Judge model</h3>{_criteria_html(card)}</div><div class="sc-criteria" id="sc-offline">'
        f'<h3>Offline coder</h3>{_criteria_html(offline)}</div></div>',
        '<h3>How the relationship moved</h3>',
        trajectory_chart(session.trajectory_points(), link_prefix=TURN_ID),
        delivery_html(delivery_report(session.turns, session.persona)),
        f'<h3>Try instead</h3><ol class="sc-improvements">{improvements}</ol>' if improvements else "",
        "<h3>What they shared once you earned it</h3>"
        + ("<ul>" + "".join(f"<li>{key_icon_svg()} {escape(e)}</li>" for e in earned) + "</ul>" if earned
           else "<p>Nothing: their hidden concerns stayed hidden this time.</p>"),
        "<h3>Strengths</h3><ul>" + "".join(f"<li>{escape(s)}</li>" for s in card.strengths) + "</ul>" if card.strengths else "",
        "<h3>Notes</h3><ul>" + "".join(f"<li>{escape(f)}</li>" for f in card.flags) + "</ul>" if card.flags else "",
        f"<h3>Transcript</h3>{transcript_html(session)}</div>",
    ]
    return "".join(parts)


def scorecard_markdown(session: SessionRecord, graded: Graded) -> str:
    """The transcript and scorecard as Markdown, for download."""
    card = graded.scorecard
    lines = [f"# {session.persona.name} — {session.difficulty.value}", "",
             f"Overall: **{card.overall:.1f} / 5** ({card.source})", ""]
    for key, score in card.criteria.items():
        lines.append(f"- **{criterion_name(key)}: {score.score:.1f}** — {score.rationale}")
        lines.extend(f"  - turn {e.turn}: “{e.quote}”" for e in score.evidence)
    if card.improvements:
        lines += ["", "## Try instead"]
        lines += [f"- turn {i.turn}: “{i.original}” → “{i.better}” ({i.why})"
                  + (" — written by the local model" if i.written_by == "model" else "") for i in card.improvements]
    report = delivery_report(session.turns, session.persona)
    if report is not None:
        lines += ["", "## Delivery", f"- pace {report.words_per_minute or 0:.0f} words/min (theirs "
                  f"{report.persona_words_per_minute:.0f}); {report.pace_matched:.0%} of turns at their pace",
                  f"- pause before answering {report.pause_before or 0:.1f} s; fillers {report.fillers}; "
                  f"talk share {report.talk_share:.0%}; interruptions {report.interruptions}"]
        lines += [f"- {text}: turns {', '.join(map(str, turns))}" for text, turns in report.findings]
        lines += [f"- {t}" for t in report.trend]
    lines += ["", "## Transcript"]
    for index, turn in enumerate(session.turns):
        who = session.persona.short_name if turn.speaker is Speaker.PERSONA else "You"
        lines.append(f"{index}. **{who}:** {turn.text}")
    return "\n".join(lines) + "\n"


def download_files(session: SessionRecord, graded: Graded) -> list[str]:
    """Transcript and scorecard as JSON and Markdown files the browser can download."""
    folder = download_folder("session-")
    stem = f"{session.persona.id}-{session.started_at:%Y%m%d-%H%M}"
    transcript = folder / f"{stem}.transcript.json"
    transcript.write_text(session.transcript().model_dump_json(indent=2), encoding="utf-8")
    scorecard = folder / f"{stem}.scorecard.json"
    scorecard.write_text(json.dumps({**graded.scorecard.contract(), "offline": graded.offline.contract()}, indent=2),
                         encoding="utf-8")
    markdown = folder / f"{stem}.md"
    markdown.write_text(scorecard_markdown(session, graded), encoding="utf-8")
    return [str(transcript), str(scorecard), str(markdown)]
