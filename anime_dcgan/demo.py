"""`python -m anime_dcgan.demo`: the demo command, anime_dcgan/commands/demo.py."""

from anime_dcgan.commands.demo import main

if __name__ == "__main__":
    raise SystemExit(main())
