"""Sales figures for admins, from one MongoDB aggregation over the orders' own snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from documents.errors import InvalidInputError
from documents.orders import Order, OrderStatus
from resolvers.context import Context

MAX_DAYS = 366
TOP_PRODUCTS = 10
# Orders that count as sales: placed, not cancelled, and paid if paid online.
_NOT_SALES = [OrderStatus.CANCELLED, OrderStatus.PENDING_PAYMENT, OrderStatus.PAYMENT_EXPIRED]


@dataclass(frozen=True)
class DaySales:
    day: str  # YYYY-MM-DD, UTC
    orders: int
    units: int
    revenue: int


@dataclass(frozen=True)
class ProductSales:
    product_id: Any
    name: str
    units: int
    revenue: int


@dataclass(frozen=True)
class SalesSummary:
    currency: str
    orders: int
    units: int
    revenue: int
    by_day: list[DaySales]
    top_products: list[ProductSales]


async def sales_summary(ctx: Context, *, start: datetime, end: datetime) -> SalesSummary:
    """Orders, units and revenue per day in [start, end), and the best-selling products. Times
    without a zone are taken as UTC."""
    start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end))
    if not start < end or end - start > timedelta(days=MAX_DAYS):
        raise InvalidInputError(f"Ask for 1 second to {MAX_DAYS} days, from before to", field="to")
    match = {"created_at": {"$gte": start, "$lt": end}, "status": {"$nin": _NOT_SALES}}
    pipeline: list[dict[str, Any]] = [
        {"$match": match},
        {
            "$facet": {
                "days": [
                    {
                        "$group": {
                            "_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}},
                            "orders": {"$sum": 1},
                            "units": {"$sum": "$item_count"},
                            "revenue": {"$sum": "$total"},
                        }
                    },
                    {"$sort": {"_id": 1}},
                ],
                "products": [
                    {"$unwind": "$lines"},
                    {
                        "$group": {
                            "_id": "$lines.product_id",
                            "name": {"$last": "$lines.name"},
                            "units": {"$sum": "$lines.quantity"},
                            "revenue": {"$sum": "$lines.line_total"},
                        }
                    },
                    {"$sort": {"revenue": -1, "_id": 1}},
                    {"$limit": TOP_PRODUCTS},
                ],
            }
        },
    ]
    cursor = await Order.get_pymongo_collection().aggregate(pipeline)
    [result] = await cursor.to_list()
    days = [DaySales(d["_id"], d["orders"], d["units"], d["revenue"]) for d in result["days"]]
    top = [ProductSales(p["_id"], p["name"], p["units"], p["revenue"]) for p in result["products"]]
    return SalesSummary(
        currency=ctx.settings.shop_currency,
        orders=sum(day.orders for day in days),
        units=sum(day.units for day in days),
        revenue=sum(day.revenue for day in days),
        by_day=days,
        top_products=top,
    )
