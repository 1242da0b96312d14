"""`python -m anime_dcgan.bench`: the bench command, anime_dcgan/commands/bench.py."""

from anime_dcgan.commands.bench import main

if __name__ == "__main__":
    raise SystemExit(main())
