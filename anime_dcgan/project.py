"""`python -m anime_dcgan.project`: the project command, anime_dcgan/commands/project.py."""

from anime_dcgan.commands.project import main

if __name__ == "__main__":
    raise SystemExit(main())
