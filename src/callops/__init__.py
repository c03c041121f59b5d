"""callops: operations intelligence for large contact centers."""

__version__ = "0.1.0"
