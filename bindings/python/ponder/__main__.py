"""`python -m ponder serve …` and `python -m ponder batch …` (docs/serving.md); the same as the
`ponder-serve` and `ponder-batch` commands."""
import sys

USAGE = """usage: python -m ponder {serve,batch} [options]

  serve   an OpenAI-compatible image server (needs: pip install "ponder[serve]")
  batch   prompts file → PNGs and plans, on every core or on Ray (pip install "ponder[batch]", "ponder[ray]")

python -m ponder serve --help and python -m ponder batch --help list the options."""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        try:
            from ponder import serve
        except ImportError as e:
            print(f"ponder serve: {e}", file=sys.stderr)
            return 2
        return serve.main(rest)
    if command == "batch":
        from ponder import batch
        return batch.main(rest)
    print(f"python -m ponder: unknown command '{command}'\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
