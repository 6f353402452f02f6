"""``python -m sim2real`` runs the CLI."""

from sim2real.cli import main

main()
