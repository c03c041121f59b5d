"""Custom alert rules managers write (issue 16, P4): checked as typed, previewed on the last 7 days, versioned."""
