"""Scripted eval suites: run personas and the evaluator the way teams test software."""
