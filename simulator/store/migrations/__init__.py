"""Numbered Alembic migrations of the session store (0001, 0002, ...), applied on startup."""
