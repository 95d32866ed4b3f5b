"""The operations: one async function per query or mutation, `op(ctx, *, args)`."""
