//! SQLite store adapter (in progress).
