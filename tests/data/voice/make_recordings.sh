#!/usr/bin/env bash
# Regenerates the test recordings in this folder with espeak-ng (see README.md). Run from the repository root:
#   tests/data/voice/make_recordings.sh
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() {  # say NAME VOICE SPEED TEXT: espeak-ng writes 22.05 kHz, resampled to 16 kHz mono 16-bit
  espeak-ng -v "$2" -s "$3" -w "$work/$1.wav" "$4"
  ../../../.venv/bin/python -c "import sys; from pathlib import Path; from simulator.voice.audio import read_audio
Path(sys.argv[2]).write_bytes(read_audio(Path(sys.argv[1])).resampled(16000).to_wav())" "$work/$1.wav" "$1.wav"
}

say hard-for-you        en-us            155 "I can hear that this has been really hard for you."
say fillers             en-us+m3         150 "Um, so, uh, I was wondering how you are getting on."
say biggest-difference  en-us+f1         160 "What would make the biggest difference for you right now?"
say tell-me-more        en-us+john       150 "That makes sense. Tell me more about what happened."
say sorry-to-rush       en-gb-scotland   150 "I'm sorry, I didn't mean to rush you."
say budget-next-week    en-us+m1         145 "Could we look at your budget together next week?"
say left-out            en-us+f3         150 "It sounds like you felt left out of the decision."
say honest-with-me      en-us+david      140 "Thank you for being so honest with me."

# The browser test's fake microphone: 48 kHz, 1 s of silence before the words and 1.5 s after.
espeak-ng -v en-us+m3 -s 145 -w "$work/mic.wav" "Hello, I can hear this matters to you."
../../../.venv/bin/python - "$work/mic.wav" fake-microphone-48k.wav <<'PY'
import sys
from pathlib import Path

import numpy as np

from simulator.voice.audio import Audio, read_audio

speech = read_audio(Path(sys.argv[1]))
loud = np.flatnonzero(np.abs(speech.samples) > 0.01)
words = Audio(speech.samples[loud[0]:loud[-1] + 1], speech.sample_rate).resampled(48000)
silence = lambda seconds: Audio(np.zeros(int(48000 * seconds), np.float32), 48000)  # noqa: E731
Path(sys.argv[2]).write_bytes(Audio.concat([silence(1.0), words, silence(1.5)]).to_wav())
PY
