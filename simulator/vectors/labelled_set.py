"""A small labelled retrieval set, written for Rapport: 16 dossier entries and 40 learner questions, each
labelled with the entry it is about. Most questions paraphrase rather than repeat their entry's words.

The tests assert a recall floor on it and `python -m bench retrieval` reports it; both share this module.
All 16 entries sit in one pool, which is harder than real use (a persona has three or four entries).
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict

from ..persona.spec import KnowledgeEntry
from .collection import Document, VectorCollection
from .knowledge import entry_text

COLLECTION = "rapport-labelled-set"


def _entry(id: str, keywords: list[str], content: str) -> KnowledgeEntry:
    return KnowledgeEntry(id=id, keywords=keywords, content=content)


ENTRIES: list[KnowledgeEntry] = [
    _entry("budget", ["budget", "cost", "spend", "price"],
           "The department's software budget for next year is EUR 180,000, frozen since the March board meeting."),
    _entry("current-vendor", ["vendor", "supplier", "contract", "incumbent"],
           "They use Stratis for rostering on a contract that ends in September; Stratis offered 12% off to renew "
           "for three years."),
    _entry("outage", ["outage", "downtime", "incident", "crash"],
           "Last winter the old system went down for two days during the Christmas peak; 4,000 orders shipped late."),
    _entry("team-size", ["team", "staff", "headcount", "people"],
           "The planning team is eleven people, four of whom joined in the last six months; two work night shifts."),
    _entry("decision-maker", ["boss", "director", "approval", "sign off"],
           "Final approval sits with the operations director, Ingrid Maas, who prefers written proposals to demos."),
    _entry("timeline", ["deadline", "timeline", "go-live"],
           "They want any new tool live before peak season starts on 1 October, so a contract must be signed by June."),
    _entry("security", ["security", "gdpr", "data", "privacy", "audit"],
           "IT security requires EU data residency and an ISO 27001 certificate; a failed audit in 2022 still "
           "worries them."),
    _entry("family", ["kids", "children", "family", "daughters"],
           "She has two daughters, eight and eleven, and leaves at 4.30pm on Thursdays to take them swimming."),
    _entry("hobby", ["running", "marathon", "weekend"],
           "She ran the Rotterdam marathon in April in 3 hours 52 minutes and is now training for Berlin."),
    _entry("health", ["back", "pain", "physio"],
           "She has had lower back pain since a fall last year and sees a physiotherapist every other Friday."),
    _entry("training", ["training", "onboarding", "course"],
           "New planners shadow a senior colleague for three weeks; there is no formal course and no written manual."),
    _entry("integration", ["integration", "api", "erp", "sap"],
           "Orders come from SAP S/4HANA through a nightly batch export; the SAP partner quoted EUR 60,000 for "
           "real-time integration."),
    _entry("previous-job", ["career", "experience"],
           "Before joining she spent nine years as a shift manager at a DHL parcel hub in Venlo."),
    _entry("complaint", ["complaint", "customers", "feedback"],
           "Their biggest customer, a garden-centre chain, complained twice this spring about missed delivery "
           "windows."),
    _entry("reporting", ["reports", "dashboard", "kpi"],
           "She builds the weekly KPI report by hand in Excel every Monday morning; it takes about three hours."),
    _entry("sustainability", ["sustainability", "emissions", "co2"],
           "The company has promised a 30% cut in transport CO2 emissions by 2027; its trucks run 18% empty."),
]

QUERIES: list[tuple[str, str]] = [
    ("How much money have you set aside for this next year?", "budget"),
    ("Is there any room in the budget for a new system?", "budget"),
    ("What are you using at the moment for staff scheduling?", "current-vendor"),
    ("When does your current agreement run out?", "current-vendor"),
    ("Has your existing provider offered you anything to stay?", "current-vendor"),
    ("Have you ever had the system fail on you?", "outage"),
    ("What happened during last year's Christmas rush?", "outage"),
    ("How many planners work with you?", "team-size"),
    ("Is your group mostly experienced or fairly new?", "team-size"),
    ("Who makes the final call on this?", "decision-maker"),
    ("How does your boss like to receive proposals?", "decision-maker"),
    ("By when would you need this up and running?", "timeline"),
    ("Is there a date you're working towards?", "timeline"),
    ("Where does our information have to be hosted?", "security"),
    ("What does your IT department need from a compliance point of view?", "security"),
    ("Did anything go wrong in a past inspection?", "security"),
    ("Do you have kids?", "family"),
    ("Why do you leave early on Thursdays?", "family"),
    ("What do you do to unwind at the weekend?", "hobby"),
    ("Are you training for any races?", "hobby"),
    ("How is your back doing these days?", "health"),
    ("Are you seeing anyone about the injury?", "health"),
    ("How do new people learn the job here?", "training"),
    ("Is there any documentation for new starters?", "training"),
    ("How do orders get into your planning tool?", "integration"),
    ("Does it need to connect to your ERP?", "integration"),
    ("What would live syncing with your order system cost?", "integration"),
    ("What did you do before this role?", "previous-job"),
    ("Where did you work before coming here?", "previous-job"),
    ("Are your customers happy with deliveries?", "complaint"),
    ("Has anyone been unhappy with your service recently?", "complaint"),
    ("How do you keep track of your performance numbers?", "reporting"),
    ("How long does your weekly reporting take?", "reporting"),
    ("Do you have any environmental targets?", "sustainability"),
    ("How full are your lorries usually?", "sustainability"),
    ("What will it cost us if we go over your spending limit?", "budget"),
    ("Tell me about the day the planning software went down.", "outage"),
    ("Would a written proposal work better than a demo for your director?", "decision-maker"),
    ("Do you do any sport?", "hobby"),
    ("Are you working towards greener transport?", "sustainability"),
]


class RecallResult(BaseModel):
    """Recall@k of the labelled set, with the rank of each question's entry (None when not in the top k)."""

    model_config = ConfigDict(extra="forbid")

    k: int
    recall_at_1: float
    recall_at_k: float
    mrr: float
    ranks: list[int | None]
    misses: list[str]


def index_labelled_set(collection: VectorCollection) -> None:
    """Put the labelled entries into `collection` (idempotent)."""
    documents = [Document(id=e.id, text=entry_text(e), metadata={"entry_id": e.id}) for e in ENTRIES]
    digest = hashlib.sha256("\n".join(d.id + d.text for d in documents).encode()).hexdigest()[:32]
    collection.sync(documents, version=digest)


def measure_recall(collection: VectorCollection | None = None, k: int = 3) -> RecallResult:
    """Index the set, ask every question, and score where its labelled entry ranks."""
    collection = collection or VectorCollection(COLLECTION)
    index_labelled_set(collection)
    results = collection.query_many([q for q, _ in QUERIES], k)
    ranks: list[int | None] = []
    for (_, label), hits in zip(QUERIES, results, strict=True):
        ids = [h.id for h in hits]
        ranks.append(ids.index(label) + 1 if label in ids else None)
    n = len(QUERIES)
    return RecallResult(
        k=k,
        recall_at_1=sum(r == 1 for r in ranks) / n,
        recall_at_k=sum(r is not None for r in ranks) / n,
        mrr=sum(1 / r for r in ranks if r) / n,
        ranks=ranks,
        misses=[f"{q} -> {label}" for (q, label), r in zip(QUERIES, ranks, strict=True) if r is None],
    )
