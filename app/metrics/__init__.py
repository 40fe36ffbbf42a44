"""The desk measured: KPI definitions, rollups kept by a reaction, and the figures."""
