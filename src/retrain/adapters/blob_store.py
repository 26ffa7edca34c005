"""ObjectStore on an Azure Blob container (azure-storage-blob; Azurite locally).

create-only = ``upload_blob(overwrite=False)``; compare-and-swap = an ETag condition
(``If-Match``), or ``If-None-Match: *`` for "must not exist yet". The SDK is imported
lazily; errors become BackendError naming the blob, never the credentials. Building the
stores does no I/O: a missing container is created by the first write into it, so neither a
cold start nor /api/health waits on storage it does not need yet."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from retrain.domain.errors import BackendError, ConfigError
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

    def _upload(self, key: str, data: bytes, **kwargs: Any) -> Any:
        """``upload_blob``, creating the container once if it does not exist yet."""
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        blob = self.container.get_blob_client(key)
        try:
            return blob.upload_blob(data, **kwargs)
        except ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) != "ContainerNotFound":
                raise
        with contextlib.suppress(ResourceExistsError):  # another writer was first
            self.container.create_container()
        return blob.upload_blob(data, **kwargs)

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
            result = self._upload(key, data, overwrite=False)
        except ResourceExistsError:
            return self._ours(key, data, AlreadyExists)
        return str(result["etag"])

    def _ours(self, key: str, data: bytes, conflict: type[Exception]) -> str:
        """A conditional write refused: if the blob now holds exactly our bytes, this was our
        own write whose answer was lost and the SDK's retry was refused. Success, then."""
        stored = self.get(key)
        if stored is not None and stored.data == data:
            return stored.etag
        raise conflict(key) from None

    @_translated
    def replace(self, key: str, data: bytes, etag: str | None) -> str:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError

        try:
            if etag is None:
                result = self._upload(key, data, overwrite=False)
            else:
                result = self._upload(
                    key,
                    data,
                    overwrite=True,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceExistsError, ResourceModifiedError):
            return self._ours(key, data, PreconditionFailed)
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
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return sorted(self.container.list_blob_names(name_starts_with=prefix or None))
        except ResourceNotFoundError:  # no container yet: nothing stored
            return []

    @_translated
    def set_tags(self, key: str, tags: dict[str, str]) -> None:
        """Replace the blob's index tags (the lifecycle policy filters on them). Changes
        neither its bytes, ETag nor last-modified time; needs Storage Blob Data Owner (or
        blobs/tags/write) with an identity. A missing blob is a BackendError."""
        self.container.get_blob_client(key).set_blob_tags(tags)

    def uri(self, key: str) -> str:
        parts = urlsplit(self.container.url)  # drop a SAS token, if one was configured
        return urlunsplit((parts.scheme, parts.netloc, f"{parts.path}/{key}", "", ""))

    @_translated
    def ping(self) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with contextlib.suppress(ResourceNotFoundError):  # the first write creates it
            self.container.get_container_properties()


# Bounded waits: a storage outage fails an operation in about a minute (four tries about
# 4, 10 and 28 s apart, +-3 s of jitter, 5 s to connect each), not the SDK's default of minutes.
CLIENT_OPTIONS: dict[str, Any] = {"connection_timeout": 5, "read_timeout": 60}


def blob_stores(
    settings: Settings, **client_options: Any
) -> tuple[BlobObjectStore, BlobObjectStore]:
    """(models, runs) containers, by connection string (Azurite, keys) or by account URL
    with a managed identity (``UAMI_CLIENT_ID``) or DefaultAzureCredential. No I/O here.
    ``client_options`` reach the SDK client (tests inject a transport)."""
    from azure.storage.blob import BlobServiceClient, ExponentialRetry

    options = {
        **CLIENT_OPTIONS,
        "retry_policy": ExponentialRetry(initial_backoff=1, increment_base=3, retry_total=3),
        **client_options,
    }
    if settings.artifact_connection_string is not None:
        try:
            service = BlobServiceClient.from_connection_string(
                settings.artifact_connection_string.reveal(), **options
            )
        except ValueError:
            raise ConfigError(
                ["ARTIFACT_CONNECTION_STRING is not a storage connection string the SDK accepts"]
            ) from None
    else:
        from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

        credential: Any = (
            ManagedIdentityCredential(client_id=settings.uami_client_id)
            if settings.uami_client_id
            else DefaultAzureCredential()
        )
        service = BlobServiceClient(
            str(settings.artifact_account_url), credential=credential, **options
        )
    models, runs = (
        BlobObjectStore(service.get_container_client(name))
        for name in (settings.artifact_container, settings.runs_container)
    )
    return models, runs
