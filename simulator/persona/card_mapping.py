"""How Character Card fields map onto a `PersonaSpec`, and the defaults a community card's persona starts from.

Mapped both ways: name, description ↔ background, personality ↔ personality.communication_style,
scenario ↔ scenario.setting, first_mes ↔ opening_line, alternate_greetings ↔ alternate_openings,
mes_example ↔ personality.speech_examples, creator_notes ↔ summary, tags ↔ domain (plus the card's other
tags), character_book entries ↔ knowledge. `cards.py` keeps every other part of a card as a patch.
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
from typing import Any, Literal

from ..behaviours import Behaviour
from .spec import ID_PATTERN, Domain, PersonaSpec

CardVersion = Literal["ccv2", "ccv3"]
SPECS: dict[str, tuple[str, str]] = {"ccv2": ("chara_card_v2", "2.0"), "ccv3": ("chara_card_v3", "3.0")}

# Keys of `PersonaSpec.card_extensions` written by the mapping.
EXTRA_TAGS = "tags"  # the card's tags other than the one naming the domain
LOREBOOK_ENTRIES = "lorebook_entries"  # the lorebook in card order: knowledge ids with their other entry fields
IMPORT_NOTES = "rapport_import_notes"  # which fields of an imported community card were defaulted


def _max_length(field: str) -> int:
    return next(m.max_length for m in PersonaSpec.model_fields[field].metadata if hasattr(m, "max_length"))


NAME_MAX, SUMMARY_MAX = _max_length("name"), _max_length("summary")
CHAR_PLACEHOLDER = re.compile(r"\{\{char\}\}|<bot>", re.IGNORECASE)
USER_PLACEHOLDER = re.compile(r"\{\{user\}\}|<user>", re.IGNORECASE)
SPEAKER = re.compile(r"^\s*(\{\{char\}\}|<bot>|\{\{user\}\}|<user>)\s*:\s?", re.IGNORECASE)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON, types included (Python's `True == 1` and `1 == 1.0` would hide a change)."""
    return json.dumps(a, sort_keys=True, ensure_ascii=False) == json.dumps(b, sort_keys=True, ensure_ascii=False)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""  # cards in the wild write null for an empty field


def _fill_char(text: str, char: str) -> str:
    """`{{char}}` / `<BOT>` replaced by the character's name: Rapport's prompts use the text as written."""
    return CHAR_PLACEHOLDER.sub(lambda _: char, text)


# -- mes_example ----------------------------------------------------------------------------------


def format_mes_example(examples: list[str]) -> str:
    """Speech examples as a card's `mes_example`: one `<START>` block with one `{{char}}:` line each."""
    return "\n".join(f"<START>\n{{{{char}}}}: {line}" for line in examples)


def parse_mes_example(text: str) -> list[str]:
    """The character's lines in a `mes_example`: each `{{char}}:` turn, or a whole block without speaker tags."""
    examples: list[str] = []
    for block in re.split(r"<START>", text, flags=re.IGNORECASE):
        loose: list[str] = []
        turns: list[tuple[bool, list[str]]] = []  # (spoken by the character, lines)
        for line in block.split("\n"):
            speaker = SPEAKER.match(line)
            if speaker:
                is_char = speaker.group(1).lower() in ("{{char}}", "<bot>")
                turns.append((is_char, [line[speaker.end() :]]))
            elif turns:
                turns[-1][1].append(line)
            else:
                loose.append(line)
        if not turns and "\n".join(loose).strip():
            examples.append("\n".join(loose).strip())
        examples.extend("\n".join(lines).strip() for is_char, lines in turns if is_char)
    return examples


# -- ids, tags, summary -----------------------------------------------------------------------------


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:64].strip("-")


def id_from(text: str, fallback: str) -> str:
    """An id matching `ID_PATTERN`: `text` itself when it already is one, else its slug, else `fallback`."""
    if re.fullmatch(ID_PATTERN, text):
        return text
    candidate = slug(text)
    if len(candidate) < 3:
        candidate = f"{candidate}-{fallback}" if candidate else fallback
    return candidate


def unique_id(candidate: str, taken: set[str]) -> str:
    """`candidate`, or `candidate-2`, `-3`, ... when it is taken."""
    number = 2
    result = candidate
    while result in taken:
        result = f"{candidate[:59].rstrip('-')}-{number}"
        number += 1
    return result


