"""`python -m sycolab` runs the command line."""

from sycolab.cli.app import main

main()
