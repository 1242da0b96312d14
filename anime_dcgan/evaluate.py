"""`python -m anime_dcgan.evaluate`: the evaluate command, anime_dcgan/commands/evaluate.py."""

from anime_dcgan.commands.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
