"""Run suite cases concurrently: sessions with scripted, simulated or recorded learners, graded and checked."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from simulator.config import ModelSpec, Role, parse_model_spec, resolve_model_spec
from simulator.errors import ConfigError, DataFileError, ModelError, Problem, RapportError
from simulator.model_reading import ReaderKind, reader_for
from simulator.models import build_chat_model, provider_for
from simulator.persona import PersonaLibrary
from simulator.persona.spec import PersonaSpec
from simulator.replay import replay_dynamics
from simulator.session import EndReason, Session
from simulator.signals import TurnReader
from simulator.trajectory import trajectory_points
from simulator.transcript import Speaker, Transcript
from simulator.voice import listener_for
from simulator.voice.audio import read_audio
from simulator.voice.base import VoiceRole
from simulator.voice.delivery import Delivery, measure
from simulator.yaml_source import line_of, load_yaml, read_text

from ..grading import Grader
from ..judge_checks import check_statement
from ..model_rewrites import ModelRewriter, rewriter_for
from ..scorecard import Scorecard
from ..transcripts import read_transcript
from .expectations import check_case, check_comparison
from .learners import SimulatedLearner, learner_profiles, resolve_profile
from .report import CaseRun, SuiteReport
from .spec import Case, SpokenTurn, SuiteSpec, load_suite

CASE_ATTEMPTS = 3  # a case hit by a transient provider error is run again, with backoff and jitter



def replayed_outcome(persona: PersonaSpec, appraisals: list) -> tuple[str, str | None]:
    """The outcome a live session would have ended on: the first learner turn at which success or failure held."""
    from simulator.disclosure import outcome_after_turn

    unlocked: list[str] = []
    for appraisal in appraisals:
        unlocked += appraisal.unlocked
        outcome = outcome_after_turn(persona, appraisal.after, unlocked, appraisal.text)
        if outcome is not None:
            return outcome.kind, f"turn {appraisal.turn}: {outcome.reason}"
    return "none", None

@dataclass
class LoadedSuite:
    path: Path
    spec: SuiteSpec


def load_suites(paths: list[Path], library: PersonaLibrary) -> list[LoadedSuite]:
    """Load every suite and check what it refers to; raises `DataFileError` listing every problem."""
    suites, problems = [], []
    for path in paths:
        try:
            suites.append(LoadedSuite(path, load_suite(path)))
        except DataFileError as exc:
            problems.extend(exc.problems)
    for suite in suites:
        problems.extend(_reference_problems(suite, library))
    if problems:
        raise DataFileError(problems)
    return suites


def _reference_problems(suite: LoadedSuite, library: PersonaLibrary) -> list[Problem]:
    data = load_yaml(read_text(suite.path), suite.path)
    problems = []

    def problem(loc: tuple, message: str) -> None:
        problems.append(Problem(str(suite.path), line_of(data, loc), ".".join(str(p) if not isinstance(p, int) else f"[{p}]"
                                                                              for p in loc).replace(".[", "["), message))

    for n, case in enumerate(suite.spec.cases):
        if case.persona not in library.ids():
            problem(("cases", n, "persona"), f"no persona '{case.persona}'; known: {', '.join(library.ids())}")
            continue
        persona = library.get(case.persona)
        hidden = {i.id for i in persona.hidden_information}
        expect = case.expect
        if expect.hidden:
            for item in expect.hidden.must_unlock + expect.hidden.must_not_unlock:
                if item not in hidden:
                    problem(("cases", n, "expect", "hidden"), f"'{item}' is not a hidden item of {case.persona}"
                            f" (has: {', '.join(sorted(hidden)) or 'none'})")
        for t, line in enumerate(case.learner.script or []):
            if isinstance(line, SpokenTurn) and not (suite.path.parent / line.audio).is_file():
                problem(("cases", n, "learner", "script", t, "audio"), f"no file {suite.path.parent / line.audio}")
        if case.learner.transcript and not (suite.path.parent / case.learner.transcript).is_file():
            problem(("cases", n, "learner", "transcript"), f"no file {suite.path.parent / case.learner.transcript}")
        if case.learner.simulated:
            profile = case.learner.simulated.profile
            if " " not in profile and profile not in learner_profiles():
                problem(("cases", n, "learner", "simulated", "profile"),
                        f"no learner profile '{profile}'; known: {', '.join(learner_profiles())} (or write a description)")
        for role, text in case.models.items():
            if role not in {r.value for r in Role} | {r.value for r in VoiceRole}:
                problem(("cases", n, "models"), f"unknown model role '{role}'")
            elif text is not None:
                try:
                    parse_model_spec(text, source=f"{suite.path}: cases[{n}].models.{role}")
                except RapportError as exc:
                    problem(("cases", n, "models", role), str(exc).split(": ", 1)[-1])
    return problems


class ModelPool:
    """One chat model per (role, spec) for the whole run; the command line overrides every suite and case."""

    def __init__(self, overrides: dict[str, str]):
        self.overrides = overrides
        self._models: dict[tuple[str, str], tuple[ModelSpec, BaseChatModel]] = {}

    def spec_for(self, role: str, *layers: dict[str, str | None]) -> ModelSpec | None:
        if role in self.overrides:
            text = self.overrides[role]
            return None if text == "none" else parse_model_spec(text, source=f"--model-role {role}")
        for layer in layers:
            if role in layer:
                text = layer[role]
                return None if text is None else parse_model_spec(text, source=f"suite models.{role}")
        return resolve_model_spec(Role(role))

    def get(self, role: str, spec: ModelSpec | None, shard: int = 0) -> BaseChatModel | None:
        """The model for (role, spec); `shard` lets a provider spread concurrent cases over several connection
        pools (see its `pool_key`)."""
        if spec is None:
            return None
        key = (role, spec.model_dump_json(exclude={"source"}), provider_for(spec).pool_key(spec, shard))
        if key not in self._models:
            self._models[key] = (spec, build_chat_model(spec, Role(role)))
        return self._models[key][1]

    async def aclose(self) -> None:
        """Close the models' connections on the running loop (a model used again opens new ones)."""
        for _spec, model in self._models.values():
            closer = getattr(model, "aclose", None)
            if closer is not None:
                await closer()


