"""Evaluator and eval suites (built on `simulator`)."""
