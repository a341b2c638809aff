"""``python -m app.cli`` runs the ``ragbot`` command line."""

from app.cli import main

main()
