"""The catalog's HTTP routes; thin: parse, call a service, present."""

from __future__ import annotations

from fastapi import APIRouter

from catalog.routes import datasets, health, licences, organisations, quality, users, versions

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(organisations.router)
api_router.include_router(users.router)
api_router.include_router(licences.router)
api_router.include_router(datasets.router)
api_router.include_router(versions.router)
api_router.include_router(quality.router)

health_router = health.router

__all__ = ["api_router", "health_router"]
