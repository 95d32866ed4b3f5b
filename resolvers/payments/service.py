"""The process-wide payment service: the provider, and the queue refunds are handed to."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bson import ObjectId

from documents.payments import PaymentReport, RefundRecord, RefundReport
from integrations.jobs import JobQueue, JobQueueUnavailableError, RetryPolicy
from integrations.payments import (
    PaymentProvider,
    PaymentProviderError,
    PaymentProviderUnavailableError,
    ProviderPayment,
    ProviderRefund,
)

logger = logging.getLogger("commerce.payments")

REFUND_JOB = "refund_payment"
# A claimed refund is not asked for again before this (longer than one provider call can take).
REFUND_LEASE = timedelta(seconds=60)
# After an unknown outcome (timeout, 5xx), the n-th retry waits this times 2**n, at most an hour.
REFUND_RETRY_FIRST = timedelta(seconds=30)
REFUND_RETRY_MOST = timedelta(hours=1)
# The job does not retry itself: the refund record says when to try again, and the sweep does.
_ONE_ATTEMPT = RetryPolicy(attempts=1, first_delay_seconds=0, max_delay_seconds=0)


@dataclass(frozen=True)
class PaymentSettings:
    shop_name: str
    reservation: timedelta
    reconcile_after: timedelta
    sweep_interval_seconds: float


class PaymentsUnavailableError(Exception):
    """Online payments are off (no provider configured)."""


class PaymentService:
    def __init__(
        self, provider: PaymentProvider | None, queue: JobQueue, settings: PaymentSettings
    ) -> None:
        self._provider = provider
        self.queue = queue
        self.settings = settings

    @property
    def enabled(self) -> bool:
        return self._provider is not None

    @property
    def provider(self) -> PaymentProvider:
        if self._provider is None:
            raise PaymentsUnavailableError("online payments are not configured")
        return self._provider

    @property
    def name(self) -> str:
        return self._provider.name if self._provider else "off"

    async def hand_over_refund(self, order_id: ObjectId | None, refund: RefundRecord) -> None:
        """Wake the refund job for `refund`; if Redis is down the sweep finds it later."""
        try:
            await self.queue.enqueue(
                REFUND_JOB,
                # One job per attempt: the claim on the record lets only one call the provider.
                key=f"refund:{order_id}:{refund.key}:{refund.attempts}",
                kwargs={"order_id": str(order_id), "key": refund.key},
                retry=_ONE_ATTEMPT,
                timeout_seconds=int(REFUND_LEASE.total_seconds() // 2),
            )
        except JobQueueUnavailableError as error:
            logger.warning("%s: refund %s waits for the payment sweep", error, refund.key)


def payment_report(payment: ProviderPayment) -> PaymentReport:
    return PaymentReport(
        id=payment.id,
        order_id=payment.order_id,
        amount=payment.amount,
        currency=payment.currency,
        status=payment.status,
        method=payment.method,
        error_code=payment.error_code,
        error_description=payment.error_description,
        captured=payment.captured,
    )


def refund_report(refund: ProviderRefund) -> RefundReport:
    return RefundReport(
        id=refund.id,
        payment_id=refund.payment_id,
        amount=refund.amount,
        currency=refund.currency,
        status=refund.status,
        receipt=refund.receipt,
    )


def retry_delay(attempts: int) -> timedelta:
    return min(REFUND_RETRY_FIRST * 2 ** max(attempts - 1, 0), REFUND_RETRY_MOST)


__all__ = [
    "REFUND_JOB",
    "PaymentProviderError",
    "PaymentProviderUnavailableError",
    "PaymentService",
    "PaymentSettings",
    "PaymentsUnavailableError",
    "payment_report",
    "refund_report",
    "retry_delay",
]
