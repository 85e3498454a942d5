"""Voice in the Practice tab: speak your turn, hear the persona answer sentence by sentence.

The learner ticks *Voice*, records with the microphone (gradio's recorder), and the recording is heard by the
configured listener (offline Whisper by default) and sent as their turn, with how it was said (`Delivery`). While
the reply streams, `on_speak` gives each finished sentence to the speaker and hands the clip to the page, which
plays clips in order (`VOICE_JS`), so the persona starts talking long before its reply is complete. Typing still
works; with voice on, typed messages are answered aloud too. Recordings are kept only when the learner ticks
*Keep my recordings*.
"""

from __future__ import annotations

import asyncio
import base64
import html
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from simulator.errors import RapportError
from simulator.session import Session
from simulator.voice import listener_for, speaker_for
from simulator.voice.audio import LISTEN_RATE, read_audio
from simulator.voice.delivery import measure
from simulator.voice.persona_voice import DEFAULT_VOICE
from simulator.voice.follow import ReplyVoice

from .chat_panel import ChatPanel, SpokenText, live_history, outbox, refusal, replying_status, views_for

REPLY_WAIT = 10.0  # seconds a voice waits for the reply it is to speak once nothing is queued
WINDOW = 4  # messages each value of the clip box repeats (see `window`)
_MESSAGE_IDS = itertools.count(1)  # one count for the server: a page that opens another session keeps counting
MAX_IDLE = 120.0  # ... and at most, whatever is queued (a message stuck behind a failed reply)
POLL = 0.05
NOT_HEARD = "I didn't catch any words in that recording. Try again, a little closer to the microphone."


def _timing(value: str | None) -> tuple[float | None, bool]:
    """The page's note on when recording started: seconds since the persona stopped speaking, and whether it
    was still speaking (an interruption). Anything malformed counts as unknown."""
    try:
        data = json.loads(value or "{}")
        gap = data.get("gap")
        gap = float(gap) if isinstance(gap, int | float) and 0 <= gap < 3600 else None
        return gap, data.get("interrupted") is True
    except (ValueError, AttributeError):
        return None, False


@dataclass
class VoiceControls:
    voice_on: gr.Checkbox
    controls: gr.Group
    mic: gr.Audio
    keep: gr.Checkbox
    status: gr.HTML
    clip: gr.Textbox  # hidden: a spoken clip for the page to play
    timing: gr.Textbox  # hidden: the page's note of when recording started


def voice_controls() -> VoiceControls:
    """The voice controls' layout (under the chat's buttons); `voice_panel` wires them."""
    voice_on = gr.Checkbox(label="Voice: speak your turns and hear the persona answer", elem_id="voice-mode")
    with gr.Group(visible=False, elem_id="voice-controls") as controls:
        mic = gr.Audio(sources=["microphone"], type="filepath", label="Press Record, speak, then Stop",
                       elem_id="voice-mic", buttons=[])
        keep = gr.Checkbox(label="Keep my recordings with this session (off: only the words and timings are kept)",
                           value=False, elem_id="voice-keep")
    status = gr.HTML(elem_id="voice-status")
    clip = gr.Textbox(elem_id="voice-clip", elem_classes=["rapport-hidden"], show_label=False, container=False)
    timing = gr.Textbox(elem_id="voice-timing", elem_classes=["rapport-hidden"], show_label=False, container=False)
    return VoiceControls(voice_on, controls, mic, keep, status, clip, timing)


