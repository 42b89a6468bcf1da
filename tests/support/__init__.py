"""Helpers the tests share: imported by conftest.py and handed out as fixtures."""
