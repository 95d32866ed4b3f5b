"""Online payments: starting one at checkout, the browser's callback, the provider's webhooks, the
sweeps that expire reservations and reconcile with the provider, and refunds. The rules live in
`documents/settlement/`; this package talks to the provider and the job queue around them."""
