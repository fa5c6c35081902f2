"""PAdES signing and signature validation."""
