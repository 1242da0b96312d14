"""`python -m anime_dcgan.download`: the download command, anime_dcgan/commands/download.py."""

from anime_dcgan.commands.download import main

if __name__ == "__main__":
    raise SystemExit(main())
