"""Types of catalog administration: the error type of its mutations, stock movements."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from documents import catalog as documents
from documents.catalog_rules import CatalogErrorCode
from schema.pagination import CountedConnection

strawberry.enum(CatalogErrorCode, description="Why a catalog change was refused.")


@strawberry.type(
    description="A problem with the input of a catalog mutation, fixable by the admin."
)
class CatalogError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    code: CatalogErrorCode = strawberry.field(description="Stable code to branch on.")
    message: str = strawberry.field(description="Human-readable explanation.")


@strawberry.type(description="One change of a product's stock.")
class StockMovement(relay.Node):
    id: relay.NodeID[str]
    delta: int = strawberry.field(description="Units added (positive) or removed (negative).")
    before: int = strawberry.field(description="Stock before the change.")
    after: int = strawberry.field(description="Stock after the change.")
    reason: str = strawberry.field(description="Why, as given by whoever changed it.")
    actor_id: strawberry.ID | None = strawberry.field(
        description="Global ID of the admin who changed it; null for system changes (orders)."
    )
    created_at: datetime = strawberry.field(description="When (UTC).")

    @classmethod
    def from_document(cls, movement: documents.StockMovement) -> StockMovement:
        actor = movement.actor_id
        return cls(
            id=str(movement.id),
            delta=movement.delta,
            before=movement.before,
            after=movement.after,
            reason=movement.reason,
            actor_id=strawberry.ID(str(relay.GlobalID("User", str(actor)))) if actor else None,
            created_at=movement.created_at,
        )


@strawberry.type(name="StockMovementConnection", description="A page of stock movements.")
class StockMovementConnection(CountedConnection[StockMovement]):
    pass
