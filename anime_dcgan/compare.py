"""`python -m anime_dcgan.compare`: the compare command, anime_dcgan/commands/compare.py."""

from anime_dcgan.commands.compare import main

if __name__ == "__main__":
    raise SystemExit(main())
