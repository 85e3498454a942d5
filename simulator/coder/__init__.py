"""Offline behavioural coder: labels a learner turn (MI / EPITOME / uptake codes) in milliseconds on CPU."""

from .coder import BehaviourCoder, empathy_score, load_coder
from .codes import TurnCodes, TurnProbabilities
from .conversation import conversation_empathy, conversation_profile

__all__ = [
    "BehaviourCoder",
    "TurnCodes",
    "TurnProbabilities",
    "conversation_empathy",
    "conversation_profile",
    "empathy_score",
    "load_coder",
]