def domain_from_tags(tags: list[str]) -> tuple[Domain | None, list[str]]:
    """The first tag naming a domain (e.g. 'Customer service'), and the other tags in order."""
    for index, tag in enumerate(tags):
        name = re.sub(r"[\s-]+", "_", tag.strip().lower())
        if name in Domain._value2member_map_:
            return Domain(name), tags[:index] + tags[index + 1 :]
    return None, list(tags)


def short_summary(text: str) -> str:
    """`text` when it fits the summary; else its first sentences, or words and an ellipsis, within the limit."""
    text = text.strip()
    if len(text) <= SUMMARY_MAX:
        return text
    flat = " ".join(text.split())
    if len(flat) <= SUMMARY_MAX:
        return flat
    cut = flat[: SUMMARY_MAX - 1]
    sentence_end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    if sentence_end >= SUMMARY_MAX // 3:
        return cut[: sentence_end + 1]
    return cut.rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _first_sentences(text: str, count: int) -> str:
    return " ".join(re.split(r"(?<=[.!?])\s+", " ".join(text.split()))[:count])


# -- lorebook ↔ knowledge --------------------------------------------------------------------------


def default_entry_fields(knowledge_id: str, index: int, version: CardVersion) -> dict[str, Any]:
    """The lorebook entry fields besides keys and content that Rapport writes for a knowledge entry."""
    fields: dict[str, Any] = {"extensions": {}, "enabled": True, "insertion_order": index, "name": knowledge_id}
    if version == "ccv3":
        fields["use_regex"] = False  # required in V3
    return fields


def lorebook_entries(spec: PersonaSpec, version: CardVersion) -> list[dict[str, Any]] | None:
    """The card's lorebook entries: stored ones in their order (with current knowledge), then new knowledge."""
    stored = spec.card_extensions.get(LOREBOOK_ENTRIES)
    if not isinstance(stored, list) and not spec.knowledge:
        return None
    first_index = {}
    for index, entry in enumerate(spec.knowledge):
        first_index.setdefault(entry.id, index)
    entries: list[dict[str, Any]] = []
    placed: set[int] = set()
    for item in stored if isinstance(stored, list) else []:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("unused"), dict):
            entries.append(item["unused"])
            continue
        index = first_index.get(item.get("knowledge"))
        if index is None or index in placed:  # deleted in Rapport (or listed twice)
            continue
        placed.add(index)
        knowledge = spec.knowledge[index]
        fields = item.get("fields") if isinstance(item.get("fields"), dict) else {}
        entries.append({**fields, "keys": list(knowledge.keywords), "content": knowledge.content})
    for index, knowledge in enumerate(spec.knowledge):
        if index not in placed:
            fields = default_entry_fields(knowledge.id, len(entries), version)
            entries.append({"keys": list(knowledge.keywords), "content": knowledge.content, **fields})
    return entries


def knowledge_from_entries(
    entries: list[dict[str, Any]], char: str, version: CardVersion
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Knowledge from the enabled entries, and the entries' order and other fields (None when Rapport's defaults)."""
    knowledge: list[dict[str, Any]] = []
    alignment: list[dict[str, Any]] = []
    used: set[str] = set()
    needs_alignment = False
    for position, entry in enumerate(entries):
        if entry.get("enabled", True) is False:  # switched off by the card's author: kept, never used
            alignment.append({"unused": entry})
            needs_alignment = True
            continue
        labels = (entry.get("name"), entry.get("comment"), *(entry.get("keys") or []))
        label = next((s.strip() for s in labels if isinstance(s, str) and s.strip()), "")
        knowledge_id = unique_id(id_from(label, f"entry-{position + 1}"), used)
        used.add(knowledge_id)
        content = _fill_char(_text(entry.get("content")), char)
        knowledge.append({"id": knowledge_id, "keywords": list(entry.get("keys") or []), "content": content})
        fields = {k: v for k, v in entry.items() if k not in ("keys", "content")}
        alignment.append({"knowledge": knowledge_id, "fields": fields})
        needs_alignment |= not same(fields, default_entry_fields(knowledge_id, len(knowledge) - 1, version))
    return knowledge, alignment if needs_alignment else None


# -- persona → card data ---------------------------------------------------------------------------


def card_data(spec: PersonaSpec, version: CardVersion) -> dict[str, Any]:
    """The card's `data` as Rapport writes it from the persona (before the stored patch and the Rapport extension)."""
    extra_tags = spec.card_extensions.get(EXTRA_TAGS)
    data: dict[str, Any] = {
        "name": spec.name,
        "description": spec.background,
        "personality": spec.personality.communication_style,
        "scenario": spec.scenario.setting,
        "first_mes": spec.opening_line,
        "mes_example": format_mes_example(spec.personality.speech_examples),
        "creator_notes": spec.summary,
        "system_prompt": "",  # Rapport builds its prompt per turn; other tools should use their own
        "post_history_instructions": "",
        "alternate_greetings": list(spec.alternate_openings),
        "tags": [spec.domain.value, *(extra_tags if isinstance(extra_tags, list) else [])],
        "creator": "",
        "character_version": "",
        "extensions": {},
    }
    entries = lorebook_entries(spec, version)
    if entries is not None:
        data["character_book"] = {"extensions": {}, "entries": entries}
    if version == "ccv3":
        data["group_only_greetings"] = []
    return data


