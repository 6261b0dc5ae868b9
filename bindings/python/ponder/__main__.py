"""`python -m ponder serve …` and `python -m ponder batch …` (docs/serving.md); the same as the
`ponder-serve` and `ponder-batch` commands."""
import sys

USAGE = """usage: python -m ponder {serve,batch} [options]

  serve   an OpenAI-compatible image server (needs: pip install "ponder[serve]")
  batch   prompts file → PNGs and plans, on every core or on Ray (pip install "ponder[batch]", "ponder[ray]")

python -m ponder serve --help and python -m ponder batch --help list the options."""


def serve(argv=None) -> int:
    """The `ponder-serve` command: says which extra to install when the server's libraries are missing."""
    try:
        from ponder import serve as module
    except ImportError as e:
        print(e, file=sys.stderr)
        return 2
    return module.main(argv)


def batch(argv=None) -> int:
    """The `ponder-batch` command."""
    from ponder import batch as module
    return module.main(argv)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        return serve(rest)
    if command == "batch":
        return batch(rest)
    print(f"python -m ponder: unknown command '{command}'\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
