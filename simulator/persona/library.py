"""Where personas live: bundled, the user's directory, and `RAPPORT_PERSONAS`; later sources override earlier ones.
A logged-in learner's own folder comes last but never overrides: their copies cannot shadow shared personas."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ..errors import DataFileError, PersonaNotFoundError, Problem
from ..paths import bundled_personas_dir, extra_persona_paths, user_personas_dir
from .loader import load_persona
from .spec import PersonaSpec


class Origin(StrEnum):
    BUNDLED = "bundled"
    USER = "user"
    EXTRA = "RAPPORT_PERSONAS"
    OWN = "own"  # a logged-in learner's own personas


@dataclass(frozen=True)
class PersonaSource:
    """A loaded persona and the file it came from."""

    spec: PersonaSpec
    path: Path
    origin: Origin
    overrides: Path | None = None  # the file with the same id that this one replaces


def persona_files(folder_or_file: Path) -> list[Path]:
    """The persona YAML files in a folder (sorted), or the file itself."""
    if folder_or_file.is_file():
        return [folder_or_file]
    if folder_or_file.is_dir():
        return sorted(p for p in folder_or_file.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    return []


def files_stamp(sources: list[tuple[Path, Origin]]) -> tuple:
    """What the persona files of `sources` look like now (names, sizes, modification times): a different stamp
    means a file was added, removed or rewritten, perhaps by another process sharing the folders."""
    stamp = []
    for location, _origin in sources:
        for path in persona_files(location):
            try:
                status = path.stat()
            except OSError:  # removed between the listing and the stat: the next stamp differs anyway
                continue
            stamp.append((str(path), status.st_size, status.st_mtime_ns))
    return tuple(stamp)


class PersonaLibrary:
    """All personas a user can pick, keyed by id. Files that fail to load are kept as `problems`."""

    def __init__(self, sources: list[tuple[Path, Origin]] | None = None):
        if sources is None:
            sources = [(bundled_personas_dir(), Origin.BUNDLED), (user_personas_dir(), Origin.USER)]
            sources += [(p, Origin.EXTRA) for p in extra_persona_paths()]
        self.sources = sources
        self.problems: list[Problem] = []
        self._by_id: dict[str, PersonaSource] = {}
        self._origins: dict[str, set[Origin]] = {}  # every source that has a file with this id
        for location, origin in sources:
            for path in persona_files(location):
                self._add(path, origin)

    def _add(self, path: Path, origin: Origin) -> None:
        try:
            spec = load_persona(path)
        except DataFileError as exc:
            self.problems.extend(exc.problems)
            return
        earlier = self._by_id.get(spec.id)
        if earlier is not None and earlier.origin == origin:
            self.problems.append(
                Problem(str(path), None, "id", f"'{spec.id}' is already used by {earlier.path}; ids must be unique")
            )
            return
        if earlier is not None and origin == Origin.OWN:
            self.problems.append(Problem(str(path), None, "id", f"'{spec.id}' is already the id of a shared persona; "
                                         "change this file's id to practise with it"))
            return
        self._origins.setdefault(spec.id, set()).add(origin)
        # user and extra files override bundled ones
        self._by_id[spec.id] = PersonaSource(spec, path, origin, earlier.path if earlier else None)

    def __iter__(self):
        return iter(sorted(self._by_id.values(), key=lambda s: (s.spec.domain.value, s.spec.name)))

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def origins(self, persona_id: str) -> set[Origin]:
        """Every kind of source with a persona of this id (the bundled one stays listed when overridden)."""
        return set(self._origins.get(persona_id, ()))

    def with_learner(self, learner_dir: Path) -> "PersonaLibrary":
        """These sources plus a learner's own folder: what that learner can pick."""
        return PersonaLibrary([*[s for s in self.sources if s[1] != Origin.OWN], (learner_dir, Origin.OWN)])

    def source(self, persona_id: str) -> PersonaSource:
        """The persona with this id and where it came from."""
        try:
            return self._by_id[persona_id]
        except KeyError:
            known = ", ".join(self.ids()) or "none"
            raise PersonaNotFoundError(f"no persona with id '{persona_id}'; known ids: {known}") from None

    def get(self, persona_id: str) -> PersonaSpec:
        return self.source(persona_id).spec
