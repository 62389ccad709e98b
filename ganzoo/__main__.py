"""`python -m ganzoo` runs the same command line as the `ganzoo` console script."""

from ganzoo.cli import main

if __name__ == "__main__":
    main(prog_name="ganzoo")
