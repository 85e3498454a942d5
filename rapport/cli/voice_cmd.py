"""`rapport transcribe FILE` and `rapport say TEXT -o out.wav`: the voice seam from the terminal."""

from __future__ import annotations

from pathlib import Path

import typer

from .root import app, err

MODEL_HELP = "embedded (offline, the default), openai:MODEL@URL or fake."


@app.command("transcribe")
def transcribe(
    file: Path = typer.Argument(..., help="A recording: WAV, or webm / ogg / mp3 (read with PyAV).", show_default=False),
    as_json: bool = typer.Option(False, "--json", help="Print the transcript as JSON, with each word's timing."),
    model: str | None = typer.Option(None, "--model", help=f"What listens: {MODEL_HELP}"),
) -> None:
    """Print what the listener hears in FILE."""
    from simulator.voice import listener_for
    from simulator.voice.audio import read_audio

    audio = read_audio(file)  # AudioError names the file: one line, exit 1
    transcript = listener_for(model).listen(audio)
    typer.echo(transcript.model_dump_json(indent=2) if as_json else transcript.text)


@app.command("say")
def say(
    text: str = typer.Argument(..., help="What to say.", show_default=False),
    output: Path = typer.Option(..., "-o", "--output", help="The WAV file to write.", show_default=False),
    persona_id: str | None = typer.Option(None, "--persona", help="Speak in this persona's voice (see `rapport personas list`)."),
    model: str | None = typer.Option(None, "--model", help=f"What speaks: {MODEL_HELP}"),
) -> None:
    """Speak TEXT in a persona's voice and write it to one WAV file."""
    from simulator.errors import ConfigError
    from simulator.persona import PersonaLibrary
    from simulator.voice import Audio, speaker_for
    from simulator.voice.persona_voice import DEFAULT_VOICE

    voice = DEFAULT_VOICE
    if persona_id is not None:
        voice = getattr(PersonaLibrary().get(persona_id), "voice", None) or DEFAULT_VOICE
    chunks = list(speaker_for(model).speak(text, voice))
    if not chunks:
        raise ConfigError("there is nothing to say: the text has no words to speak")
    audio = Audio.concat(chunks)
    try:
        output.write_bytes(audio.to_wav())
    except OSError as exc:
        raise ConfigError(f"{output}: cannot write ({exc.strerror or exc})") from None
    err.print(f"wrote {output} ({audio.duration:.1f} s, {len(chunks)} sentence(s))", markup=False)
