"""The callops HTTP API (FastAPI): every route under ``/api``, tenant taken only from the bearer token.

Build the app with :func:`callops.api.app.create_app`; ``callops serve`` runs it with uvicorn.
"""
