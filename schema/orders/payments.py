"""Online payments in the API: `confirmPayment` (the browser callback) and `refundPayment`
(admins)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from resolvers.accounts.viewer import require_admin, require_viewer
from resolvers.payments import flow
from schema.ids import decode_global_id
from schema.info import Info
from schema.orders.payment_types import OrderPayment, Refund
from schema.orders.types import Order, OrderError
from schema.payloads import user_errors
from schema.permissions import IsAdmin, IsAuthenticated


@strawberry.input(description="What Razorpay Checkout's handler received.")
class ConfirmPaymentInput:
    order_id: strawberry.ID = strawberry.field(description="Global ID of the order.")
    razorpay_order_id: str = strawberry.field(description="`razorpay_order_id`.")
    razorpay_payment_id: str = strawberry.field(description="`razorpay_payment_id`.")
    razorpay_signature: str = strawberry.field(description="`razorpay_signature`.")


@strawberry.type(description="Result of `confirmPayment`.")
class ConfirmPaymentPayload:
    order: Order | None = strawberry.field(default=None, description="The order after it.")
    errors: list[OrderError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.input(description="A refund of an online order's payment.")
class RefundPaymentInput:
    order_id: strawberry.ID = strawberry.field(description="Global ID of the order.")
    amount: Decimal | None = strawberry.field(
        default=None, description="In the order's currency; omit to refund all that is left."
    )
    reason: str = strawberry.field(default="", description="Why; shown on the order.")
    idempotency_key: str = strawberry.field(
        description="Unique per refund (a UUID): a repeat returns the first refund."
    )


@strawberry.type(description="Result of `refundPayment`.")
class RefundPaymentPayload:
    order: Order | None = strawberry.field(default=None, description="The order after it.")
    refund: Refund | None = strawberry.field(default=None, description="The refund.")
    errors: list[OrderError] = strawberry.field(
        default_factory=list, description="Empty on success."
    )


@strawberry.type
class PaymentMutation:
    @strawberry.mutation(
        description="Razorpay Checkout's handler: the payment's signature is checked and the "
        "payment fetched from Razorpay before the order is CONFIRMED. Safe to repeat, and the "
        "same as the webhook: whichever comes first settles it, once.",
        permission_classes=[IsAuthenticated],
    )
    @user_errors(ConfirmPaymentPayload, OrderError)
    async def confirm_payment(
        self, info: Info, input: ConfirmPaymentInput
    ) -> ConfirmPaymentPayload:
        viewer = await require_viewer(info.context)
        order_id = decode_global_id(input.order_id, "Order", field="orderId")
        assert order_id is not None
        order = await flow.confirm_payment(
            info.context,
            viewer,
            order_id=order_id,
            razorpay_order_id=input.razorpay_order_id,
            razorpay_payment_id=input.razorpay_payment_id,
            razorpay_signature=input.razorpay_signature,
        )
        return ConfirmPaymentPayload(order=Order.from_document(order))

    @strawberry.mutation(
        description="Refund part or all of what is left of an online order's payment (admins "
        "only); the order keeps its status. Cancelling a paid order refunds it by itself.",
        permission_classes=[IsAdmin],
    )
    @user_errors(RefundPaymentPayload, OrderError)
    async def refund_payment(self, info: Info, input: RefundPaymentInput) -> RefundPaymentPayload:
        viewer = await require_admin(info.context)
        order_id = decode_global_id(input.order_id, "Order", field="orderId")
        assert order_id is not None
        order, refund = await flow.refund_order(
            info.context,
            viewer,
            order_id=order_id,
            amount=input.amount,
            reason=input.reason,
            idempotency_key=input.idempotency_key,
        )
        assert order.payment is not None
        refunds = OrderPayment.of(order.payment, order.currency, for_admin=True).refunds
        [shown] = [r for r in refunds if r.key == refund.key]
        return RefundPaymentPayload(order=Order.from_document(order), refund=shown)
