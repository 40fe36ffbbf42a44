"""Threshold alerts on the desk's figures: rules, the evaluator, the history."""
