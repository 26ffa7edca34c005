"""ObjectStore on an Azure Blob container (azure-storage-blob; Azurite locally).

create-only = ``upload_blob(overwrite=False)``; compare-and-swap = an ETag condition
(``If-Match``), or ``If-None-Match: *`` for "must not exist yet". The SDK is imported
lazily; errors become BackendError naming the blob, never the credentials."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from retrain.domain.errors import BackendError
from retrain.domain.ports import AlreadyExists, PreconditionFailed, StoredObject

if TYPE_CHECKING:
    from azure.storage.blob import ContainerClient

    from retrain.config import Settings

T = TypeVar("T")


def _translated(method: Callable[..., T]) -> Callable[..., T]:
    """Map azure-core errors (other than the ones a method handles) to BackendError."""

    @functools.wraps(method)
    def wrapper(self: BlobObjectStore, *args: Any, **kwargs: Any) -> T:
        from azure.core.exceptions import AzureError

        try:
            return method(self, *args, **kwargs)
        except AzureError as exc:
            status = getattr(exc, "status_code", None)
            raise BackendError(
                f"blob storage {method.__name__} failed on {self.container.container_name}"
                f"/{args[0] if args else ''}: {type(exc).__name__}"
                + (f" (HTTP {status})" if status else "")
            ) from None

    return wrapper


class BlobObjectStore:
    def __init__(self, container: ContainerClient) -> None:
        self.container = container

    @_translated
    def get(self, key: str) -> StoredObject | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            download = self.container.download_blob(key)
            data = download.readall()
        except ResourceNotFoundError:
            return None
        return StoredObject(data, download.properties.etag)

    @_translated
    def create(self, key: str, data: bytes) -> str:
        from azure.core.exceptions import ResourceExistsError

        try:
            result = self.container.get_blob_client(key).upload_blob(data, overwrite=False)
        except ResourceExistsError:
            raise AlreadyExists(key) from None
        return str(result["etag"])

    @_translated
    def replace(self, key: str, data: bytes, etag: str | None) -> str:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

        try:
            if etag is None:
                result = self.container.get_blob_client(key).upload_blob(data, overwrite=False)
            else:
                result = self.container.get_blob_client(key).upload_blob(
                    data,
                    overwrite=True,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError):
            raise PreconditionFailed(key) from None
        return str(result["etag"])

    @_translated
    def delete(self, key: str, etag: str | None = None) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        kwargs: dict[str, Any] = {}
        if etag is not None:
            kwargs = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        try:
            self.container.delete_blob(key, **kwargs)
        except ResourceNotFoundError:
            return
        except ResourceModifiedError:
            raise PreconditionFailed(key) from None

    @_translated
    def list(self, prefix: str = "") -> list[str]:
        return sorted(self.container.list_blob_names(name_starts_with=prefix or None))

    def uri(self, key: str) -> str:
        parts = urlsplit(self.container.url)  # drop a SAS token, if one was configured
        return urlunsplit((parts.scheme, parts.netloc, f"{parts.path}/{key}", "", ""))

    @_translated
    def ping(self) -> None:
        self.container.get_container_properties()


def blob_stores(settings: Settings) -> tuple[BlobObjectStore, BlobObjectStore]:
    """(models, runs) containers, created if missing. By connection string (Azurite, keys),
    or by account URL with a managed identity (``UAMI_CLIENT_ID``) or DefaultAzureCredential."""
    from azure.core.exceptions import AzureError, ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    if settings.artifact_connection_string is not None:
        service = BlobServiceClient.from_connection_string(
            settings.artifact_connection_string.reveal(), connection_timeout=10, read_timeout=120
        )
    else:
        from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

        credential: Any = (
            ManagedIdentityCredential(client_id=settings.uami_client_id)
            if settings.uami_client_id
            else DefaultAzureCredential()
        )
        service = BlobServiceClient(
            str(settings.artifact_account_url),
            credential=credential,
            connection_timeout=10,
            read_timeout=120,
        )
    stores = []
    for name in (settings.artifact_container, settings.runs_container):
        container = service.get_container_client(name)
        try:
            container.create_container()
        except ResourceExistsError:
            pass
        except AzureError as exc:
            raise BackendError(
                f"cannot reach or create blob container {name!r}: {type(exc).__name__}"
            ) from None
        stores.append(BlobObjectStore(container))
    return stores[0], stores[1]
