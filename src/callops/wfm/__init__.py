"""Workforce management: exact queueing maths (Erlang B/C/A, chat concurrency) and agent staffing."""
