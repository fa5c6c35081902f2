"""Synthetic dossiers and a TEST-ONLY PKI for demos, tests and benchmarks."""
