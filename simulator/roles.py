"""Who a user is to the app: the three roles of the optional login, shared by the store, the CLI and the UI."""

from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    LEARNER = "learner"  # practises; studio saves go to their own persona space; sees their own cohorts' assignments
    TRAINER = "trainer"  # also edits the shared personas, runs cohorts and reviews their learners' assigned sessions
    ADMIN = "admin"  # a trainer who runs the server and sees every cohort (the local user without a login is one)

    @property
    def edits_shared_personas(self) -> bool:
        return self is not UserRole.LEARNER

    @property
    def trains(self) -> bool:
        """May create cohorts, assign practice and review it."""
        return self is not UserRole.LEARNER
