"""Merging: a duplicate ticket into its primary, a customer record into another."""
