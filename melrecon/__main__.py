"""``python -m melrecon ...`` runs the ``melrecon`` command (:func:`melrecon.apps.cli.main`)."""

from melrecon.apps.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