def voice_panel(panel: ChatPanel, session_state: gr.State, exam_state: gr.State) -> None:
    """Wire the panel's voice controls (`chat_panel(..., controls=voice_controls)`) to its outbox and drain."""
    parts: VoiceControls = panel.controls
    voice_on, controls, mic, keep = parts.voice_on, parts.controls, parts.mic, parts.keep
    status, clip, timing = parts.status, parts.clip, parts.timing

    voice_on.change(lambda on: gr.update(visible=on), voice_on, controls, api_visibility="private")
    # The page checks for a microphone and permission itself, and says plainly what is wrong.
    voice_on.change(None, [voice_on], [status], js="async (on) => await window.rapportVoice.check(on)")
    mic.start_recording(None, None, None, js="() => { window.rapportVoice.started(); }")
    clip.change(None, [clip], None, js="(value) => { window.rapportVoice.play(value); }")

    async def on_spoken(path: str | None, when: str | None, session: Session | None, exam: bool, keeping: bool):
        """A finished recording: heard, measured and queued as the learner's turn (like Enter on a typed one).
        The uploaded file is deleted whatever happens: only what the learner chose to keep is kept."""
        try:
            return await spoken(path, when, session, exam, keeping)
        finally:
            if path:
                Path(path).unlink(missing_ok=True)

    async def spoken(path: str | None, when: str | None, session: Session | None, exam: bool, keeping: bool):
        if session is None:
            return (None, "", gr.skip(), *views_for(None, exam, status="Choose a persona first."))
        box = outbox(session)
        if not path:
            return (None, "", gr.skip(), *(gr.skip() for _ in panel.views))

        def refused() -> tuple | None:
            problem = box.busy or refusal(session, "(spoken)", box.replying)
            return None if not problem else (
                None, "", gr.skip(), *views_for(session, exam, status=problem, history=live_history(session, box)))

        if (answer := refused()) is not None:
            return answer
        gap, interrupted = _timing(when)
        if interrupted:  # the learner spoke over the reply: the rest of it is not spoken
            box.hushed = box.reply_serial
        try:
            # Once, to what the listener hears: measuring and keeping the recording use the same samples.
            audio = await asyncio.to_thread(lambda: read_audio(Path(path), name="your recording").resampled(LISTEN_RATE))
            listener = await asyncio.to_thread(listener_for)  # the first use loads Whisper: not on the loop
            transcript = await asyncio.to_thread(listener.listen, audio)
        except RapportError as exc:
            return (None, _note(str(exc)), gr.skip(), *views_for(session, exam, history=live_history(session, box)))
        if not transcript.text.strip():
            return (None, _note(NOT_HEARD), gr.skip(), *views_for(session, exam, history=live_history(session, box)))
        if (answer := refused()) is not None:  # an undo, restart or end began while it was being heard
            return answer
        delivery = measure(transcript, audio, gap_before=gap, interrupted=interrupted)
        recording = audio.to_wav() if keeping else None  # 16 kHz: 2 minutes in 3.8 MB
        box.queued.append(SpokenText.of(transcript.text.strip(), delivery, recording))
        box.speak_from = box.reply_serial + len(box.queued)
        return (None, "", "", *views_for(session, exam, status=replying_status(session, box),
                                         history=live_history(session, box)))

    async def on_speak(session: Session | None, on: bool):
        """Speak the replies as they stream, one finished sentence at a time, until no reply is left to speak.

        One voice per conversation: it runs beside the drain that generates the replies and reads its progress
        from the outbox (`reply_serial` tells a new reply from the last, `reply_text` is the reply so far,
        `finals` the stored replies). A voice already following the conversation picks up new replies itself."""
        if session is None or not on:
            return
        box = outbox(session)
        if box.speaking:
            return
        box.speaking = True
        recent: list[dict] = []

        def window(message: dict) -> str:
            # The page can miss a value when two arrive at once (it sees only the last), so each value carries
            # the last few messages, numbered; the page plays each number once.
            recent.append({**message, "id": next(_MESSAGE_IDS)})
            del recent[:-WINDOW]
            return json.dumps(recent)

        try:
            async for message in follow(session, box):
                yield window(message)
        except RapportError as exc:  # the reply is still shown; the page says the voice failed
            yield window({"error": str(exc)[:300]})
        finally:
            box.speaking = False

    async def follow(session: Session, box):  # noqa: ANN001, ANN202
        speaker = await asyncio.to_thread(speaker_for)  # the first use loads the voice: not on the loop
        voice = session.persona.voice or DEFAULT_VOICE
        serial, resets, reply, count = box.speak_from, 0, None, 0
        idle_since = time.monotonic()

        async def say(sentences: list[str]):
            nonlocal count
            for sentence in sentences:
                if box.hushed >= serial:
                    return
                chunks = await asyncio.to_thread(lambda s=sentence: list(speaker.speak(s, voice)))
                for chunk in chunks:
                    count += 1
                    yield {"serial": serial, "n": count, "src": _data_url(chunk.to_wav())}

        while True:
            if serial > box.reply_serial:  # its reply has not started yet
                idle = time.monotonic() - idle_since
                if idle > MAX_IDLE or (idle > REPLY_WAIT and not box.replying and not box.queued):
                    return
                await asyncio.sleep(POLL)
                continue
            if reply is None:
                reply = ReplyVoice(session.speaker_labels(), session.last_learner_text())
                resets = box.reply_resets if serial == box.reply_serial else 0
            finished = serial < box.reply_serial or box.shown is None  # `answer` clears `shown` when done
            if finished:
                async for clip in say(reply.ready(box.finals.get(serial, ""), complete=True)):
                    yield clip
                yield {"serial": serial, "done": True}
                serial, reply, idle_since = serial + 1, None, time.monotonic()
                continue
            if box.reply_resets != resets:  # the model call started the reply again: so does the voice
                resets = box.reply_resets
                reply.restart()
                yield {"serial": serial, "flush": True}
            async for clip in say(reply.ready(box.reply_text)):
                yield clip
            await asyncio.sleep(POLL)

    outputs = [mic, status, timing, *panel.views]
    taken = mic.stop_recording(on_spoken, [mic, timing, session_state, exam_state, keep], outputs,
                               js="(a, b, c, d, e) => [a, window.rapportVoice.timing(), c, d, e]",
                               api_visibility="private")
    taken.then(panel.drain, [session_state, exam_state], panel.views, api_visibility="private").then(
        panel.restore, [panel.message, session_state], [panel.message], api_visibility="private")
    for accepted in [taken, *panel.accepted]:  # typed messages are answered aloud too, while voice is on
        accepted.then(on_speak, [session_state, voice_on], [clip], api_visibility="private")


