"""Account operations: sign-up, sessions, recovery, profile, Google sign-in and administration."""
