"""`sohoa verify` and `sohoa trust` (being written)."""
import typer

EPILOG = "Example: sohoa verify ./signed --trust root.pem --json"
trust_app = typer.Typer(no_args_is_help=True, help="Trust anchors for verification.")


def verify() -> None:
    """Validate every signature of PDF files and folders."""
    raise typer.Exit(2)
