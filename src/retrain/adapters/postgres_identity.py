"""Passwordless login to Azure Database for PostgreSQL: the password of every new connection
is a fresh Entra ID access token (azure-identity), so an expired token is never reused."""

from __future__ import annotations

from typing import Any

SCOPE = "https://ossrdbms-aad.database.windows.net/.default"


def token_credential(client_id: str | None) -> Any:
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    return ManagedIdentityCredential(client_id=client_id) if client_id else DefaultAzureCredential()


def use_entra_token(engine: Any, client_id: str | None, credential: Any = None) -> None:
    """Set each new connection's password to a token for ``SCOPE``. ``credential`` defaults to
    the user-assigned managed identity ``client_id`` (or DefaultAzureCredential)."""
    from sqlalchemy import event

    source = credential or token_credential(client_id)

    @event.listens_for(engine, "do_connect")
    def provide_token(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = source.get_token(SCOPE).token
        cparams.setdefault("sslmode", "require")
