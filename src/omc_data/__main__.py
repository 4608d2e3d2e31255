"""``python -m omc_data`` runs the CLI."""

from omc_data.cli.app import main

if __name__ == "__main__":
    main()
