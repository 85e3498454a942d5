"""Voice practice: hear the learner (`listen`) and give the persona a voice (`speak`).

Offline by default (Whisper base on faster-whisper; the Piper "joe" voice on onnxruntime with espeak-ng phonemes),
or an OpenAI-compatible audio endpoint configured as the model roles `listen` and `speak`. Heavy libraries are
imported only when a voice is first used.
"""

from .audio import Audio
from .base import Listener, Speaker, Transcript, VoiceRole, Word, listener_for, speaker_for
from .persona_voice import PersonaVoice

__all__ = ["Audio", "Listener", "PersonaVoice", "Speaker", "Transcript", "VoiceRole", "Word", "listener_for",
           "speaker_for"]
