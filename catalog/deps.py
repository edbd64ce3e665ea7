"""FastAPI dependencies as Annotated aliases: SessionDep, StoreDep, CurrentPrincipal.

The app factory puts what they need on ``app.state``: ``session_factory``, ``store``,
``settings`` and ``authenticate`` (a callable the access package provides), so the catalog
never imports the packages built on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from catalog.principal import Principal
from catalog.settings import Settings
from catalog.storage.base import ObjectStore

Authenticate = Callable[[Session, Request], Principal]


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a client that reads right after
# a 201 sees its write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


StoreDep = Annotated[ObjectStore, Depends(get_store)]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_principal(request: Request, session: SessionDep) -> Principal:
    authenticate: Authenticate = request.app.state.authenticate
    return authenticate(session, request)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
