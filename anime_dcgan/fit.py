"""`python -m anime_dcgan.fit`: the fit command, anime_dcgan/commands/fit.py."""

from anime_dcgan.commands.fit import main

if __name__ == "__main__":
    raise SystemExit(main())
