"""`sohoa sign` (being written)."""
import typer

EPILOG = "Example: sohoa sign decision.pdf -o signed/ --p12 agency.p12 --role copy"


def sign() -> None:
    """PAdES signatures with a Decree 30 appearance."""
    raise typer.Exit(2)
