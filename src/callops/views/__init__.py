"""Custom views (issue 16, P4): saved metric views, their sharing, the personal home board and Excel export."""
