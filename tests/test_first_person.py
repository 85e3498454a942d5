"""Persona facts retold in the first person for the small model's note: the persona's pronouns become 'I', and
nobody else's do."""

from __future__ import annotations

import pytest

from simulator.first_person import first_person


@pytest.mark.parametrize("persona_id, text, told", [
    ("diabetes-newly-diagnosed", "His wife's cousin had bad stomach problems on metformin and stopped it.",
     "My wife's cousin had bad stomach problems on metformin and stopped it."),
    ("diabetes-newly-diagnosed", "He does not know whether a diabetes diagnosis affects his bus licence.",
     "I do not know whether a diabetes diagnosis affects my bus licence."),
    ("diabetes-newly-diagnosed", "Tomasz believes that taking any diabetes tablet means he must report it.",
     "I believe that taking any diabetes tablet means I must report it."),
    # another man named since: his foot, not mine
    ("diabetes-newly-diagnosed", "His father Zbigniew had diabetes, lost his left foot in 2011 and died in 2014.",
     "My father Zbigniew had diabetes, lost his left foot in 2011 and died in 2014."),
    ("diabetes-newly-diagnosed", "He starts work at 5.20am, eats at the depot and has fourteen years left on the mortgage.",
     "I start work at 5.20am, eat at the depot and have fourteen years left on the mortgage."),
    ("diabetes-newly-diagnosed", "Readings of 9 to 11 send him into a panic and he then skips meals.",
     "Readings of 9 to 11 send me into a panic and I then skip meals."),
    ("procurement-skeptic", "She started as a buyer, where she learned to read contracts line by line.",
     "I started as a buyer, where I learned to read contracts line by line."),
    # another woman in the sentence: 'her' may be hers, so it is left alone
    ("disengaged-student", "Her mum told her not to tell school.", "Her mum told her not to tell school."),
    # a relative clause about someone else keeps its verbs
    ("ambivalent-drinker", "She is married to Richard, a surveyor who plays golf and sings in a choir.",
     "I am married to Richard, a surveyor who plays golf and sings in a choir."),
])
def test_facts_are_retold_as_the_persona_says_them(library, persona_id, text, told):
    assert first_person(text, library.get(persona_id)) == told


def test_the_persona_as_an_object_is_me(library):
    persona = library.get("ambivalent-drinker")
    assert "stays with me and Richard" in first_person(f"Ellie stays with {persona.short_name} and Richard.", persona)


def test_a_sentence_opening_with_she_is_hers_even_with_her_mother_in_it(library):
    persona = library.get("cancer-spread-daughter")
    assert first_person("She is terrified about who will look after her mother.", persona) == \
        "I am terrified about who will look after her mother."
