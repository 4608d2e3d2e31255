"""The builder: real public data (``sources``, fetched by ``fetch``) and generators (seeded synthetic
data) feeding the writer."""
