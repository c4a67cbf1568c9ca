"""`python -m gpuctl`: the CLI run by a given interpreter, whatever PATH holds (the Pulumi program's per-rack
commands run it with the program's own interpreter)."""

from gpuctl.cli.app import main

if __name__ == "__main__":  # importing the module (tests walk every module) must not run the CLI
    main()
