//! Embedded queue adapter (in progress).
