"""The omc-data command line (typer): one module per command group, heavy imports inside commands."""
