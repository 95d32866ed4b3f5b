"""Creating, changing and deleting categories and subcategories."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from documents import categories
from documents.catalog import Category
from documents.catalog_rules import retry_on_slug_race
from documents.categories import CategoryFields
from documents.common import stored_id
from documents.transactions import in_transaction
from resolvers.context import Context


async def create_category(ctx: Context, fields: CategoryFields) -> Category:
    """A top-level category, or with `parent_id` a subcategory of one (two levels only)."""

    async def work(session: AsyncClientSession) -> Category:
        category = await categories.create_category(fields, session=session)
        await ctx.query_cache.category_changed(category)
        return category

    return await retry_on_slug_race(lambda: in_transaction(work), categories.slug_taken)


async def update_category(ctx: Context, category: Category, fields: CategoryFields) -> Category:
    """Change only the fields given. A category stays at its level."""

    async def work(session: AsyncClientSession) -> Category:
        before, after = await categories.change_category(
            stored_id(category), fields, session=session
        )
        await ctx.query_cache.category_changed(before, after)
        return after

    return await in_transaction(work)


async def delete_category(
    ctx: Context,
    category: Category,
    *,
    move_products_to: Category | None = None,
    move_subcategories_to: Category | None = None,
) -> None:
    """Delete a category, moving its products and subcategories where told."""

    async def work(session: AsyncClientSession) -> None:
        deletion = await categories.delete_category(
            stored_id(category),
            move_products_to=move_products_to.id if move_products_to else None,
            move_subcategories_to=move_subcategories_to.id if move_subcategories_to else None,
            session=session,
        )
        if deletion.moved_contents:
            # Products and subcategories moved in bulk: every cached result may show them.
            await ctx.query_cache.catalog_changed()
        else:
            await ctx.query_cache.category_changed(deletion.category)

    await in_transaction(work)
