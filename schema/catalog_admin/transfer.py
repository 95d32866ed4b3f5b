"""Product import (`importProducts`, a multipart upload) and export (`GET /admin/export`), admins
only. The export is a plain HTTP route, so a browser or curl can download the file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from strawberry.file_uploads import Upload

from documents.catalog_rules import CatalogErrorCode
from documents.common import stored_id
from documents.errors import DomainError, ErrorCode, InvalidInputError
from resolvers.accounts.viewer import require_admin, require_viewer
from resolvers.catalog_admin import transfer
from schema.catalog_admin.types import CatalogError
from schema.enums import described_enum
from schema.info import Info
from schema.payloads import user_errors
from schema.permissions import IsAdmin
from schema.request_context import context_for_request

EXPORT_PATH = transfer.EXPORT_PATH
_MEDIA_TYPES = {
    transfer.TransferFormat.CSV: "text/csv; charset=utf-8",
    transfer.TransferFormat.JSONL: "application/jsonl; charset=utf-8",
}

described_enum(
    transfer.RowOutcome,
    "What became of an imported row.",
    {
        "CREATED": "It made a new product (or would have, in a dry run).",
        "UPDATED": "It matched a product by slug and updated it (or would have).",
        "FAILED": "It changed nothing; see `code`.",
    },
    name="ImportRowOutcome",
)


@strawberry.type(description="One row of an import that did not apply, and why.")
class ImportRowResult:
    line: int = strawberry.field(
        description="Line of the file where the row starts (the CSV header is line 1)."
    )
    slug: str | None = strawberry.field(description="The row's slug, when it could be read.")
    outcome: transfer.RowOutcome = strawberry.field(description="What became of the row.")
    code: CatalogErrorCode | None = strawberry.field(description="Why it failed.")
    field: str | None = strawberry.field(description="The column at fault, if one is.")
    message: str | None = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="Result of `importProducts`.")
class ImportProductsPayload:
    created: int = strawberry.field(default=0, description="Rows that created a product.")
    updated: int = strawberry.field(
        default=0, description="Rows that matched a product by slug (unchanged ones included)."
    )
    failed: int = strawberry.field(default=0, description="Rows that changed nothing.")
    rows: list[ImportRowResult] = strawberry.field(
        default_factory=list,
        description=f"The failed rows in line order, the first {transfer.MAX_REPORTED_ROWS}.",
    )
    errors: list[CatalogError] = strawberry.field(
        default_factory=list,
        description="Problems with the whole file (too large, too many rows, unreadable header).",
    )


@strawberry.type
class CatalogTransferQuery:
    @strawberry.field(
        description=(
            "Where to download every product as CSV, in the `importProducts` format: GET it "
            "with the same `Authorization: Bearer` header; `format=jsonl` for JSON Lines "
            "(admins only)."
        ),
        permission_classes=[IsAdmin],
    )
    def product_export_url(self, info: Info) -> str:
        return transfer.export_url(info.context)


@strawberry.type
class CatalogTransferMutation:
    @strawberry.mutation(
        description=(
            "Create or update products by slug from a CSV or JSON Lines file sent as a multipart "
            "upload; each row applies on its own. With `dryRun`, check every row and write "
            "nothing (admins only)."
        ),
        permission_classes=[IsAdmin],
    )
    @user_errors(ImportProductsPayload, CatalogError)
    async def import_products(
        self,
        info: Info,
        file: Annotated[
            Upload,
            strawberry.argument(
                description="The CSV or JSON Lines file, as the multipart request's file part."
            ),
        ],
        dry_run: Annotated[
            bool, strawberry.argument(description="Check every row and report; write nothing.")
        ] = False,
    ) -> ImportProductsPayload:
        if not hasattr(file, "read"):
            # A plain string where the multipart request spec puts a file.
            raise InvalidInputError("Send the file as a multipart upload", field="file")
        data = await file.read(info.context.settings.import_max_bytes + 1)
        viewer = await require_viewer(info.context)
        result = await transfer.import_products(
            info.context,
            data,
            filename=getattr(file, "filename", None),
            content_type=getattr(file, "content_type", None),
            dry_run=dry_run,
            actor_id=stored_id(viewer.user),
        )
        return ImportProductsPayload(
            created=result.created,
            updated=result.updated,
            failed=result.failed,
            rows=[
                ImportRowResult(
                    line=row.line,
                    slug=row.slug,
                    outcome=row.outcome,
                    code=row.code,
                    field=row.field,
                    message=row.message,
                )
                for row in result.failures
            ],
        )


def _error(message: str, code: str, status: int) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    headers = {"www-authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def export_products(request: Request) -> Response:
    """GET /admin/export?format=csv|jsonl: every product, streamed, for an admin's bearer token."""
    context = context_for_request(request)
    try:
        await require_admin(context)
    except DomainError as error:
        status = 401 if error.code is ErrorCode.UNAUTHENTICATED else 403
        return _error(error.message, str(error.code), status)
    requested = request.query_params.get("format", transfer.TransferFormat.CSV)
    try:
        fmt = transfer.TransferFormat(requested)
    except ValueError:
        return _error("format must be csv or jsonl", ErrorCode.BAD_USER_INPUT, 400)
    filename = f"products-{datetime.now(UTC).date().isoformat()}.{fmt}"
    return StreamingResponse(
        transfer.export_products(context, fmt),
        media_type=_MEDIA_TYPES[fmt],
        headers={
            "content-disposition": f"attachment; filename={filename}",
            "cache-control": "no-store",
        },
    )
