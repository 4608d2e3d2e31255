"""The builder: collectors (real public data) and generators (seeded synthetic data) feeding the writer."""
