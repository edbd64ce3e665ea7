"""``python -m datahamn.cli``: the same as the ``datahamn`` command."""

from datahamn.cli import main

main()