# -- card data → persona ---------------------------------------------------------------------------


def apply_card_fields(data: dict[str, Any], persona: dict[str, Any], version: CardVersion) -> None:
    """Set the persona's mapped fields (a model dump, changed in place) from the card: the card wins."""
    name = _text(data.get("name")).strip()[:NAME_MAX].rstrip()
    persona["name"] = name or persona["name"]
    char = _text(data.get("nickname")).strip() or persona["name"]
    persona["background"] = _fill_char(_text(data.get("description")), char)
    persona["personality"]["communication_style"] = _fill_char(_text(data.get("personality")), char)
    examples = parse_mes_example(_text(data.get("mes_example")))
    persona["personality"]["speech_examples"] = [_fill_char(e, char) for e in examples]
    persona["scenario"]["setting"] = _fill_char(_text(data.get("scenario")), char)
    persona["opening_line"] = _fill_char(_text(data.get("first_mes")), char)
    persona["alternate_openings"] = [_fill_char(g, char) for g in data.get("alternate_greetings") or []]
    if _text(data.get("creator_notes")).strip():
        persona["summary"] = short_summary(_text(data.get("creator_notes")))
    domain, extra_tags = domain_from_tags(data.get("tags") or [])
    persona["domain"] = domain.value if domain else persona["domain"]
    book = data.get("character_book") or {}
    knowledge, alignment = knowledge_from_entries(book.get("entries") or [], char, version)
    persona["knowledge"] = knowledge
    extensions = {k: v for k, v in persona.get("card_extensions", {}).items() if k not in (EXTRA_TAGS, LOREBOOK_ENTRIES)}
    if extra_tags:
        extensions[EXTRA_TAGS] = extra_tags
    if alignment is not None:
        extensions[LOREBOOK_ENTRIES] = alignment
    persona["card_extensions"] = extensions


def _guess_role(description: str, names: set[str]) -> str | None:
    """'Mira is a 24-year-old barista who ...' → '24-year-old barista'; None when the card does not say."""
    names = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    found = re.search(rf"\b(?:{names})\s+is\s+(?:a|an)\s+([^.,;:!?\n]+)", description[:800])
    if not found:
        return None
    role = re.split(r"\s+(?:who|that|which|with|and|from|living)\s+", found.group(1), maxsplit=1)[0].strip()
    if not 3 <= len(role) <= 60 or role.split()[0].lower() in {"bit", "little", "lot", "very", "kind", "sort"}:
        return None
    return role[0].upper() + role[1:]


def _traits(personality: str) -> list[str]:
    """Short comma- or 'and'-separated phrases of the personality text ('kind, shy and stubborn')."""
    traits: list[str] = []
    for piece in re.split(r"[,;/\n•]|\band\b", personality):
        piece = re.sub(r"^.*:\s*", "", piece).strip(" \t.!?*-+\"'()")  # "Mira's personality: kind" → "kind"
        if re.fullmatch(r"[\w' -]{2,30}", piece) and len(piece.split()) <= 3 and piece.lower() not in map(str.lower, traits):
            traits.append(piece)
    return traits[:8]


