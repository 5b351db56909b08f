"""Errors a user can cause; each carries the exit code the CLI reports."""

from __future__ import annotations


class MindgenError(Exception):
    """A problem with the user's input or request, reported as one line."""

    exit_code = 2


class InputError(MindgenError):
    """The model file, its contents or the command line cannot be used."""


class OutputExistsError(MindgenError):
    """The output location holds files that mindgen will not overwrite."""


class MappingsError(MindgenError):
    """A mappings file or an installed mappings plugin cannot be loaded or used."""


class VerificationError(MindgenError):
    """The model converted, but its outputs do not match the source."""

    exit_code = 1