@dataclass
class CaseJob:
    suite: LoadedSuite
    case: Case
    repeat: int
    persona: PersonaSpec
    specs: dict[str, ModelSpec | None] = field(default_factory=dict)
    shard: int = 0

CONNECTIONS_PER_POOL = 8


class SuiteRunner:
    def __init__(self, suites: list[LoadedSuite], *, library: PersonaLibrary, overrides: dict[str, str] | None = None,
                 concurrency: int = 4, repeat: int | None = None, grade: bool = True, reader: str | None = None):
        self.suites = suites
        self.library = library
        self.pool = ModelPool(overrides or {})
        self.concurrency = max(1, concurrency)
        self.repeat = repeat
        self.grade = grade
        self.reader = TurnReader()  # the learned coder: replaying a recorded transcript uses it
        self.reader_override = reader

    def _reader_kind(self, suite: LoadedSuite) -> str:
        return self.reader_override or suite.spec.defaults.reader

    def _live_reader(self, job: CaseJob) -> TurnReader:
        spec = job.specs[Role.JUDGE]
        return reader_for(self._reader_kind(job.suite), lambda: (self.pool.get(Role.JUDGE, spec, job.shard), spec))

    def jobs(self) -> list[CaseJob]:
        jobs = []
        for suite in self.suites:
            repeats = self.repeat or suite.spec.defaults.repeats
            for case in suite.spec.cases:
                specs = {role.value: self.pool.spec_for(role, case.models, suite.spec.defaults.models) for role in Role}
                if self._reader_kind(suite) == ReaderKind.JUDGE and specs[Role.JUDGE] is None:
                    raise ConfigError(f"{suite.path}: case '{case.id}': turns are read by the judge model (reader:"
                                      " judge), and no judge model is set: add models.judge or --model-role judge=SPEC")
                for repeat in range(repeats):
                    jobs.append(CaseJob(suite, case, repeat, self.library.get(case.persona), specs))
        shards = max(1, -(-self.concurrency // CONNECTIONS_PER_POOL))
        for number, job in enumerate(jobs):
            job.shard = number % shards
        return jobs

    async def run(self, on_done: Callable[[CaseRun], None] = lambda run: None) -> SuiteReport:
        started, clock = datetime.now(UTC), time.perf_counter()
        jobs = self.jobs()
        gate = asyncio.Semaphore(self.concurrency)

        async def one(job: CaseJob) -> CaseRun:
            async with gate:
                run = await self._with_retries(job)
            on_done(run)
            return run

        try:
            runs = list(await asyncio.gather(*(one(job) for job in jobs)))
        finally:
            await self.pool.aclose()  # the HTTP clients belong to this event loop, which ends with the run
        comparisons = [v for suite in self.suites for c in suite.spec.comparisons
                       for v in check_comparison(c, [r for r in runs if r.case in c.ascending])]
        defaults = self.suites[0].spec.defaults.models if self.suites else {}
        models = {role.value: (s.label if (s := self.pool.spec_for(role, defaults)) else None) for role in Role}
        return SuiteReport(suites=[str(s.path) for s in self.suites], names=[s.spec.name for s in self.suites],
                           started=started.isoformat(timespec="seconds"), seconds=time.perf_counter() - clock,
                           models=models, concurrency=self.concurrency, runs=runs, comparisons=comparisons)

    async def run_job(self, job: CaseJob) -> CaseRun:
        """One case run, retried on transient provider errors, within its timeout."""
        return await self._with_retries(job)

    async def _with_retries(self, job: CaseJob) -> CaseRun:
        timeout = job.suite.spec.defaults.timeout
        for attempt in range(1, CASE_ATTEMPTS + 1):
            clock = time.perf_counter()
            try:
                run = await asyncio.wait_for(self._run_case(job), timeout)
            except asyncio.TimeoutError:
                run = self._failed_run(job, f"timed out after {timeout:g}s")
            except ModelError as exc:
                if exc.retryable and attempt < CASE_ATTEMPTS:
                    await asyncio.sleep(min(8.0, 0.5 * 2**attempt) * (0.75 + random.random() / 2))
                    continue
                run = self._failed_run(job, str(exc))
            except RapportError as exc:
                run = self._failed_run(job, str(exc))
            run.attempts, run.seconds = attempt, time.perf_counter() - clock
            return run
        raise AssertionError("unreachable")  # pragma: no cover

    def _failed_run(self, job: CaseJob, error: str) -> CaseRun:
        return CaseRun(case=job.case.id, suite=str(job.suite.path), repeat=job.repeat, persona=job.persona.id,
                       difficulty=self._difficulty(job), learner=job.case.learner.kind, models=self._labels(job),
                       error=error)

    def _difficulty(self, job: CaseJob) -> str:
        return (job.case.difficulty or job.suite.spec.defaults.difficulty).value

    def _labels(self, job: CaseJob) -> dict[str, str | None]:
        return {role: spec.label if spec else None for role, spec in job.specs.items()}

    async def _run_case(self, job: CaseJob) -> CaseRun:
        case, persona, defaults = job.case, job.persona, job.suite.spec.defaults
        difficulty = self._difficulty(job)
        run = CaseRun(case=case.id, suite=str(job.suite.path), repeat=job.repeat, persona=persona.id,
                      difficulty=difficulty, learner=case.learner.kind, models=self._labels(job))
        appraisals, rewriter = None, None
        if case.learner.transcript:
            transcript = read_transcript(job.suite.path.parent / case.learner.transcript)
            dynamics = replay_dynamics(transcript, persona, self.reader, difficulty=difficulty)
            appraisals, initial = dynamics.trajectory, dynamics.initial
            run.outcome, run.ending = replayed_outcome(persona, appraisals)
        else:
            session = await self._converse(job, difficulty, defaults.max_turns)
            rewriter = rewriter_for(session.model_spec, session.model)  # only a model this case has loaded already
            transcript = session.transcript()
            appraisals, initial = session.trajectory, session.dynamics.initial
            reason = session.ending.reason if session.ending else None
            run.ending = session.ending.detail if session.ending else "the script ran out"
            run.outcome = "success" if reason is EndReason.SUCCESS else "failure" if reason is EndReason.FAILURE else "none"
        run.transcript = transcript
        run.trajectory = trajectory_points(initial, appraisals)
        run.unlocked = [item for point in run.trajectory for item in point.unlocked]
        judge_spec = job.specs[Role.JUDGE]
        judge_model = self.pool.get(Role.JUDGE, judge_spec, job.shard)
        if self.grade:
            await self._grade(run, job, transcript, appraisals, judge_model, judge_spec, defaults.judge_samples,
                              rewriter)
        checker = None
        if judge_model is not None:
            async def checker(statement: str, t: Transcript):
                return await check_statement(judge_model, judge_spec, statement, t)
        run.verdicts = await check_case(case.expect, run, persona, checker)
        return run

    async def _grade(self, run: CaseRun, job: CaseJob, transcript: Transcript, appraisals, judge_model, judge_spec,
                     samples: int, rewriter: ModelRewriter | None = None) -> None:
        """The app's grader with this case's judge (none when the suite sets none) and judge samples; `rewriter`,
        the case's local persona model, writes the offline rewrites as it would in the app."""
        grader = Grader(offline_only=judge_model is None, judge_model=judge_model, judge_spec=judge_spec,
                        library=self.library, samples=samples, no_judge_note=None)
        graded = await grader.grade(transcript, job.persona, appraisals=appraisals, rewriter=rewriter)
        run.offline_scores = _scores(graded.offline)
        run.scorecard = graded.scorecard.contract()
        run.scores = _scores(graded.scorecard)

    async def _hear(self, job: CaseJob, turn: SpokenTurn) -> tuple[str, Delivery]:
        """A recorded turn, heard by the case's `listen` model and measured as the app measures a spoken turn."""
        path = job.suite.path.parent / turn.audio
        spec = job.case.models.get("listen") or job.suite.spec.defaults.models.get("listen")
        audio = await asyncio.to_thread(read_audio, path)
        transcript = await asyncio.to_thread(listener_for(spec).listen, audio)
        if not transcript.text.strip():
            raise RapportError(f"{path}: no words were heard in this recording")
        return transcript.text.strip(), measure(transcript, audio)

    async def _converse(self, job: CaseJob, difficulty: str, max_turns: int) -> Session:
        persona_spec = job.specs[Role.PERSONA]
        persona_model = self.pool.get(Role.PERSONA, persona_spec, job.shard)
        if persona_model is None:
            raise RapportError(f"case '{job.case.id}' needs a persona model")
        session = Session(job.persona, persona_model, difficulty=difficulty, model_spec=persona_spec,
                          max_turns=10_000, reader=self._live_reader(job), streaming=False)
        learner = job.case.learner
        if learner.script:
            for line in learner.script:
                if session.ended:
                    break
                text, delivery = line, None
                if isinstance(line, SpokenTurn):
                    text, delivery = await self._hear(job, line)
                async for _ in session.send(text, delivery=delivery):
                    pass
            return session
        simulated = learner.simulated
        learner_model = self.pool.get(Role.LEARNER, job.specs[Role.LEARNER], job.shard)
        if learner_model is None:
            raise RapportError(f"case '{job.case.id}' has a simulated learner but no learner model is configured")
        player = SimulatedLearner(learner_model, job.persona, resolve_profile(simulated.profile))
        limit = simulated.max_turns or max_turns
        stop = re_compile(simulated.stop.persona_says)
        for _ in range(limit):
            line = await player.next_line(session.turns)
            if not line:
                break
            async for _ in session.send(line):
                pass
            if session.ended:  # an outcome, the persona walking out, or the learner saying goodbye
                break
            if stop and stop.search(session.turns[-1].text) and session.turns[-1].speaker is Speaker.PERSONA:
                break
        return session


def _scores(card: Scorecard) -> dict[str, float]:
    return {**{k: v.score for k, v in card.criteria.items()}, "overall": card.overall}


def re_compile(pattern: str | None):
    import re

    return re.compile(pattern, re.IGNORECASE) if pattern else None