DEFAULT_TRIGGERS = {
    "builds": [
        {"description": "Asks open questions about them and their side of things", "behaviour": Behaviour.OPEN_QUESTION},
        {"description": "Reflects back what they said and what they seem to feel", "behaviour": Behaviour.REFLECTION_COMPLEX},
        {"description": "Acknowledges that their feelings make sense", "behaviour": Behaviour.VALIDATION},
    ],
    "breaks": [
        {"description": "Judges or lectures them", "behaviour": Behaviour.JUDGMENT},
        {"description": "Brushes aside what matters to them", "behaviour": Behaviour.IGNORING_CONCERN},
        {"description": "Gives advice they did not ask for", "behaviour": Behaviour.UNSOLICITED_ADVICE},
    ],
}
DEFAULT_DIFFICULTY = {
    "easy": {"trust": 45, "openness": 50, "engagement": 60, "patience": 80, "guardedness": 30, "verbosity": "moderate"},
    "medium": {"trust": 30, "openness": 35, "engagement": 50, "patience": 60, "guardedness": 50, "verbosity": "moderate"},
    "hard": {"trust": 15, "openness": 20, "engagement": 35, "patience": 35, "guardedness": 75, "verbosity": "brief"},
}
DEFAULT_OUTCOMES = {
    "success": {
        "description": "Feels understood and is glad they talked",
        "min_trust": 70,
        "closing_line": "I'm really glad we talked. Let's do this again some time.",
    },
    "failure": {"description": "Ends the conversation", "max_trust": 8, "closing_line": "I think I'd like to stop here."},
}


def community_persona(data: dict[str, Any], taken_ids: set[str]) -> dict[str, Any]:
    """The persona a card without Rapport data starts from: neutral defaults, each listed in the import notes."""
    name = _text(data.get("name")).strip()[:NAME_MAX].rstrip() or "Unnamed character"
    char = _text(data.get("nickname")).strip() or name
    description = _fill_char(_text(data.get("description")), char).strip()
    scenario = _fill_char(_text(data.get("scenario")), char).strip()
    personality = _fill_char(_text(data.get("personality")), char).strip()
    notes: list[str] = []
    role = _guess_role(description, {name, name.split()[0], char})
    notes.append(f"role: guessed from the description ({role!r}); check it" if role else "role: 'Character'; say what they do")
    domain, _ = domain_from_tags(data.get("tags") or [])
    if domain is None:
        notes.append("domain: 'personal' (no tag names a domain); change it if another fits")
    summary = ""
    if not _text(data.get("creator_notes")).strip():
        summary = short_summary(_first_sentences(description, 1)) or f"{name}, imported from a Character Card."
        notes.append("summary: the card has no creator notes; taken from the description")
    traits = _traits(personality)
    if not traits:
        sentence = _first_sentences(personality, 1).rstrip(".!?")
        traits = [sentence if 0 < len(sentence) <= 60 else "even-tempered"]
        notes.append("personality.traits: not a list in the card's personality text; list a few adjectives")
    notes += [
        "personality.emotional_baseline: a neutral default; say how they feel walking into the conversation",
        "goals, concerns: generic defaults; write what this persona wants and worries about",
        "scenario.learner_role, scenario.learner_brief: defaults; say who the learner plays and what they know",
        "triggers: a default set from Rapport's behaviours; say what builds and breaks rapport with this persona",
        "difficulty, outcomes: default presets and generic outcomes; tune them to this persona",
        "hidden_information: none; add what this persona only shares once trust is earned",
    ]
    texts = {"description": description, "personality": personality, "scenario": scenario, "first_mes": _text(data.get("first_mes"))}
    with_user = [field for field, text in texts.items() if USER_PLACEHOLDER.search(text)]
    if with_user:
        notes.append(f"{{{{user}}}} (the learner) appears in {', '.join(with_user)}; Rapport keeps it as written")
    return {
        "schema_version": 1,
        "id": unique_id(id_from(slug(name), "character"), taken_ids),
        "name": name,
        "role": role or "Character",
        "domain": (domain or Domain.PERSONAL).value,
        "summary": summary,
        "scenario": {
            "setting": "",
            "learner_role": f"Someone talking with {name}",
            # written to the learner, who is the card's {{user}}
            "learner_brief": USER_PLACEHOLDER.sub("you", scenario or _first_sentences(description, 3))
            or f"You are about to talk with {name}.",
        },
        "background": "",
        "personality": {"traits": traits, "communication_style": "", "emotional_baseline": "Calm; their usual self."},
        "goals": ["Be listened to and taken seriously"],
        "concerns": ["Being misunderstood or judged"],
        "triggers": copy.deepcopy(DEFAULT_TRIGGERS),
        "difficulty": copy.deepcopy(DEFAULT_DIFFICULTY),
        "outcomes": copy.deepcopy(DEFAULT_OUTCOMES),
        "card_extensions": {IMPORT_NOTES: notes},
    }
