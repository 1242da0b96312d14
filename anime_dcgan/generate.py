"""`python -m anime_dcgan.generate`: the generate command, anime_dcgan/commands/generate.py."""

from anime_dcgan.commands.generate import main

if __name__ == "__main__":
    raise SystemExit(main())
