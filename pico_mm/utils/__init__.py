"""Small pure-python helpers (import-free: import submodules directly)."""
