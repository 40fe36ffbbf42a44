"""Continuity: absences, routing on arrival, handover and hand-back, escalation, briefs.

Whoever handles a case may change; the customer is never bounced and never asked to
explain again.
"""
