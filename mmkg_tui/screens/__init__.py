"""Screens: loading, main (the five views), help, error, confirm."""
