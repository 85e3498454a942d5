"""Persona cards and the model banner, as escaped HTML/Markdown (persona text is data, never markup).

Cards go into `gr.HTML` (HTML-escaped); the brief and the banner into `gr.Markdown`, where HTML escaping is not
enough (`![x](http://host/x.png)` has no HTML in it), so their text goes through `md_text`."""

from __future__ import annotations

from html import escape

from simulator.config import ModelSpec
from simulator.persona import PersonaSpec

from .chat_view import md_code, md_text

DOMAIN_LABELS = {
    "sales": "Sales",
    "healthcare": "Healthcare",
    "education": "Education",
    "counseling": "Counseling",
    "leadership": "Leadership",
    "customer_service": "Customer service",
    "personal": "Personal",
    "other": "Other",
}


def domain_label(domain: str) -> str:
    return DOMAIN_LABELS.get(domain, domain.replace("_", " ").title())


def persona_card_html(persona: PersonaSpec) -> str:
    """A card: name, role, field, the learner's brief and goal, and the difficulty levels."""
    s = persona.scenario
    levels = " · ".join(
        f"{level}: trust {persona.preset(level).trust}" for level in ("easy", "medium", "hard")
    )
    return (
        f'<div class="rapport-card" data-persona="{escape(persona.id)}">'
        f'<div class="rapport-card-domain">{escape(domain_label(persona.domain.value))}</div>'
        f"<h3>{escape(persona.name)}</h3>"
        f'<div class="rapport-card-role">{escape(persona.role)}</div>'
        f'<p class="rapport-card-summary">{escape(persona.summary)}</p>'
        f"<p><b>You are:</b> {escape(s.learner_role)}</p>"
        f"<details><summary><b>Brief:</b> {escape(_first_sentence(s.learner_brief))}</summary>"
        f"<p>{escape(s.learner_brief)}</p></details>"
        f"<p><b>Your goal:</b> {escape(s.learner_goal)}</p>"
        f'<div class="rapport-card-levels">Difficulty — {escape(levels)}</div>'
        "</div>"
    )


def _first_sentence(text: str) -> str:
    head, dot, rest = " ".join(text.split()).partition(". ")
    return head + ("… (more)" if rest else dot.strip())


def model_banner(spec: ModelSpec | None, error: str | None = None) -> str:
    """Which model plays the persona, and how to connect a better one."""
    if error:
        return f"**Persona model not available:** {md_text(error)}"
    if spec is None:
        return ""
    if spec.is_embedded_default:
        fast = spec.model == "gemma-270m"
        what = ("Gemma 3 270M on llama.cpp, the fast option: it is tiny, so replies are short and often lose the thread"
                if fast else "Qwen2.5 1.5B Instruct on llama.cpp, a small chat model: it reads the persona while you"
                " read the brief, then answers in a few seconds, and still slips now and then")
        return (
            f"**Persona model:** {md_code(spec.label)}, offline on this machine ({what}). For realistic conversations"
            " connect a better model: set `OPENAI_API_KEY`, or `RAPPORT_PERSONA_MODEL=openai:MODEL@URL` for Ollama,"
            " vLLM or LM Studio (see the README), then restart."
        )
    return f"**Persona model:** {md_code(spec.label)} (set by {md_text(spec.source)})."


def brief_markdown(persona: PersonaSpec, difficulty: str) -> str:
    s = persona.scenario
    return (
        f"### {md_text(persona.name)} — {md_text(persona.role)}\n"
        f"*{md_text(domain_label(persona.domain.value))} · {md_text(difficulty)}*\n\n"
        f"**You are:** {md_text(s.learner_role)}  \n"
        f"**Brief:** {md_text(s.learner_brief)}  \n"
        f"**Your goal:** {md_text(s.learner_goal)}"
    )