def _note(message: str) -> str:
    return f'<p class="voice-note voice-problem">{html.escape(message)}</p>'


def _data_url(wav: bytes) -> str:
    # The clip travels in the reply's own event stream: no file route to scope per learner, no other host.
    return "data:audio/wav;base64," + base64.b64encode(wav).decode("ascii")


VOICE_JS = r"""
() => {
  if (window.rapportVoice) return;
  // Each value is a list of the last few messages, numbered (`id`); each is taken once. Clips arrive as
  // {serial, n, src} (one reply = one serial), then {serial, done}; {serial, flush} drops the reply's queued
  // clips (the model started it again); {error} says the voice failed.
  const queue = [];
  let current = null, arriving = null, lastEnd = null, recordStart = null, interrupted = false, dropped = 0;
  const state = { played: 0, finished: 0, received: 0, errors: [] };  // clips started, played to the end, taken
  let lastId = 0;
  function note(message) {
    const box = document.querySelector("#voice-status");
    if (!box) return;
    const p = document.createElement("p");
    p.className = "voice-note voice-problem";
    p.textContent = message;
    box.replaceChildren(p);
  }
  function playNext() {
    if (current || !queue.length) return;
    const clip = queue.shift();
    current = new Audio(clip.src);
    current.serial = clip.serial;
    const done = () => { current = null; lastEnd = performance.now(); playNext(); };
    current.onended = () => { state.finished += 1; done(); };
    current.onerror = () => { state.errors.push("a clip could not be played"); done(); };
    current.play().then(() => { state.played += 1; }).catch((e) => {
      state.errors.push(String(e)); note("The persona's voice could not play here: " + e); done();
    });
  }
  function say(message, kind) {
    return `<p class="voice-note voice-${kind}">${message}</p>`;
  }
  window.rapportVoice = {
    state,
    play(value) {
      if (!value) return;
      let messages;
      try { messages = JSON.parse(value); } catch (e) { return; }
      if (!Array.isArray(messages)) return;
      for (const message of messages) {
        if (typeof message.id !== "number" || message.id <= lastId) continue;  // seen in an earlier value
        lastId = message.id;
        this.take(message);
      }
    },
    take(clip) {
      if (clip.error) { state.errors.push(clip.error); note("The persona's voice failed: " + clip.error); return; }
      if (typeof clip.serial !== "number" || clip.serial <= dropped) return;  // interrupted: never played
      if (clip.flush) {
        for (let i = queue.length - 1; i >= 0; i--) if (queue[i].serial === clip.serial) queue.splice(i, 1);
        return;
      }
      if (clip.done) { if (arriving === clip.serial) arriving = null; return; }
      if (typeof clip.src === "string" && clip.src.startsWith("data:audio/wav;base64,")) {
        state.received += 1;
        arriving = clip.serial;
        queue.push(clip);
        playNext();
      }
    },
    // Still talking: a clip playing or queued, or a reply whose clips are still arriving.
    speaking() { return !!current || queue.length > 0 || arriving !== null; },
    started() {
      recordStart = performance.now();
      interrupted = this.speaking();
      if (interrupted) {
        dropped = Math.max(dropped, arriving ?? 0, current ? current.serial : 0, ...queue.map((c) => c.serial));
        queue.length = 0;
        arriving = null;
        if (current) { current.pause(); current = null; }
        lastEnd = performance.now();
      }
    },
    timing() {
      const gap = (!interrupted && lastEnd !== null && recordStart !== null && recordStart >= lastEnd)
        ? (recordStart - lastEnd) / 1000 : null;
      return JSON.stringify({ gap, interrupted });
    },
    async check(on) {
      if (!on) return "";
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        return say("This page cannot use a microphone: the browser only allows it on https or on localhost. " +
                   "You can still type, and hear the persona answer.", "problem");
      }
      try {
        const devices = await navigator.mediaDevices.enumerateDevices();
        if (!devices.some((d) => d.kind === "audioinput")) {
          return say("No microphone was found. Plug one in and tick Voice again, or type your turns.", "problem");
        }
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        stream.getTracks().forEach((t) => t.stop());
        return say("Microphone ready: press Record, speak, then Stop. The persona answers aloud.", "ready");
      } catch (e) {
        if (e && (e.name === "NotAllowedError" || e.name === "SecurityError")) {
          return say("Microphone permission was refused. Allow the microphone for this site in the browser's " +
                     "site settings and tick Voice again, or type your turns.", "problem");
        }
        if (e && (e.name === "NotFoundError" || e.name === "OverconstrainedError")) {
          return say("No microphone was found. Plug one in and tick Voice again, or type your turns.", "problem");
        }
        return say("The microphone could not be opened. Close other programs using it and tick Voice again, " +
                   "or type your turns.", "problem");
      }
    },
  };
}
"""
