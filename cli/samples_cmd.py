"""`sohoa samples`: synthetic dossiers and the TEST-ONLY PKI."""
from pathlib import Path
from typing import Annotated

import typer

from .console import err

samples_app = typer.Typer(no_args_is_help=True, help="Synthetic scans and a TEST-ONLY PKI.")
pki_app = typer.Typer(no_args_is_help=True, help="The TEST-ONLY PKI of samples/pki.")
samples_app.add_typer(pki_app, name="pki")


@samples_app.command(epilog="Example: sohoa samples generate ./scans --dossiers 20 --seed 7")
def generate(
    out: Annotated[Path, typer.Argument(help="Folder to write the dossiers into.")],
    dossiers: Annotated[int, typer.Option(min=1, help="How many dossiers.")] = 6,
    seed: Annotated[int, typer.Option(help="Same seed, same scans.")] = 1,
    batch: Annotated[bool, typer.Option(help="Also write a stacked batch with QR separator sheets.")] = True,
) -> None:
    """Write realistic degraded scans of dossiers, each with its ground truth in JSON."""
    from sohoa.samples.generate import generate as generate_set

    with err.status(f"Rendering {dossiers} dossiers…"):
        result = generate_set(out, dossiers=dossiers, seed=seed, stacked_batch=batch)
    err.print(f"[green]Wrote[/] {result.summary()} into {out}")


@pki_app.command("export", epilog="Example: sohoa samples pki export ./test-pki")
def pki_export(out: Annotated[Path, typer.Argument(help="Folder for certificates and .p12 files.")]) -> None:
    """Write the test PKI's certificates and PKCS#12 files (TEST ONLY)."""
    from sohoa.samples import testpki

    testpki.export(out)
    err.print(f"[green]Wrote[/] the TEST-ONLY certificates and .p12 files into {out} "
              f"(password: see samples/pki/README.md)")


@pki_app.command("serve", epilog="Example: sohoa samples pki serve --port 18780")
def pki_serve(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 18780) -> None:
    """Serve the test PKI's CRL, OCSP and timestamping on 127.0.0.1 until Ctrl-C."""
    import time

    from sohoa.samples import testpki

    with testpki.serve(port) as services:
        err.print(f"CRL  {services.crl_url}\nOCSP {services.ocsp_url}\nTSA  {services.tsa_url}\n"
                  "Serving on loopback (TEST ONLY); Ctrl-C stops.")
        while True:
            time.sleep(3600)


@samples_app.command(epilog="Example: sohoa samples softhsm ./token && export SOFTHSM2_CONF=./token/softhsm2.conf")
def softhsm(workdir: Annotated[Path, typer.Argument(help="Folder for the SoftHSM2 token.")]) -> None:
    """Load the agency and leader test keys into a SoftHSM2 token (TEST ONLY)."""
    from sohoa.samples import testpki

    token = testpki.load_into_softhsm(workdir)
    err.print(f"[green]Token[/] '{token.token_label}' ready in {workdir}.\n"
              f"export SOFTHSM2_CONF={token.conf}\n"
              f"module: {token.module} (PIN: see samples/pki/README.md)")
