"""The vocabulary of learner behaviours that build or break rapport.

Persona triggers, hidden-item conditions and the turn reader all speak this vocabulary,
so an author can say "this persona cares twice as much about validation" without code.
"""

from __future__ import annotations

from enum import StrEnum


class Behaviour(StrEnum):
    """Something a learner can do in one turn."""

    # Builds rapport
    REFLECTION_SIMPLE = "reflection_simple"  # repeats or paraphrases what the persona said
    REFLECTION_COMPLEX = "reflection_complex"  # adds meaning or feeling the persona implied
    OPEN_QUESTION = "open_question"
    CLOSED_QUESTION = "closed_question"
    VALIDATION = "validation"  # says the persona's feelings make sense
    AFFIRMATION = "affirmation"  # recognises a real strength or effort of the persona
    SELF_DISCLOSURE = "self_disclosure"  # shares something genuine about themselves
    COMMON_GROUND = "common_ground"
    ADAPTATION = "adaptation"  # matches the persona's pace, formality and level of detail
    FOLLOW_UP = "follow_up"  # comes back to something the persona said earlier
    # Breaks rapport
    TOPIC_SHIFT = "topic_shift"  # interrupts the persona's topic
    IGNORING_CONCERN = "ignoring_concern"
    PUSHING_AGENDA = "pushing_agenda"
    UNSOLICITED_ADVICE = "unsolicited_advice"
    JUDGMENT = "judgment"
    JARGON = "jargon"
    HOLLOW_FLATTERY = "hollow_flattery"
    GRADER_DIRECTED = "grader_directed"  # addresses the grader or the model, not the person: earns nothing


BUILDING = frozenset(
    {
        Behaviour.REFLECTION_SIMPLE,
        Behaviour.REFLECTION_COMPLEX,
        Behaviour.OPEN_QUESTION,
        Behaviour.CLOSED_QUESTION,
        Behaviour.VALIDATION,
        Behaviour.AFFIRMATION,
        Behaviour.SELF_DISCLOSURE,
        Behaviour.COMMON_GROUND,
        Behaviour.ADAPTATION,
        Behaviour.FOLLOW_UP,
    }
)
BREAKING = frozenset(set(Behaviour) - BUILDING)
