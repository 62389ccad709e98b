"""`ganzoo download NAME.TAG`: fetch, verify and convert pretrained weights into the cache."""

from __future__ import annotations

import click


@click.command("download")
@click.argument("names", nargs=-1, required=True)
@click.option("--url", default=None, help="Download from this URL instead of the catalogue's (one NAME only).")
@click.option("--force", is_flag=True, help="Convert again even when the converted file is cached.")
@click.option("--trust-hash-mismatch", is_flag=True,
              help="Keep a file whose sha256 differs from the catalogue's (you accept the risk).")
def download_cmd(names: tuple[str, ...], url: str | None, force: bool, trust_hash_mismatch: bool) -> None:
    """Download pretrained weights NAME.TAG (see 'ganzoo list --pretrained') and convert them."""
    from ganzoo.pretrained import fetch_pretrained

    if url and len(names) > 1:
        raise click.UsageError("--url works with one NAME.TAG at a time")
    for name in names:
        path = fetch_pretrained(name, url=url, force=force, trust_hash_mismatch=trust_hash_mismatch)
        click.echo(f"{name}: {path}")
