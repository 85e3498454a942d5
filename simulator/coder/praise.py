"""Affirmation versus hollow praise, and stock questions: wording a learner can recite.

An affirmation points at something the person did, said or is ("You kept checking your sugar every
morning even on night shifts"); hollow praise fits anyone ("You're amazing!") and a platitude brushes
their experience aside ("Everything happens for a reason"). The learned affirmation head (ESConv) cannot
tell these apart, so the codes combine it with this wording and with how specific the reply is.
"""

from __future__ import annotations

import re

from .relation import shared_content

PLATITUDE = re.compile(
    r"\b(?:everything happens for a reason|(?:he|she|they)(?:'s|'re| is| are) in a better place|"
    r"think positive(?:ly)?|stay positive|positive (?:thinking|vibes|mindset)|look on the bright side|"
    r"time heals|(?:it|things) could (?:always )?be worse|keep your chin up|chin up|good vibes|"
    r"it(?:'ll| will) (?:all )?work (?:itself )?out|what doesn't kill you|god has a plan|it was meant to be|"
    r"you(?:'ve| have) got this|just be happy|don't (?:be sad|worry about it)|every cloud)\b",
    re.IGNORECASE,
)
GENERIC_PRAISE = re.compile(
    r"\b(?:you(?:'re| are) (?:so |really |truly |just |such an? )?(?:amazing|awesome|great|brilliant|incredible|"
    r"wonderful|fantastic|the best|a star|a legend|a rock ?star|so strong|strong|inspiring|an inspiration|perfect)|"
    r"great (?:question|point|job|work)|good (?:question|point|job)|love that|(?:that's|that is) "
    r"(?:great|amazing|awesome|wonderful|fantastic|brilliant)|amazing|awesome|well done|good for you|"
    r"i(?:'m| am) (?:so )?proud of you|you rock|keep it up|impressive)\b",
    re.IGNORECASE,
)
# Wording that affirms: a strength, effort or value named in second person.
AFFIRMING = re.compile(
    r"\b(?:you(?:'ve| have) (?:been |clearly |really |already )?(?:done|worked|managed|kept|tried|taken|made|put|"
    r"shown|stuck|held|got|come|handled|thought)|you (?:clearly |really |obviously )?(?:care|cared|took|kept|managed|"
    r"worked|tried|stuck|showed|handled|noticed|made|put|did|stepped|reached|spoke)|you(?:'re| are) (?:clearly |"
    r"really |obviously )?(?:someone|a person|the kind|doing|trying|taking|committed|determined|careful|thoughtful|"
    r"resourceful|honest|brave|strong|good at|right to)|you (?:were|are|'re) (?:so |really |genuinely )?(?:good|great|"
    r"brilliant|talented|gifted|skilled|strong|careful|generous|kind|patient) (?:at|with|to|about)|"
    r"you(?:'ve| have) always|you(?:'ve| have) (?:gone|been) (?:through|over|back)|more than most|not many people|"
    r"(?:it|that) shows|achievement|accomplish\w*|hard work|dedicat\w*|persever\w*|resilien\w*|determin\w*|"
    r"took (?:real )?(?:courage|guts|effort)|that (?:shows|says|"
    r"took)|proud|brave|courage\w*|(?:real|so much|a lot of|huge) effort|commitment|to your credit|admire|"
    r"not easy|well done|good (?:job|"
    r"work|call|thinking|instinct)|great (?:job|work|call|instinct)|impressive|thoughtful)\b",
    re.IGNORECASE,
)
STOCK_QUESTION = re.compile(
    r"^\W*(?:so,?\s+|and\s+|okay,?\s+)?(?:can you |could you |would you )?(?:please )?(?:"
    r"tell me more(?: about (?:that|this|it))?|say more(?: about (?:that|this|it))?|"
    r"how (?:does|did) (?:that|this|it) make you feel|how do you feel about (?:that|this|it)|"
    r"what else|anything else|what do you mean|what are you not telling me|what's (?:really )?going on|"
    r"how are you feeling|how is that for you|go on|and then\??|elaborate(?: on that)?|"
    r"what do you think about (?:that|this|it)|why do you (?:think|feel) that)\W*$",
    re.IGNORECASE,
)


# Praise that names what they did ("proud of you for sticking with it") is not generic; thanks for "sharing" is.
NAMES_WHAT_THEY_DID = re.compile(
    r"\bfor (?:sticking|keeping|trying|working|managing|pushing|persevering|getting through|following through|"
    r"carrying on|holding on|staying)\b|"
    r"\byou(?:'ve| have) (?:\w+ )?(?:done|worked|managed|kept|tried|stuck|taken|made|shown|handled|got|come)\b|"
    r"\btook (?:real )?(?:courage|guts|effort)\b|\b(?:that|it) (?:shows|took)\b",
    re.IGNORECASE,
)


def hollow_praise(response: str, context: str) -> bool:
    """A platitude, or generic praise that names nothing they did and carries nothing of what they said.

    Names and titles ("Mr Haddad") do not make praise specific: "You're amazing, Mr Haddad!" fits anyone.
    """
    if PLATITUDE.search(response):
        return True
    if not GENERIC_PRAISE.search(response) or NAMES_WHAT_THEY_DID.search(response):
        return False
    rest = GENERIC_PRAISE.sub(" ", response)
    rest = re.sub(r"(?<=\w\W)\b[A-Z][a-z]+\b|\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z]\w*", " ", rest)
    return shared_content(context, rest) < 2


def affirming_words(response: str) -> bool:
    """The reply names a strength, effort or value of the person (wording only)."""
    return bool(AFFIRMING.search(response))


def stock_question(sentence: str) -> bool:
    """A question that would fit any conversation ("Tell me more", "How does that make you feel?")."""
    return bool(STOCK_QUESTION.match(sentence.strip()))
