"""Embedded models assembled from PyPI parts: verified by sha256, refused in one line when a part is wrong."""

from __future__ import annotations

import hashlib
import sys

import pytest

from simulator.errors import ConfigError
from simulator.models import gguf_catalog
from simulator.models.gguf_catalog import EmbeddedModel, assemble


@pytest.fixture
def parts_on_path(tmp_path, monkeypatch):
    """Two importable part packages holding `data/part01.bin` and `data/part02.bin`, as the PyPI parts do."""
    blobs = [b"GGUF" + bytes(range(256)) * 40, bytes(reversed(range(256))) * 33]
    for number, blob in enumerate(blobs, start=1):
        folder = tmp_path / "site" / f"toy_model_part{number}" / "data"
        folder.mkdir(parents=True)
        (folder.parent / "__init__.py").write_text("raise RuntimeError('a part package is data, never run')\n")
        (folder / f"part{number:02d}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(blobs)
    return tmp_path, EmbeddedModel(
        name="toy", title="Toy", file_name="toy.gguf", size=len(whole), sha256=hashlib.sha256(whole).hexdigest(),
        licence="MIT", prompt_style="chat", packages=("toy-model-part1", "toy-model-part2"), install="pip install toy",
        speed="instant")


def test_parts_are_assembled_once_and_verified(parts_on_path):
    tmp_path, model = parts_on_path
    target = assemble(model, cache=tmp_path / "cache")
    assert target.read_bytes()[:4] == b"GGUF" and target.stat().st_size == model.size
    assert "toy_model_part1" not in sys.modules  # located, never imported
    before = target.stat().st_mtime_ns
    assert assemble(model, cache=tmp_path / "cache").stat().st_mtime_ns == before  # not rebuilt


def test_a_corrupt_part_is_refused_in_one_line_and_nothing_is_kept(parts_on_path):
    tmp_path, model = parts_on_path
    part = tmp_path / "site" / "toy_model_part2" / "data" / "part02.bin"
    part.write_bytes(b"\x00" + part.read_bytes()[1:])  # one byte changed: same size, different content
    with pytest.raises(ConfigError) as caught:
        assemble(model, cache=tmp_path / "cache")
    message = str(caught.value)
    assert "\n" not in message and "toy" in message and "sha256" in message and "reinstall" in message
    assert not any((tmp_path / "cache").iterdir())  # no half file, no stamp


def test_a_missing_part_names_its_package(parts_on_path):
    tmp_path, model = parts_on_path
    model = model.model_copy(update={"packages": ("toy-model-part1", "toy-model-part9")})
    with pytest.raises(ConfigError, match=r"toy-model-part9 \(part 2 of 2\) is not installed: run `pip install toy`"):
        assemble(model, cache=tmp_path / "cache")


def test_unknown_names_are_refused_listing_the_choices():
    with pytest.raises(ConfigError, match="qwen-1.5b, qwen-0.5b, gemma-270m"):
        gguf_catalog.resolve("llama-70b")


@pytest.mark.embedded
def test_the_default_model_from_pypi_matches_the_official_release(tmp_path):
    """The real parts, assembled afresh: their sha256 is the official Qwen release's."""
    model = gguf_catalog.CATALOG[gguf_catalog.DEFAULT]
    target = assemble(model, cache=tmp_path)
    digest = hashlib.sha256()
    with target.open("rb") as handle:
        while block := handle.read(1 << 24):
            digest.update(block)
    assert digest.hexdigest() == model.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
