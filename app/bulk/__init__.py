"""Bulk changes: one status, assignment or tag change to many tickets at once."""
